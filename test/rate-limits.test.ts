import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../durable-objects/env';
import { app } from '../workers/app';
import { BlockList, clientAddress, ipv6Prefix } from '../core/rate-limit';
import { connectMessage } from './support/connect-message';
import { ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH, AUTH_TOKEN, basic, ORIGIN, uniqueName } from './support/rest';
import { token } from './support/signaling-client';

/**
 * Limits per client address (workers/http/rate-limit.ts), on the rate limiter bindings of
 * wrangler.toml as miniflare runs them: fixed windows of `period` seconds, counted in memory. Each
 * test uses addresses of its own, since nothing resets the counts between tests.
 */

// Every block is logged (`rate-limited`) and every refused token (`signaling-error-sent`): expected here.
beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

/**
 * A test may first wait up to 5 s for the next window (awayFromWindowEdge), then do its own work:
 * the default 5 s per test would fail every test that starts in a window's last seconds.
 */
const WAITS_FOR_WINDOW = { timeout: 20_000 };

let counter = 0;
const run = Math.floor(Math.random() * 250);
/** An address no other test uses. */
const address = () => `198.51.${run}.${++counter}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Limiter = 'AUTH_FAILURES' | 'TOKEN_FAILURES' | 'SIGNALING_UPGRADES';
const limiter = (name: Limiter): RateLimit => {
  const binding = env[name];
  if (!binding) throw new Error(`${name} is not bound: see wrangler.toml [[ratelimits]]`);
  return binding;
};

/** The limit a binding is configured with (wrangler.toml), found by spending a fresh key's whole budget. */
async function limitOf(name: Limiter): Promise<number> {
  const key = `probe-${name}-${address()}`;
  let n = 0;
  while ((await limiter(name).limit({ key })).success) if (++n > 100_000) throw new Error('no limit');
  return n;
}

/**
 * Miniflare's windows are fixed (epoch-aligned): a count in progress restarts at the next one. Each
 * test does what it counts in well under a second or two; started close to a window's end, it
 * waits for the next window.
 */
async function awayFromWindowEdge(periodMs = 60_000, marginMs = 5_000): Promise<void> {
  const into = Date.now() % periodMs;
  if (into > periodMs - marginMs) await sleep(periodMs - into + 100);
}

/** Spends all but `leave` units of `name` for `key`. */
async function spend(name: Limiter, key: string, leave: number): Promise<void> {
  const total = await limitOf(name);
  for (let i = 0; i < total - leave; i++) await limiter(name).limit({ key });
}

async function rest(auth: string | null, from: string | null, e?: Env) {
  const headers = new Headers();
  if (auth) headers.set('authorization', auth);
  if (from) headers.set('cf-connecting-ip', from);
  const req = new Request(`${ORIGIN}/v1/Rooms`, { headers });
  const res = e ? await app.fetch(req, e) : await exports.default.fetch(req);
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

const WRONG = basic(ACCOUNT_SID, 'not-the-token');

describe('failed REST authentication', WAITS_FOR_WINDOW, () => {
  it('answers 429 with 20429 past AUTH_FAILURES, to every request from that address, right credentials too', async () => {
    await awayFromWindowEdge();
    const from = address();
    // Most of the budget spent directly on the binding (the same counter), the rest by requests.
    await spend('AUTH_FAILURES', from, 10);
    for (let i = 0; i < 10; i++) {
      const res = await rest(i % 2 ? WRONG : basic(API_KEY_SID, 'not-the-secret'), from);
      expect(res.body).toMatchObject({ code: 20003, status: 401 });
    }
    const over = await rest(WRONG, from);
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      code: 20429,
      message: 'Too Many Requests: too many failed authentications from this address; try again later',
      more_info: 'https://www.twilio.com/docs/errors/20429',
      status: 429,
    });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Blocked: a guess that is right is refused like the wrong ones, and so is no guess at all.
    expect((await rest(AUTH, from)).body).toMatchObject({ code: 20429, status: 429 });
    expect((await rest(basic(API_KEY_SID, API_KEY_SECRET), from)).status).toBe(429);
    expect((await rest(null, from)).status).toBe(429);
    // Another address is not affected, nor are requests that carry no address.
    const other = address();
    expect((await rest(AUTH, other)).status).toBe(200);
    expect((await rest(WRONG, other)).status).toBe(401);
    expect((await rest(WRONG, null)).status).toBe(401);
    expect((await rest(AUTH, null)).status).toBe(200);
  });

  it('counts only credentials that fail, not requests without any', async () => {
    await awayFromWindowEdge();
    const from = address();
    await spend('AUTH_FAILURES', from, 1);
    for (let i = 0; i < 5; i++) expect((await rest(null, from)).status).toBe(401);
    expect((await rest(AUTH, from)).status).toBe(200);
    expect((await rest(WRONG, from)).status).toBe(401); // the last unit
    expect((await rest(WRONG, from)).status).toBe(429);
  });

  it('blocks for RATE_LIMIT_BLOCK_SECONDS, then lets right credentials through again', async () => {
    await awayFromWindowEdge();
    const short = { ...env, RATE_LIMIT_BLOCK_SECONDS: '1' } as Env;
    const from = address();
    await spend('AUTH_FAILURES', from, 0);
    expect((await rest(WRONG, from, short)).status).toBe(429);
    expect((await rest(AUTH, from, short)).status).toBe(429);
    await sleep(1_100);
    expect((await rest(AUTH, from, short)).status).toBe(200);
    // The limiter's window still says over: the next failure blocks again.
    expect((await rest(WRONG, from, short)).status).toBe(429);
  });

  it('counts an IPv6 client by its /64', async () => {
    await awayFromWindowEdge();
    const net = `2001:db8:${run.toString(16)}:${(++counter).toString(16)}`;
    await spend('AUTH_FAILURES', `${net}::/64`, 0);
    expect((await rest(WRONG, `${net}::1`)).status).toBe(429);
    expect((await rest(AUTH, `${net}:0:0:0:abcd`)).status).toBe(429);
    expect((await rest(AUTH, `2001:db8:${run.toString(16)}:${(++counter).toString(16)}::1`)).status).toBe(200);
  });
});

describe('client addresses and the block list', () => {
  it('reads CF-Connecting-IP, IPv6 as its /64', () => {
    const of = (ip?: string) => clientAddress(new Headers(ip === undefined ? {} : { 'cf-connecting-ip': ip }));
    expect(of()).toBeNull();
    expect(of('')).toBeNull();
    expect(of('203.0.113.9')).toBe('203.0.113.9');
    expect(of('2001:DB8:0:12::7')).toBe('2001:db8:0:12::/64');
    expect(of('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipv6Prefix('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(ipv6Prefix('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipv6Prefix('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipv6Prefix('1::2::3')).toBeNull();
    expect(ipv6Prefix('2001:db8:1:2:3')).toBeNull();
    expect(ipv6Prefix('::ffff:zz')).toBeNull();
  });

  it('holds at most its size, dropping expired blocks first, then the oldest', () => {
    const list = new BlockList(3);
    const now = 1_000_000;
    list.block('a', now + 10_000, now);
    list.block('b', now + 500, now);
    list.block('c', now + 20_000, now);
    list.block('d', now + 30_000, now + 1_000); // b has expired: it goes
    expect(list.size).toBe(3);
    expect(list.remaining('b', now + 1_000)).toBe(0);
    expect(list.remaining('a', now + 1_000)).toBe(9);
    list.block('e', now + 40_000, now + 1_000); // nothing expired: the oldest (a) goes
    expect(list.size).toBe(3);
    expect(list.remaining('a', now + 1_000)).toBe(0);
    expect(list.remaining('e', now + 1_000)).toBe(39);
    expect(list.remaining(null)).toBe(0);
  });
});

/** A scripted signaling socket opened with the headers given (CF-Connecting-IP). */
class Socket {
  readonly frames: any[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      this.frames.push(JSON.parse(e.data as string));
    });
    ws.addEventListener('close', () => {
      this.closed = true;
    });
  }

  static async open(room: string, headers: Record<string, string>): Promise<Socket> {
    const res = await upgrade(room, headers);
    if (!res.webSocket) throw new Error(`no WebSocket: ${res.status} ${await res.text()}`);
    return new Socket(res.webSocket);
  }

  hello(body: unknown): void {
    this.ws.send(JSON.stringify({ type: 'hello', id: crypto.randomUUID(), timeout: 5000, version: 2, body }));
  }

  /** The first `error`, `connected` or `iced` room message. */
  async answer(timeoutMs = 3000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f) => f.type === 'msg' && ['error', 'connected', 'iced'].includes(f.body.type));
      if (found) return found.body;
      if (Date.now() > deadline) throw new Error(`no answer; frames: ${JSON.stringify(this.frames).slice(0, 1000)}`);
      await sleep(20);
    }
  }
}

function upgrade(room: string, headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}/signaling/${encodeURIComponent(room)}`, { headers: { upgrade: 'websocket', ...headers } }));
}

