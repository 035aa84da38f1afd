import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Accounts } from '../core/accounts';
import { ConfigError, positiveNumber, repeatedJsonField } from '../core/config-error';
import { availableRegions } from '../core/room-defaults';
import type { Env } from '../durable-objects/env';
import { iceConfig } from '../durable-objects/room/signaling/ice-servers';
import { app } from '../workers/app';
import { ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH, AUTH_TOKEN, ORIGIN, uniqueName } from './support/rest';
import { insideRoomObject, roomObject } from './support/room-object';
import { SignalingClient, token } from './support/signaling-client';

/**
 * Every variable is checked on first use (core/config-error.ts): a bad value is one log line that
 * names the variable and says what is wrong, and a Twilio 20500 that names the variable and never
 * its value. These call the Worker with a copy of the test env in which one value is bad.
 */

/** Secret values used below; no response or log line may contain any of them. */
const SECRETS = ['hunter2-auth-token', 'hunter2-key-secret', 'hunter2-turn-secret', 'hunter2-ice-credential', 'hunter2-sfu-secret-value'];

const account = (n: number, extra: Record<string, unknown> = {}) => ({
  accountSid: `AC${String(n).padStart(32, '0')}`,
  authToken: 'hunter2-auth-token',
  apiKeys: [{ sid: `SK${String(n).padStart(32, '0')}`, secret: 'hunter2-key-secret' }],
  ...extra,
});

