import type { Vars } from '../core/vars';
import type { BenchObject } from './bench/bench-object';
import type { CatalogObject } from './catalog/catalog-object';
import type { RoomObject } from './room/room-object';

/** Bindings of the Worker and the objects: the variables, and the Durable Object namespaces. See wrangler.toml. */
export interface Env extends Vars {
  /** One Room Durable Object per account + room name. */
  ROOMS: DurableObjectNamespace<RoomObject>;
  /** One catalog Durable Object per account: listing and sid lookup. */
  CATALOG: DurableObjectNamespace<CatalogObject>;
  /** Floor objects for `npm run bench` (a fresh object per call, an echo WebSocket); unused otherwise. */
  BENCH: DurableObjectNamespace<BenchObject>;
}
