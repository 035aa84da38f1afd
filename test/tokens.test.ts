import { base64url, CompactSign, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { Accounts } from '../core/accounts';
import { TwilioError } from '../core/errors';
import { mintAccessToken, type TokenAlgorithm } from '../core/tokens/mint-token';
import { CLOCK_SKEW_SECONDS, verifyAccessToken } from '../core/tokens/verify-token';

const NOW = 1_750_000_000;
// Spelled out rather than read from the bindings: verification is a pure function of the accounts
// it is given, so the test pins its own (the same values as wrangler.toml's development vars).
const ACCOUNT = 'AC00000000000000000000000000000001';
const KEY = 'SK00000000000000000000000000000001';
const SECRET = 'atrium-dev-api-key-secret';
const OTHER_ACCOUNT = 'AC00000000000000000000000000000002';
const OTHER_KEY = 'SK00000000000000000000000000000002';
const OTHER_SECRET = 'second-account-api-key-secret';

/** The default account plus a second one, as the ACCOUNTS secret would configure it. */
const accounts = new Accounts({
  ACCOUNT_SID: ACCOUNT,
  AUTH_TOKEN: 'atrium-dev-auth-token',
  API_KEY_SID: KEY,
  API_KEY_SECRET: SECRET,
  ACCOUNTS: JSON.stringify([
    { accountSid: OTHER_ACCOUNT, authToken: 'second-auth-token', apiKeys: [{ sid: OTHER_KEY, secret: OTHER_SECRET }] },
  ]),
});

const encodeJson = (value: unknown): string => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));

/** A payload shaped like twilio-node's, with any claim overridden or (as undefined) dropped. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    jti: `${KEY}-${NOW}`,
    grants: { identity: 'alice', video: { room: 'demo' } },
    iat: NOW,
    exp: NOW + 3600,
    iss: KEY,
    sub: ACCOUNT,
    ...overrides,
  };
  for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
  return base;
}

/**
 * Signs any header/payload with plain WebCrypto HMAC (not jose, which refuses to sign some of the
 * headers tested here), so tests can build tokens twilio-node never would.
 */
async function craft(
  payload: Record<string, unknown>,
  { secret = SECRET, header = {} as Record<string, unknown>, alg = 'HS256' as TokenAlgorithm } = {},
): Promise<string> {
  const input = `${encodeJson({ alg, typ: 'JWT', cty: 'twilio-fpa;v=1', ...header })}.${encodeJson(payload)}`;
  const hash = `SHA-${alg.slice(2)}`;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash }, false, ['sign']);
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

async function rejection(token: string, room = 'demo', now = NOW): Promise<TwilioError> {
  try {
    await verifyAccessToken(token, accounts, room, now);
  } catch (error) {
    expect(error).toBeInstanceOf(TwilioError);
    return error as TwilioError;
  }
  throw new Error('token was accepted');
}

async function expectCode(token: string, code: number, message: RegExp, room = 'demo', now = NOW): Promise<void> {
  const error = await rejection(token, room, now);
  expect({ code: error.code, status: error.status }).toEqual({ code, status: code < 30000 ? 401 : 400 });
  expect(error.message).toMatch(message);
}