/** One bad value each: the variable the answer must name, and the env change that makes it bad. */
const CASES: [string, string, Partial<Record<keyof Env, string>>][] = [
  ['an account sid that is not AC + 32 hex', 'ACCOUNT_SID', { ACCOUNT_SID: 'AC123' }],
  ['an empty auth token', 'AUTH_TOKEN', { AUTH_TOKEN: '' }],
  ['an API key sid that is not SK + 32 hex', 'API_KEY_SID', { API_KEY_SID: 'hunter2-key-secret' }],
  ['an empty API key secret', 'API_KEY_SECRET', { API_KEY_SECRET: '' }],
  ['ACCOUNTS that is not JSON', 'ACCOUNTS', { ACCOUNTS: '[{"authToken":"hunter2-auth-token"' }],
  ['ACCOUNTS that is not an array', 'ACCOUNTS', { ACCOUNTS: JSON.stringify(account(2)) }],
  ['an ACCOUNTS entry without an auth token', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2, { authToken: '' })]) }],
  ['an ACCOUNTS entry with a misspelt field', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2, { apikeys: [] })]) }],
  ['an API key without a secret', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2, { apiKeys: [{ sid: `SK${'2'.repeat(32)}` }] })]) }],
  ['the default account again in ACCOUNTS', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([{ ...account(2), accountSid: ACCOUNT_SID }]) }],
  ['one account twice', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2), { ...account(3), accountSid: account(2).accountSid }]) }],
  ['one account twice, in other case', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2, { accountSid: `AC${'a'.repeat(32)}` }), account(3, { accountSid: `AC${'A'.repeat(32)}` })]) }],
  ['the default API key in another account', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2, { apiKeys: [{ sid: API_KEY_SID, secret: 'hunter2-key-secret' }] })]) }],
  ['one API key in two accounts', 'ACCOUNTS', { ACCOUNTS: JSON.stringify([account(2), account(3, { apiKeys: account(2).apiKeys })]) }],
  ['a field given twice in an entry', 'ACCOUNTS', { ACCOUNTS: `[{"accountSid":"${account(2).accountSid}","authToken":"hunter2-auth-token","authToken":"x"}]` }],
  ['a region Twilio does not have', 'MEDIA_REGIONS', { MEDIA_REGIONS: 'us1,eu9' }],
  ['an empty region', 'MEDIA_REGIONS', { MEDIA_REGIONS: 'us1,,ie1' }],
  ['a region twice', 'MEDIA_REGIONS', { MEDIA_REGIONS: 'us1,ie1,us1' }],
  ['no region at all', 'MEDIA_REGIONS', { MEDIA_REGIONS: '' }],
  ['room defaults that are not JSON', 'ROOM_DEFAULTS', { ROOM_DEFAULTS: '{type:go}' }],
  ['room defaults with a bad type', 'ROOM_DEFAULTS', { ROOM_DEFAULTS: '{"type":"huge"}' }],
  ['room defaults with a field twice', 'ROOM_DEFAULTS', { ROOM_DEFAULTS: '{"type":"go","type":"group"}' }],
  ['room defaults in a region not served', 'ROOM_DEFAULTS', { ROOM_DEFAULTS: '{"media_region":"de1"}' }],
  ['ICE servers that are not JSON', 'ICE_SERVERS', { ICE_SERVERS: '[{"urls":"turn:t.example.com","credential":"hunter2-ice-credential"' }],
  ['ICE servers that are not an array', 'ICE_SERVERS', { ICE_SERVERS: '{"urls":"stun:s.example.com"}' }],
  ['an ICE URL of another scheme', 'ICE_SERVERS', { ICE_SERVERS: '[{"urls":["stun:s.example.com","https://s.example.com"]}]' }],
  ['an ICE server without URLs', 'ICE_SERVERS', { ICE_SERVERS: '[{"urls":[]}]' }],
  ['a TURN server without credentials', 'ICE_SERVERS', { ICE_SERVERS: '[{"urls":"turn:t.example.com","username":"u"}]' }],
  ['an ICE server with an unknown field', 'ICE_SERVERS', { ICE_SERVERS: '[{"urls":"turn:t.example.com","username":"u","password":"hunter2-ice-credential"}]' }],
  ['a TURN secret without TURN URLs', 'TURN_URLS', { TURN_SECRET: 'hunter2-turn-secret', TURN_URLS: '' }],
  ['TURN URLs without a TURN secret', 'TURN_SECRET', { TURN_SECRET: '', TURN_URLS: 'turn:t.example.com' }],
  ['a TURN URL that is not turn: or turns:', 'TURN_URLS', { TURN_SECRET: 'hunter2-turn-secret', TURN_URLS: 'turn:t.example.com,stun:s.example.com' }],
  ['a media server URL that is not one', 'SFU_URL', { SFU_URL: 'sfu.example.com:8788', SFU_SECRET: 'hunter2-sfu-secret-value' }],
  ['a media server without a secret', 'SFU_SECRET', { SFU_URL: 'https://sfu.example.com', SFU_SECRET: '' }],
  ['a media server secret too short for the media server', 'SFU_SECRET', { SFU_URL: 'https://sfu.example.com', SFU_SECRET: 'hunter2' }],
  ['a session timeout of zero', 'SESSION_TIMEOUT_SECONDS', { SESSION_TIMEOUT_SECONDS: '0' }],
  ['a negative session timeout', 'SESSION_TIMEOUT_SECONDS', { SESSION_TIMEOUT_SECONDS: '-30' }],
  ['a callback backoff that is not a number', 'CALLBACK_RETRY_BASE_MS', { CALLBACK_RETRY_BASE_MS: '1s' }],
  ['a block time of zero', 'RATE_LIMIT_BLOCK_SECONDS', { RATE_LIMIT_BLOCK_SECONDS: '0' }],
  ['a public base URL that is not http(s)', 'PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'ftp://video.example.com' }],
  ['a public base URL that is not absolute', 'PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'video.example.com' }],
];

let logged: string[] = [];
beforeEach(() => {
  logged = [];
  const keep = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
  vi.spyOn(console, 'error').mockImplementation(keep);
  vi.spyOn(console, 'warn').mockImplementation(keep);
  vi.spyOn(console, 'log').mockImplementation(keep);
});
afterEach(() => vi.restoreAllMocks());

const configLines = () => logged.filter((l) => l.includes('"config-invalid"')).map((l) => JSON.parse(l));

async function call(e: Env, path = '/v1/Rooms', init: RequestInit = { headers: { authorization: AUTH } }) {
  const res = await app.fetch(new Request(ORIGIN + path, init), e);
  return { status: res.status, text: await res.text() };
}

describe('a bad configuration value', () => {
  it.each(CASES)('(%s) is a 20500 naming %s, logged once, with no secret in either', async (_what, variable, change) => {
    const bad = { ...env, ...change } as Env;
    const res = await call(bad);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({
      code: 20500,
      message: `Internal server error: the server is misconfigured (${variable})`,
      more_info: 'https://www.twilio.com/docs/errors/20500',
      status: 500,
    });
    for (const secret of SECRETS) expect(res.text).not.toContain(secret);

    const [line, ...more] = configLines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ level: 'error', event: 'config-invalid', code: 20500, variable, problem: expect.any(String) });
    expect(line.message).toBe(`${variable} is invalid: ${line.problem}`);
    for (const secret of SECRETS) expect(JSON.stringify(line)).not.toContain(secret);

    // The same deployment asked again: the same answer, on the signaling route too, and no new line.
    expect((await call(bad, '/v1/Rooms/anything', { method: 'POST', headers: { authorization: AUTH } })).status).toBe(500);
    const upgrade = await call(bad, '/signaling/room', { headers: { upgrade: 'websocket' } });
    expect(upgrade.status).toBe(500);
    expect(JSON.parse(upgrade.text)).toMatchObject({ code: 20500, message: expect.stringContaining(`(${variable})`) });
    expect(configLines()).toHaveLength(1);
    expect(logged.filter((l) => l.includes('unhandled error'))).toEqual([]);
  });

  it('says what is wrong in the log line', async () => {
    const problem = async (change: Partial<Record<keyof Env, string>>) => {
      logged = [];
      await call({ ...env, ...change } as Env);
      return configLines()[0]?.problem as string;
    };
    expect(await problem({ MEDIA_REGIONS: 'us1,eu9' })).toMatch(/'eu9' is not a Twilio media region/);
    expect(await problem({ MEDIA_REGIONS: 'us1,ie1,us1' })).toMatch(/'us1' is listed twice/);
    expect(await problem({ ACCOUNTS: JSON.stringify([account(2), account(3, { apiKeys: account(2).apiKeys })]) })).toBe(
      `entry 2: API key ${account(2).apiKeys[0]!.sid} is configured twice`,
    );
    expect(await problem({ ACCOUNTS: JSON.stringify([{ ...account(2), accountSid: ACCOUNT_SID }]) })).toBe(`entry 1: account ${ACCOUNT_SID} is configured twice`);
    expect(await problem({ ACCOUNTS: '[{"accountSid":"x","authToken":"hunter2-auth-token"' })).toBe('it is not valid JSON');
    expect(await problem({ ICE_SERVERS: '[{"urls":"turn:t.example.com","username":"u"}]' })).toMatch(/entry 1: TURN URLs need a username and a credential/);
    expect(await problem({ TURN_SECRET: 'hunter2-turn-secret', TURN_URLS: '' })).toMatch(/TURN_SECRET is set but TURN_URLS is not/);
    expect(await problem({ SESSION_TIMEOUT_SECONDS: 'soon' })).toBe('it must be a positive number');
  });

  it('leaves a good configuration alone', async () => {
    const good = {
      ...env,
      ACCOUNTS: JSON.stringify([account(2), account(3, { apiKeys: [] }), { accountSid: account(4).accountSid, authToken: 't' }]),
      MEDIA_REGIONS: ' us1 , ie1 ',
      ROOM_DEFAULTS: '{"type":"go","status_callback":null}',
      ICE_SERVERS: '[{"urls":["stun:s.example.com:3478"]},{"urls":"turns:t.example.com:5349","username":"u","credential":"c"}]',
      TURN_SECRET: 'hunter2-turn-secret',
      TURN_URLS: 'turn:t.example.com:3478?transport=udp',
      SFU_URL: 'https://sfu.example.com/',
      SFU_SECRET: 'hunter2-sfu-secret-value',
      SESSION_TIMEOUT_SECONDS: '45',
      CALLBACK_RETRY_BASE_MS: '250',
      RATE_LIMIT_BLOCK_SECONDS: '300',
      PUBLIC_BASE_URL: 'https://video.example.com/',
    } as Env;
    expect((await call(good)).status).toBe(200);
    expect(configLines()).toEqual([]);
    expect(availableRegions(good)).toEqual(['us1', 'ie1']);
    expect(iceConfig(good)).toMatchObject({ servers: [{ urls: ['stun:s.example.com:3478'] }, { urls: 'turns:t.example.com:5349' }], turn: { urls: ['turn:t.example.com:3478?transport=udp'] } });
    // Unset values take their defaults.
    expect(availableRegions({ ...env, MEDIA_REGIONS: undefined } as Env)).toEqual(['us1']);
    expect(positiveNumber({}, 'SESSION_TIMEOUT_SECONDS', 30)).toBe(30);
    expect(positiveNumber({ X: ' 1.5 ' }, 'X', 30)).toBe(1.5);
  });
});

