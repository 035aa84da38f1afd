/**
 * The deployment's variables and secrets (wrangler.toml `[vars]`, `wrangler secret put`): plain
 * strings, checked where they are first used (see config-error.ts).
 */
export interface Vars {
  /** The default account's sid (AC…). */
  ACCOUNT_SID: string;
  /** The default account's auth token: REST Basic auth and status callback signatures. */
  AUTH_TOKEN: string;
  /** The default account's API key sid (SK…): REST Basic auth and access token issuer. */
  API_KEY_SID: string;
  /** That API key's secret. */
  API_KEY_SECRET: string;
  /** Optional JSON array of further accounts; see docs/accounts.md. */
  ACCOUNTS?: string;
  /** Comma-separated media regions this deployment accepts in MediaRegion. */
  MEDIA_REGIONS?: string;
  /** Optional absolute origin for resource URLs when a proxy hides the public host. */
  PUBLIC_BASE_URL?: string;
  /** Status callback backoff before the first retry, in ms (default 1000); tests shorten it. */
  CALLBACK_RETRY_BASE_MS?: string;
  /** Optional JSON array of static ICE servers handed to clients in `iced` (RTCIceServer entries). */
  ICE_SERVERS?: string;
  /** Shared secret of a TURN server with coturn's `use-auth-secret`; enables minted TURN credentials. */
  TURN_SECRET?: string;
  /** Comma-separated TURN URLs the minted credentials are for, e.g. `turn:turn.example.com:3478`. */
  TURN_URLS?: string;
  /** Seconds a participant whose socket dropped stays `reconnecting` before it is disconnected (default 30). */
  SESSION_TIMEOUT_SECONDS?: string;
  /** "true" mounts GET /dev/token (tokens for anyone: local development only); anything else → 404. */
  DEV_TOKEN_ENDPOINT?: string;
  /** Optional JSON object of room defaults, in the fields of GET /v1/Settings/Rooms; accounts' saved settings override it. */
  ROOM_DEFAULTS?: string;
  /** "true" mounts the floor routes under /bench that `npm run bench` measures against; never set it in production. */
  BENCH_ROUTES?: string;
  /**
   * Media servers for group rooms: one base URL, or several comma-separated (a room is placed on one
   * and moves to the next if its server is gone). Unset: group rooms relay peer to peer.
   */
  SFU_URL?: string;
  /** Shared secret that signs requests to the media servers' control API (the servers' SFU_SECRET). */
  SFU_SECRET?: string;
}