describe('mintAccessToken', () => {
  it('produces the header and payload twilio-node produces, in the same key order', async () => {
    const token = await mintAccessToken({
      accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice', room: 'demo', nowSeconds: NOW,
    });
    const [header, payload] = token.split('.') as [string, string];
    expect(new TextDecoder().decode(base64url.decode(header))).toBe('{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}');
    expect(new TextDecoder().decode(base64url.decode(payload))).toBe(
      `{"jti":"${KEY}-${NOW}","grants":{"identity":"alice","video":{"room":"demo"}},` +
        `"iat":${NOW},"exp":${NOW + 3600},"iss":"${KEY}","sub":"${ACCOUNT}"}`,
    );
  });

  it('writes an empty video grant without a room, and honours ttl and algorithm', async () => {
    const token = await mintAccessToken({
      accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'bob', ttlSeconds: 60, nowSeconds: NOW, algorithm: 'HS512',
    });
    expect(decodeProtectedHeader(token).alg).toBe('HS512');
    expect(decodeJwt(token)).toMatchObject({ grants: { identity: 'bob', video: {} }, exp: NOW + 60 });
  });

  it('refuses a ttl verification would reject, and an empty identity', async () => {
    const base = { accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice' };
    await expect(mintAccessToken({ ...base, ttlSeconds: 86_401 })).rejects.toThrow(RangeError);
    await expect(mintAccessToken({ ...base, ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(mintAccessToken({ ...base, identity: '' })).rejects.toThrow(TypeError);
  });
});

describe('verifyAccessToken accepts', () => {
  for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
    it(`a minted ${algorithm} token for its room`, async () => {
      const token = await mintAccessToken({
        accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice', room: 'demo', nowSeconds: NOW, algorithm,
      });
      await expect(verifyAccessToken(token, accounts, 'demo', NOW + 10)).resolves.toEqual({
        accountSid: ACCOUNT, apiKeySid: KEY, identity: 'alice', room: 'demo', expiresAt: NOW + 3600,
      });
    });
  }

  it('a room-less grant for any room', async () => {
    const token = await mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice', nowSeconds: NOW });
    for (const room of ['demo', 'another-room']) {
      await expect(verifyAccessToken(token, accounts, room, NOW)).resolves.toMatchObject({ room: null, identity: 'alice' });
    }
  });

  it("the second account's tokens, signed with its own key", async () => {
    const token = await mintAccessToken({ accountSid: OTHER_ACCOUNT, apiKeySid: OTHER_KEY, apiKeySecret: OTHER_SECRET, identity: 'carol', nowSeconds: NOW });
    await expect(verifyAccessToken(token, accounts, 'demo', NOW)).resolves.toMatchObject({ accountSid: OTHER_ACCOUNT, apiKeySid: OTHER_KEY });
  });

  it('a token without typ, cty or iat (older helpers), measuring lifetime from nbf', async () => {
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims({ iat: undefined, nbf: NOW }))))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await expect(verifyAccessToken(token, accounts, 'demo', NOW)).resolves.toMatchObject({ identity: 'alice' });
  });

  it('within the clock skew on both sides', async () => {
    await expect(verifyAccessToken(await craft(claims({ exp: NOW })), accounts, 'demo', NOW + CLOCK_SKEW_SECONDS - 1)).resolves.toBeTruthy();
    await expect(verifyAccessToken(await craft(claims({ nbf: NOW + CLOCK_SKEW_SECONDS })), accounts, 'demo', NOW)).resolves.toBeTruthy();
  });

  it('an identity of exactly 128 characters, counting code points', async () => {
    const identity = '😀'.repeat(128); // 256 UTF-16 code units, 128 characters
    const token = await craft(claims({ grants: { identity, video: {} } }));
    await expect(verifyAccessToken(token, accounts, 'demo', NOW)).resolves.toMatchObject({ identity });
  });
});