describe('the parsers', () => {
  const base = { ACCOUNT_SID, AUTH_TOKEN, API_KEY_SID, API_KEY_SECRET };

  it('throw ConfigError naming the variable', () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err;
      }
      return null;
    };
    const err = thrown(() => new Accounts({ ...base, ACCOUNTS: JSON.stringify([account(2), account(2)]) }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ variable: 'ACCOUNTS', problem: `entry 2: account ${account(2).accountSid} is configured twice` });
    expect(thrown(() => new Accounts({ ...base, ACCOUNT_SID: 'AC' }))).toMatchObject({ variable: 'ACCOUNT_SID' });
    expect(thrown(() => new Accounts({ ...base, ACCOUNTS: '' }))).toBeNull();
  });

  it('find a member named twice in any object of a JSON text', () => {
    expect(repeatedJsonField('[{"a":1,"b":{"a":2}},{"a":3}]')).toBeNull();
    expect(repeatedJsonField('{"a":"x:\\"a\\"","a" : 2}')).toBe('a');
    expect(repeatedJsonField('[{"k":[{"s":1},{"s":2}],"k":0}]')).toBe('k');
    expect(repeatedJsonField('{"\\u0061":1,"a":2}')).toBe('a');
    expect(repeatedJsonField('["a","a"]')).toBeNull();
  });
});

