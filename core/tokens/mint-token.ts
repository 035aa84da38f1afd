/**
 * Mints Twilio Video access tokens, byte for byte what twilio-node's
 * `new AccessToken(accountSid, keySid, secret, { identity, ttl })` + `VideoGrant({ room })` +
 * `toJwt(algorithm)` produce at the same second. Byte equality matters because apps compare,
 * cache and log tokens, and because it proves we sign exactly the structure the SDKs expect.
 *
 * It imports nothing but jose so that Node (tests, tooling) can load it as well as workerd.
 */
import { CompactSign } from 'jose';

export type TokenAlgorithm = 'HS256' | 'HS384' | 'HS512';

export interface MintOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  identity: string;
  /** Room the token admits; omitted → `"video":{}`, which admits any room. */
  room?: string;
  /** Lifetime in seconds, 1…86400 (verification rejects longer ones); default 3600. */
  ttlSeconds?: number;
  /** Issue time in epoch seconds; default now. */
  nowSeconds?: number;
  algorithm?: TokenAlgorithm;
}

/** The most a token may live; verify-token enforces the same bound. */
const MAX_TTL_SECONDS = 86_400;

export async function mintAccessToken(o: MintOptions): Promise<string> {
  const ttl = o.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (!o.identity) throw new TypeError('identity is required');
  if (!o.accountSid || !o.apiKeySid || !o.apiKeySecret) {
    throw new TypeError('accountSid, apiKeySid and apiKeySecret are required');
  }
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);

  // Key order is load-bearing. twilio-node builds {jti, grants}; jsonwebtoken then appends iat,
  // exp (from expiresIn), iss and sub, in that order. Grants: identity first, then each grant by
  // its key; VideoGrant leaves out a falsy room.
  const payload = {
    jti: `${o.apiKeySid}-${now}`,
    grants: { identity: o.identity, video: o.room ? { room: o.room } : {} },
    iat: now,
    exp: now + ttl,
    iss: o.apiKeySid,
    sub: o.accountSid,
  };
  // jsonwebtoken's header is Object.assign({alg, typ, kid: undefined}, {cty, typ}): alg, typ, cty.
  const header = { alg: o.algorithm ?? 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' };

  // CompactSign rather than SignJWT: we hand it the exact JSON bytes, so nothing can reorder them.
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(new TextEncoder().encode(o.apiKeySecret));
}
