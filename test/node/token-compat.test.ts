/// <reference types="node" />
/**
 * Access tokens against the official `twilio` helper, which only runs in Node: our minting (the
 * Worker's mint-token.ts and the `npm run token` script) must produce byte-identical tokens to
 * twilio-node's AccessToken for the same inputs and second, and our verification must accept
 * what twilio-node mints.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import twilio from 'twilio';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Accounts } from '../../core/accounts';
import { TwilioError } from '../../core/errors';
import { mintAccessToken, type TokenAlgorithm } from '../../core/tokens/mint-token';
import { verifyAccessToken } from '../../core/tokens/verify-token';

const { AccessToken } = twilio.jwt;
const { VideoGrant } = AccessToken;

const ACCOUNT_SID = 'AC00000000000000000000000000000001';
const API_KEY_SID = 'SK00000000000000000000000000000001';
const API_KEY_SECRET = 'atrium-dev-api-key-secret';
const NOW = 1_750_000_000;

const SCRIPT = fileURLToPath(new URL('../../scripts/token.mjs', import.meta.url));
const WRANGLER_TOML = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));

/** What scripts/token.mjs exports; it is plain JavaScript, so its types are stated here. */
interface TokenScript {
  mintToken(o: {
    accountSid: string; apiKeySid: string; apiKeySecret: string; identity: string;
    room?: string; ttlSeconds?: number; nowSeconds?: number; algorithm?: TokenAlgorithm;
  }): string;
  readVars(toml: string): Record<string, string>;
}
// Imported by URL at run time because TypeScript does not read .mjs without allowJs.
const loadScript = async (): Promise<TokenScript> => (await import(new URL('../../scripts/token.mjs', import.meta.url).href)) as TokenScript;

interface Case {
  identity: string;
  room?: string;
  ttl?: number;
  algorithm: TokenAlgorithm;
}

/** What twilio-node mints when its clock reads `nowSeconds`. */
function twilioToken(c: Case, nowSeconds: number, secret = API_KEY_SECRET, accountSid = ACCOUNT_SID): string {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(nowSeconds * 1000);
  try {
    const token = new AccessToken(accountSid, API_KEY_SID, secret, { identity: c.identity, ttl: c.ttl });
    token.addGrant(new VideoGrant(c.room === undefined ? {} : { room: c.room }));
    return token.toJwt(c.algorithm);
  } finally {
    vi.useRealTimers();
  }
}

const CASES: Case[] = [
  { identity: 'alice', room: 'demo', algorithm: 'HS256' },
  { identity: 'bob', algorithm: 'HS256' },
  { identity: 'carol', room: 'Daily Standup', ttl: 600, algorithm: 'HS384' },
  { identity: 'dave', room: 'RM00000000000000000000000000000001', ttl: 86_400, algorithm: 'HS512' },
  // Non-ASCII and JSON-escaped characters must serialize and encode the same way on both sides.
  { identity: 'Zoë 😀 "quoted" \\ back/slash', room: 'café <&>', algorithm: 'HS256' },
];

afterEach(() => {
  vi.useRealTimers();
});

describe('minted tokens are byte-identical to twilio-node', () => {
  for (const c of CASES) {
    it(`${c.algorithm} identity=${JSON.stringify(c.identity)} room=${JSON.stringify(c.room ?? null)} ttl=${c.ttl ?? 'default'}`, async () => {
      const expected = twilioToken(c, NOW);
      const options = {
        accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, apiKeySecret: API_KEY_SECRET,
        identity: c.identity, room: c.room, ttlSeconds: c.ttl, nowSeconds: NOW, algorithm: c.algorithm,
      };
      expect(await mintAccessToken(options)).toBe(expected);
      expect((await loadScript()).mintToken(options)).toBe(expected);
    });
  }
});

describe('npm run token', () => {
  /** Runs the script as the npm script does and returns its token. */
  const run = (args: string[], env: Record<string, string> = {}): string =>
    execFileSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, ...env } }).trim();
  /** The second the script minted at, read back from its token. */
  const iatOf = (token: string): number =>
    (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat: number }).iat;

  it('prints what twilio-node would mint for the wrangler.toml account at that second', () => {
    const token = run(['--identity', 'alice', '--room', 'demo', '--ttl', '900']);
    expect(token).toBe(twilioToken({ identity: 'alice', room: 'demo', ttl: 900, algorithm: 'HS256' }, iatOf(token)));
  });

  it('takes credentials from the environment over wrangler.toml', () => {
    const env = { ACCOUNT_SID: 'AC0000000000000000000000000000000a', API_KEY_SECRET: 'another-secret' };
    const token = run(['--identity', 'bob'], env);
    expect(token).toBe(twilioToken({ identity: 'bob', algorithm: 'HS256' }, iatOf(token), env.API_KEY_SECRET, env.ACCOUNT_SID));
  });

  it('fails without --identity or with an out-of-range --ttl', () => {
    expect(() => run(['--room', 'demo'])).toThrow(/--identity is required/);
    expect(() => run(['--identity', 'alice', '--ttl', '90000'])).toThrow(/ttl/);
  });

  it('reads the development credentials from [vars] only', async () => {
    const vars = (await loadScript()).readVars(readFileSync(WRANGLER_TOML, 'utf8'));
    expect(vars).toMatchObject({ ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET });
    const toml = '[vars]\nA = "1" # note\nB = "say \\"hi\\""\n[env.production]\nA = "2"\n';
    expect((await loadScript()).readVars(toml)).toEqual({ A: '1', B: 'say "hi"' });
  });
});

describe("verifyAccessToken accepts twilio-node's tokens", () => {
  const accounts = new Accounts({
    ACCOUNT_SID, AUTH_TOKEN: 'atrium-dev-auth-token', API_KEY_SID, API_KEY_SECRET,
  });

  for (const c of CASES) {
    it(`${c.algorithm} identity=${JSON.stringify(c.identity)}`, async () => {
      const room = c.room ?? 'any-room';
      await expect(verifyAccessToken(twilioToken(c, NOW), accounts, room, NOW + 5)).resolves.toEqual({
        accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, identity: c.identity, room: c.room ?? null, expiresAt: NOW + (c.ttl ?? 3600),
      });
    });
  }

  it('with nbf and a region header (twr)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW * 1000);
    const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity: 'eve', nbf: NOW, region: 'us1' });
    token.addGrant(new VideoGrant({ room: 'demo' }));
    const jwt = token.toJwt();
    vi.useRealTimers();
    await expect(verifyAccessToken(jwt, accounts, 'demo', NOW)).resolves.toMatchObject({ identity: 'eve' });
  });

  it('but not one twilio-node minted for longer than 24 hours, nor for another room', async () => {
    const long = twilioToken({ identity: 'alice', ttl: 86_401, algorithm: 'HS256' }, NOW);
    await expect(verifyAccessToken(long, accounts, 'demo', NOW)).rejects.toMatchObject({ code: 20104 });
    const other = twilioToken({ identity: 'alice', room: 'other', algorithm: 'HS256' }, NOW);
    await expect(verifyAccessToken(other, accounts, 'demo', NOW)).rejects.toBeInstanceOf(TwilioError);
    await expect(verifyAccessToken(other, accounts, 'demo', NOW)).rejects.toMatchObject({ code: 20106 });
  });
});
