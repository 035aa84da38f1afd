/**
 * Signed URLs for recordings kept by a media server's local store: `/v1/Recordings/{Sid}/Media`
 * redirects to one, as Twilio redirects to a short-lived S3 URL, so the bytes never pass through
 * the Worker and nobody holding the URL needs a credential.
 *
 *   <server>/v1/media/<key>?Expires=<unix seconds>&Signature=<hex>
 *
 * Signature is HMAC-SHA256 under the media server's shared secret (`SFU_SECRET`) of
 * `GET\n/v1/media/<key>\n<Expires>`. Plain WebCrypto (core/hmac.ts): the Worker signs, the Node
 * media server checks, with the same code.
 */
import { fromHex, hmac, hmacVerify, toHex } from './hmac';

/** Where signed media URLs live on a media server. */
export const MEDIA_PATH_PREFIX = '/v1/media/';

/**
 * What an object key may be: `/`-separated segments of letters, digits, `.`, `_` and `-`, none
 * starting with a dot (no `..`, no hidden files such as the spool folder), at most 512 characters.
 * Keys are `<AccountSid>/<RecordingSid>.<mka|mkv>`; the rule keeps a key a plain relative path.
 */
const KEY = /^(?!.{513})[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Whether `key` is a well-formed object key (see KEY): safe to join to a folder. */
export function isMediaKey(key: string): boolean {
  return KEY.test(key);
}

const canonical = (key: string, expires: number): string => `GET\n${MEDIA_PATH_PREFIX}${key}\n${expires}`;

/** The signed URL of `key` on the media server at `serverBaseUrl`, valid until `expiresAtSeconds`. */
export async function signMediaUrl(secret: string, serverBaseUrl: string, key: string, expiresAtSeconds: number): Promise<string> {
  const expires = Math.floor(expiresAtSeconds);
  const signature = toHex(await hmac('SHA-256', secret, canonical(key, expires)));
  return `${serverBaseUrl.replace(/\/+$/, '')}${MEDIA_PATH_PREFIX}${key}?Expires=${expires}&Signature=${signature}`;
}

/**
 * Why a media URL is refused, or null when it is valid. `pathname` is the request's path as sent
 * (`/v1/media/<key>`, percent-encoding allowed); the signature covers the decoded key.
 */
export async function checkMediaUrl(secret: string, pathname: string, searchParams: URLSearchParams, nowSeconds: number): Promise<string | null> {
  const key = mediaKeyOf(pathname);
  if (key === null) return 'not a media path with a valid key';
  const expiresText = searchParams.get('Expires') ?? '';
  if (!/^\d{1,12}$/.test(expiresText)) return 'Expires must be a unix time in seconds';
  const expires = Number(expiresText);
  if (expires < nowSeconds) return 'the URL has expired';
  const signature = fromHex(searchParams.get('Signature') ?? '');
  if (!signature || signature.length !== 32) return 'Signature must be 64 hex digits';
  const ok = await hmacVerify('SHA-256', secret, signature, canonical(key, expires));
  return ok ? null : 'bad signature';
}

/** The object key a `/v1/media/<key>` path names (percent-decoded), or null if it names none. */
export function mediaKeyOf(pathname: string): string | null {
  if (!pathname.startsWith(MEDIA_PATH_PREFIX)) return null;
  let key: string;
  try {
    key = decodeURIComponent(pathname.slice(MEDIA_PATH_PREFIX.length));
  } catch {
    return null;
  }
  return isMediaKey(key) ? key : null;
}
