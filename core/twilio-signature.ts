/**
 * X-Twilio-Signature, computed the way Twilio (and twilio-node's `validateRequest`) does:
 * HMAC-SHA1 keyed with the account's auth token over the full request URL (query included)
 * followed, for a POST, by every form parameter sorted by name, each as name then value with no
 * separator; the MAC is base64-encoded. A GET carries its parameters in the URL query, so the
 * signed data is the URL alone (pass `params = null`).
 *
 * WebCrypto only (core/hmac.ts): workerd has no `node:crypto` without the nodejs_compat flag.
 */
import { hmac, toBase64 } from './hmac';

export async function twilioSignature(authToken: string, url: string, params: Record<string, string> | null): Promise<string> {
  let data = url;
  if (params) {
    // Default sort compares UTF-16 code units, exactly as twilio-node's `Object.keys(params).sort()`.
    for (const name of Object.keys(params).sort()) data += name + params[name];
  }
  return toBase64(await hmac('SHA-1', authToken, data));
}
