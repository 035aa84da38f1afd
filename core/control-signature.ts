/**
 * How the Room object and a media server authenticate the media server's control API: each request
 * carries `Authorization: Atrium-HMAC t=<epoch ms>, sig=<hex>`, where sig is HMAC-SHA256 under the
 * shared secret (`SFU_SECRET`) of `t`, the method, the path with its query, and the body, each on a
 * line of its own. The secret never travels; a captured request is refused once `t` is more than
 * MAX_SKEW_MS away from the receiver's clock, and within that window replaying it changes nothing
 * (every control request is idempotent).
 *
 * Plain WebCrypto (core/hmac.ts), so the Worker and the Node media server run the same code.
 */
import { fromHex, hmac, hmacVerify, toHex } from './hmac';

export const AUTH_SCHEME = 'Atrium-HMAC';
/** How far a request's time may be from the receiver's clock. */
export const MAX_SKEW_MS = 5 * 60_000;

function canonical(t: number, method: string, pathAndQuery: string, body: string): string {
  return `${t}\n${method.toUpperCase()}\n${pathAndQuery}\n${body}`;
}

/** The Authorization header value for a request. */
export async function signControlRequest(secret: string, method: string, pathAndQuery: string, body: string, now = Date.now()): Promise<string> {
  const sig = await hmac('SHA-256', secret, canonical(now, method, pathAndQuery, body));
  return `${AUTH_SCHEME} t=${now}, sig=${toHex(sig)}`;
}

/** Why a request's signature was refused, or null when it is good. */
export async function checkControlRequest(
  secret: string,
  authorization: string | null | undefined,
  method: string,
  pathAndQuery: string,
  body: string,
  now = Date.now(),
): Promise<string | null> {
  if (!authorization) return 'missing Authorization header';
  const match = /^Atrium-HMAC t=(\d{1,16}), sig=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return `Authorization must be "${AUTH_SCHEME} t=<epoch ms>, sig=<64 hex digits>"`;
  const t = Number(match[1]);
  if (Math.abs(now - t) > MAX_SKEW_MS) return 'request time is too far from the server clock';
  const sig = fromHex(match[2]!);
  if (!sig) return 'bad signature encoding';
  const ok = await hmacVerify('SHA-256', secret, sig, canonical(t, method, pathAndQuery, body));
  return ok ? null : 'bad signature';
}