const badToken = (identity: string) => token(identity, undefined, { apiKeySecret: 'not-the-secret' });

describe('refused access tokens', WAITS_FOR_WINDOW, () => {
  it('answer 20429 past TOKEN_FAILURES, at connect and at ice, and the address is refused meanwhile', async () => {
    await awayFromWindowEdge();
    const room = uniqueName('tokens');
    const from = address();
    const ip = { 'cf-connecting-ip': from };
    // Opened before the address is blocked, used after.
    const early = await Socket.open(room, ip);
    await spend('TOKEN_FAILURES', from, 2);

    const first = await Socket.open(room, ip);
    first.hello(connectMessage(room, await badToken('mallory')));
    expect(await first.answer()).toMatchObject({ type: 'error', code: 20107 });
    const second = await Socket.open(room, ip);
    second.hello({ type: 'ice', version: 1, edge: 'roaming', token: await badToken('mallory') });
    expect(await second.answer()).toMatchObject({ type: 'error', code: 20107 });
    const third = await Socket.open(room, ip);
    third.hello(connectMessage(room, await badToken('mallory')));
    expect(await third.answer()).toEqual({
      type: 'error',
      code: 20429,
      message: 'Too Many Requests: too many refused access tokens from this address; try again later',
    });

    // Blocked: even a valid token is refused, and new sockets are refused before any Room object.
    early.hello(connectMessage(room, await token('alice')));
    expect(await early.answer()).toMatchObject({ type: 'error', code: 20429 });
    const refused = await upgrade(room, ip);
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(await refused.json()).toMatchObject({ code: 20429, status: 429, message: expect.stringContaining('access tokens') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // Another address joins; a client cannot claim a blocked address with the Worker's own header.
    const bob = await Socket.open(room, { 'cf-connecting-ip': address(), 'x-atrium-client-address': from });
    bob.hello(connectMessage(room, await token('bob')));
    expect(await bob.answer()).toMatchObject({ type: 'connected', participant: { identity: 'bob' } });
    // Nobody from the blocked address got in.
    const listed = await exports.default.fetch(new Request(`${ORIGIN}/v1/Rooms/${encodeURIComponent(room)}/Participants`, { headers: { authorization: AUTH } }));
    expect(((await listed.json()) as any).participants.map((p: any) => p.identity)).toEqual(['bob']);
  });

  it('does not count valid tokens', async () => {
    await awayFromWindowEdge();
    const room = uniqueName('tokens-ok');
    const from = address();
    await spend('TOKEN_FAILURES', from, 1);
    for (const identity of ['carol', 'dave']) {
      const s = await Socket.open(room, { 'cf-connecting-ip': from });
      s.hello(connectMessage(room, await token(identity)));
      expect(await s.answer()).toMatchObject({ type: 'connected' });
    }
    const last = await Socket.open(room, { 'cf-connecting-ip': from });
    last.hello(connectMessage(room, await badToken('erin')));
    expect(await last.answer()).toMatchObject({ type: 'error', code: 20107 });
  });
});

describe('signaling upgrades', WAITS_FOR_WINDOW, () => {
  it('answer HTTP 429 with 20429 past SIGNALING_UPGRADES, before any Room object', async () => {
    await awayFromWindowEdge();
    const room = uniqueName('upgrades');
    const from = address();
    await spend('SIGNALING_UPGRADES', from, 1);
    const last = await upgrade(room, { 'cf-connecting-ip': from });
    expect(last.status).toBe(101);
    last.webSocket?.accept();
    last.webSocket?.close(1000);
    const over = await upgrade(room, { 'cf-connecting-ip': from });
    expect(over.status).toBe(429);
    expect(await over.json()).toEqual({
      code: 20429,
      message: 'Too Many Requests: too many signaling connections from this address; try again later',
      more_info: 'https://www.twilio.com/docs/errors/20429',
      status: 429,
    });
    const other = await upgrade(room, { 'cf-connecting-ip': address() });
    expect(other.status).toBe(101);
    other.webSocket?.accept();
    other.webSocket?.close(1000);
    // REST from the same address is a different limit.
    expect((await rest(basic(ACCOUNT_SID, AUTH_TOKEN), from)).status).toBe(200);
  });
});
