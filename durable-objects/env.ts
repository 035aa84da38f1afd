import type { Vars } from '../core/vars';
import type { BenchObject } from './bench/bench-object';
import type { CatalogObject } from './catalog/catalog-object';
import type { RoomObject } from './room/room-object';

/**
 * Bindings of the Worker and the objects: the variables, the Durable Object namespaces and the rate
 * limiters. See wrangler.toml.
 */
export interface Env extends Vars {
  /** One Room Durable Object per account + room name. */
  ROOMS: DurableObjectNamespace<RoomObject>;
  /** One catalog Durable Object per account: listing and sid lookup. */
  CATALOG: DurableObjectNamespace<CatalogObject>;
  /** Floor objects for `npm run bench` (a fresh object per call, an echo WebSocket); unused otherwise. */
  BENCH: DurableObjectNamespace<BenchObject>;
  // Rate limiters, keyed by client address (workers/http/rate-limit.ts; limits and periods in
  // wrangler.toml `[[ratelimits]]`, docs/accounts.md "Limits"). Each is optional: without the
  // binding, that limit is off.
  /** Failed REST Basic authentications per address; over it, 429 with code 20429. */
  AUTH_FAILURES?: RateLimit;
  /** Access tokens refused at signaling (ice, connect, sync) per address; over it, 20429. */
  TOKEN_FAILURES?: RateLimit;
  /** Signaling WebSocket upgrades per address; over it, HTTP 429. */
  SIGNALING_UPGRADES?: RateLimit;
}