describe('verifyAccessToken rejects', () => {
  it('garbage as malformed (20101)', async () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b', 'a.b.c.d', 'eyJ!.eyJ.sig', 'a b.c.d']) {
      await expectCode(garbage, 20101, /three base64url segments/);
    }
    const header = encodeJson({ alg: 'HS256', typ: 'JWT' });
    await expectCode(`${header}.${base64url.encode('not json')}.sig`, 20101, /payload/);
    await expectCode(`${header}.${encodeJson([1, 2])}.sig`, 20101, /payload/);
  });

  it('a header that is not a JSON object (20102)', async () => {
    await expectCode(`${base64url.encode('{"alg":')}.${encodeJson(claims())}.sig`, 20102, /header/);
    await expectCode(`.${encodeJson(claims())}.sig`, 20102, /header/);
  });

  it('alg none and other algorithms (20102)', async () => {
    const unsigned = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(claims())}.`;
    await expectCode(unsigned, 20102, /"none" is not allowed/);
    await expectCode(`${encodeJson({ typ: 'JWT' })}.${encodeJson(claims())}.sig`, 20102, /algorithm null/);
    // A real RS256 signature would need a key pair; the header alone must already be refused.
    await expectCode(`${encodeJson({ alg: 'RS256', typ: 'JWT' })}.${encodeJson(claims())}.c2ln`, 20102, /RS256/);
  });

  it('a wrong typ or cty, or crit (20102)', async () => {
    await expectCode(await craft(claims(), { header: { typ: 'JOSE' } }), 20102, /typ/);
    await expectCode(await craft(claims(), { header: { cty: 'JWT' } }), 20102, /cty/);
    await expectCode(await craft(claims(), { header: { crit: ['exp'] } }), 20102, /crit/);
  });

  it('an unknown or missing issuer (20103)', async () => {
    await expectCode(await craft(claims({ iss: 'SK0000000000000000000000000000dead' })), 20103, /issuer/);
    await expectCode(await craft(claims({ iss: undefined })), 20103, /issuer/);
  });

  it('a subject other than the key owner, including another account of this deployment (20103)', async () => {
    await expectCode(await craft(claims({ sub: 'AC0000000000000000000000000000beef' })), 20103, /subject/);
    await expectCode(await craft(claims({ sub: OTHER_ACCOUNT })), 20103, /subject/);
    // The second account's key, claiming the first account.
    await expectCode(await craft(claims({ iss: OTHER_KEY, sub: ACCOUNT }), { secret: OTHER_SECRET }), 20103, /subject/);
  });

  it('a signature made with another secret (20107)', async () => {
    await expectCode(await craft(claims(), { secret: 'not-the-secret' }), 20107, /signature/);
    // Another account's secret for this account's key.
    await expectCode(await craft(claims(), { secret: OTHER_SECRET }), 20107, /signature/);
    // A signature for a different alg than the header claims.
    const [h, p] = (await craft(claims(), { alg: 'HS256' })).split('.');
    const [, , sig512] = (await craft(claims(), { alg: 'HS512' })).split('.');
    await expectCode(`${h}.${p}.${sig512}`, 20107, /signature/);
  });

  it('judges the signature before any claim a forger controls', async () => {
    // Expired, no grants, wrong subject: a bad signature still comes first.
    await expectCode(await craft(claims({ exp: NOW - 10_000, grants: undefined }), { secret: 'x' }), 20107, /signature/);
  });

  it('a missing, non-numeric or passed expiration (20104)', async () => {
    await expectCode(await craft(claims({ exp: undefined })), 20104, /exp/);
    await expectCode(await craft(claims({ exp: String(NOW + 3600) })), 20104, /exp/);
    await expectCode(await craft(claims({ exp: NOW - 1 })), 20104, /expired/, 'demo', NOW + CLOCK_SKEW_SECONDS);
    await expectCode(await craft(claims({ iat: 'yesterday' })), 20104, /iat/);
  });

  it('a lifetime over 24 hours, from iat, nbf or now (20104)', async () => {
    await expectCode(await craft(claims({ exp: NOW + 86_401 })), 20104, /24 hours/);
    await expectCode(await craft(claims({ iat: undefined, nbf: NOW, exp: NOW + 86_401 })), 20104, /24 hours/);
    await expectCode(await craft(claims({ iat: undefined, exp: NOW + 86_401 })), 20104, /24 hours/);
    // A future iat must not stretch the window past 24 hours from now.
    await expectCode(await craft(claims({ iat: NOW + 86_400, exp: NOW + 2 * 86_400 })), 20104, /24 hours/);
    // Exactly 24 hours is fine.
    await expect(verifyAccessToken(await craft(claims({ exp: NOW + 86_400 })), accounts, 'demo', NOW)).resolves.toBeTruthy();
  });

  it('a not-before in the future, or not a number (20105)', async () => {
    await expectCode(await craft(claims({ nbf: NOW + CLOCK_SKEW_SECONDS + 1 })), 20105, /not valid yet/);
    await expectCode(await craft(claims({ nbf: 'soon' })), 20105, /nbf/);
  });

  it('a missing or empty identity (53200)', async () => {
    await expectCode(await craft(claims({ grants: { video: {} } })), 53200, /identity/);
    await expectCode(await craft(claims({ grants: { identity: '', video: {} } })), 53200, /identity/);
    await expectCode(await craft(claims({ grants: { identity: 42, video: {} } })), 53200, /identity/);
  });

  it('an identity over 128 characters (53201)', async () => {
    await expectCode(await craft(claims({ grants: { identity: 'a'.repeat(129), video: {} } })), 53201, /128/);
  });

  it('an identity with control characters (53202)', async () => {
    for (const identity of ['ali\nce', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085']) {
      await expectCode(await craft(claims({ grants: { identity, video: {} } })), 53202, /control/);
    }
  });

  it('missing grants or a missing video grant (20106)', async () => {
    await expectCode(await craft(claims({ grants: undefined })), 20106, /grants/);
    await expectCode(await craft(claims({ grants: { identity: 'alice' } })), 20106, /video grant/);
    await expectCode(await craft(claims({ grants: { identity: 'alice', chat: {} } })), 20106, /video grant/);
    await expectCode(await craft(claims({ grants: { identity: 'alice', video: 'demo' } })), 20106, /video grant/);
  });

  it('a grant for another room (20106)', async () => {
    const token = await mintAccessToken({
      accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice', room: 'demo', nowSeconds: NOW,
    });
    await expectCode(token, 20106, /for room "demo", not "Demo"/, 'Demo');
    await expectCode(await craft(claims({ grants: { identity: 'alice', video: { room: 7 } } })), 20106, /room is not a string/);
  });
});
