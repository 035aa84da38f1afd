/**
 * The one HMAC helper. Twilio's `X-Twilio-Signature` on status callbacks (HMAC-SHA1, base64;
 * twilio-signature.ts) and the media server's control API (HMAC-SHA256, hex; control-signature.ts)
 * sign with it, and access-token verification takes its imported keys (tokens/verify-token.ts). Plain WebCrypto, so workerd and Node run the same code.
 */
export type HmacHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

/** A CryptoKey, named so that it also compiles where core/ is built without the DOM or Workers types. */
export type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const encoder = new TextEncoder();
/** Imported keys by hash and secret: a few per deployment, so the map stays small. */
const keys = new Map<string, HmacKey>();
const MAX_KEYS = 64;

/**
 * Resolved keys are kept, not promises: in workerd a promise made while serving one request must
 * not be awaited by another (the runtime ties pending work to the request that started it).
 */
export async function keyFor(hash: HmacHash, secret: string): Promise<HmacKey> {
  const id = `${hash}\n${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash }, false, ['sign', 'verify']);
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** The MAC of `data` (UTF-8) under `secret`. */
export async function hmac(hash: HmacHash, secret: string, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await keyFor(hash, secret), encoder.encode(data)));
}

/** Whether `mac` is the MAC of `data` under `secret`; WebCrypto compares in constant time. */
export async function hmacVerify(hash: HmacHash, secret: string, mac: Uint8Array, data: string): Promise<boolean> {
  return crypto.subtle.verify('HMAC', await keyFor(hash, secret), mac, encoder.encode(data));
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Lower-case hex to bytes, or null when it is not an even run of hex digits. */
export function fromHex(s: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
