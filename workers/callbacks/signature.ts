/**
 * X-Twilio-Signature, computed the way Twilio (and twilio-node's `validateRequest`) does:
 * HMAC-SHA1 keyed with the account's auth token over the full request URL (query included)
 * followed, for a POST, by every form parameter sorted by name, each as name then value with no
 * separator; the MAC is base64-encoded. A GET carries its parameters in the URL query, so the
 * signed data is the URL alone (pass `params = null`).
 *
 * WebCrypto only: this runs in workerd, which has no `node:crypto` without the nodejs_compat flag.
 */
const encoder = new TextEncoder();

export async function twilioSignature(authToken: string, url: string, params: Record<string, string> | null): Promise<string> {
  let data = url;
  if (params) {
    // Default sort compares UTF-16 code units, exactly as twilio-node's `Object.keys(params).sort()`.
    for (const name of Object.keys(params).sort()) data += name + params[name];
  }
  const key = await crypto.subtle.importKey('raw', encoder.encode(authToken), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(data)));
  let binary = '';
  for (const byte of mac) binary += String.fromCharCode(byte);
  return btoa(binary);
}