describe('a bad value met by the Room object during signaling', () => {
  it('reaches the client as its error 20500, is logged once, and leaves the room working', async () => {
    const room = uniqueName('config');
    const alice = await SignalingClient.join(room, 'alice');
    expect(alice.connected).toBeTruthy();
    // The Worker refuses every request while a value is bad, so a Room object meets one only if
    // it was bad from its start; here its signaling is handed such an env directly.
    const stub = roomObject(room);
    // (Its parts share one context object; `instance.env` keeps the object's own env.)
    await insideRoomObject(stub, (instance) => {
      instance.signaling.rooms.c.env = { ...instance.env, ICE_SERVERS: '[{"urls":"turn:t.example.com","credential":"hunter2-ice-credential"}]' };
    });
    const restore = () => insideRoomObject(stub, (instance) => void (instance.signaling.rooms.c.env = instance.env));
    try {
      for (const identity of ['bob', 'carol']) {
        const c = await SignalingClient.open(room);
        c.send({ type: 'hello', id: 'h', timeout: 5000, version: 2, body: { type: 'ice', version: 1, edge: 'roaming', token: await token(identity) } });
        const error = await c.nextMsg((m) => m.type === 'error' || m.type === 'iced');
        expect(error).toEqual({ type: 'error', code: 20500, message: 'Internal server error: the server is misconfigured (ICE_SERVERS)' });
        await c.waitClosed();
      }
      const lines = configLines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ variable: 'ICE_SERVERS' });
      expect(JSON.stringify(lines[0])).not.toContain('hunter2');
      expect(logged.filter((l) => l.includes('signaling handler failed'))).toEqual([]);
    } finally {
      await restore();
    }
    // The room and its participant are untouched; a connect that needs no ICE servers still works.
    const dave = await SignalingClient.join(room, 'dave', { token: await token('dave') });
    expect(dave.connected.participants.map((p: any) => p.identity)).toEqual(['alice']);
    alice.close();
    dave.close();
  });
});
