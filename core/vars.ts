/**
 * The deployment's variables and secrets (wrangler.toml `[vars]`, `wrangler secret put`): plain
 * strings, checked where they are first used (see config-error.ts): a bad value is logged once as
 * `{"event":"config-invalid","variable":…,"problem":…}` and answered with Twilio's 20500, which
 * names the variable and never its value. The rules of each: docs/accounts.md, "Configuration errors".
 */
export interface Vars {
  /** The default account's sid: AC + 32 hex digits. */
  ACCOUNT_SID: string;
  /** The default account's auth token: REST Basic auth and status callback signatures. */
  AUTH_TOKEN: string;
  /** The default account's API key sid, SK + 32 hex digits: REST Basic auth and access token issuer. */
  API_KEY_SID: string;
  /** That API key's secret. */
  API_KEY_SECRET: string;
  /** Optional JSON array of further accounts; see docs/accounts.md. No account or API key sid may appear twice. */
  ACCOUNTS?: string;
  /** Comma-separated media regions this deployment accepts in MediaRegion: Twilio's names, each once (default `us1`). */
  MEDIA_REGIONS?: string;
  /** Optional absolute http(s) origin for resource URLs when a proxy hides the public host. */
  PUBLIC_BASE_URL?: string;
  /** Status callback backoff before the first retry, in ms, a positive number (default 1000); tests shorten it. */
  CALLBACK_RETRY_BASE_MS?: string;
  /**
   * Optional JSON array of static ICE servers handed to clients in `iced`: RTCIceServer entries
   * `{urls, username?, credential?}`, URLs `stun:`, `turn:` or `turns:` (TURN ones with both credentials).
   */
  ICE_SERVERS?: string;
  /** Shared secret of a TURN server with coturn's `use-auth-secret`; enables minted TURN credentials (needs TURN_URLS). */
  TURN_SECRET?: string;
  /** Comma-separated `turn:`/`turns:` URLs the minted credentials are for, e.g. `turn:turn.example.com:3478` (needs TURN_SECRET). */
  TURN_URLS?: string;
  /** Seconds a participant whose socket dropped stays `reconnecting` before it is disconnected, a positive number (default 30). */
  SESSION_TIMEOUT_SECONDS?: string;
  /** Days a completed room (participants, callbacks, catalog row) is kept before its purge, 0 or more (default 30); docs/accounts.md. */
  ROOM_RETENTION_DAYS?: string;
  /**
   * Seconds an address that went over AUTH_FAILURES or TOKEN_FAILURES is refused (429, code 20429)
   * by the isolate that saw it, even with correct credentials; a positive number (default 60).
   */
  RATE_LIMIT_BLOCK_SECONDS?: string;
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
