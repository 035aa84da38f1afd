/// <reference types="node" />
/**
 * Hostile input against a real `wrangler dev`: fuzzed REST requests, fuzzed signaling frames from
 * a participant in a room with two well-behaved ones, and forged or unusable access tokens. The
 * server must answer every one of them as Twilio would (a 4xx in Twilio's JSON shape, a signaling
 * error with its code), never with a 5xx or a crash, and nobody else may notice.
 *
 * Inputs come from a seeded PRNG; the seed is printed, and ROBUSTNESS_SEED=<seed> replays a run.
 */
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type AtriumServer, DEV_CREDENTIALS, startAtrium } from '../node/support/atrium-server';
import { randomUUID } from 'node:crypto';
import { connectTemplate, everyCategory, type FrameCase, type FrameContext, fuzzFrameCase, hello, msg, personalize, updateTemplate } from './support/frame-fuzz';
import { Prng, runSeed } from './support/prng';
import { fuzzRequest, type FuzzTargets } from './support/rest-fuzz';
import { AUTH, basic, participants, read, rest } from './support/rest';
import { iceUpdate, type Json, SignalingClient, sleep, token } from '../node/support/signaling-client';

const SEED = runSeed();
const REST_CASES = Number(process.env.ROBUSTNESS_REST_CASES ?? 1500);
const FRAME_CASES = Number(process.env.ROBUSTNESS_FRAME_CASES ?? 150);

/** A second account on the same deployment: its key must not open the first account's rooms. */
const OTHER = {
  accountSid: 'AC00000000000000000000000000000002',
  authToken: 'robustness-second-account-token',
  apiKeySid: 'SK00000000000000000000000000000002',
  apiKeySecret: 'robustness-second-account-secret',
} as const;

let atrium: AtriumServer;
const clients: SignalingClient[] = [];

beforeAll(async () => {
  console.log(`robustness seed ${SEED} (replay with ROBUSTNESS_SEED=${SEED})`);
  atrium = await startAtrium({
    vars: {
      ACCOUNTS: JSON.stringify([{ accountSid: OTHER.accountSid, authToken: OTHER.authToken, apiKeys: [{ sid: OTHER.apiKeySid, secret: OTHER.apiKeySecret }] }]),
    },
  });
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await atrium?.stop();
});

/** Twilio's error body, exactly: what twilio-node turns into a RestException. */
function twilioErrorProblem(status: number, contentType: string, body: unknown): string | null {
  if (!contentType.startsWith('application/json')) return `content-type ${contentType}`;
  if (typeof body !== 'object' || body === null) return 'body is not a JSON object';
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b).sort().join(',');
  if (keys !== 'code,message,more_info,status') return `keys ${keys}`;
  if (!Number.isInteger(b.code)) return 'code is not an integer';
  if (typeof b.message !== 'string' || b.message === '') return 'message is not a string';
  if (b.more_info !== `https://www.twilio.com/docs/errors/${b.code}`) return `more_info ${String(b.more_info)}`;
  if (b.status !== status) return `status ${String(b.status)} in a ${status} response`;
  return null;
}

/** Lines the Worker logs for a thrown error that no handler expected (app.onError, the signaling catch-all). */
/**
 * What an operator would be paged for: an uncaught error, or a structured error line (core/log.ts)
 * from a handler. Warnings (a client's bad message answered with its code) are expected here.
 */
const unexpectedErrors = (): string[] =>
  atrium.output().split('\n').filter((l) => /unhandled error|signaling handler failed|Uncaught|"level":"error"/i.test(l));

describe('hostile REST input', () => {
  it(`answers ${REST_CASES} fuzzed requests with no 5xx, every error in Twilio's JSON shape`, { timeout: 180_000 }, async () => {
    onTestFailed(() => console.error(`seed ${SEED}; wrangler output (tail):\n${atrium.output().slice(-4000)}`));
    const r = new Prng(SEED);
    // Real targets, so that fuzzed requests get past the lookups into every handler: an
    // in-progress room with a participant that publishes a track, and a completed room.
    const name = `fuzz-${SEED.toString(36)}`;
    const live = await rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: name });
    const done = await rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: `${name}-done` });
    expect([live.status, done.status]).toEqual([201, 201]);
    expect((await rest(atrium.url, 'POST', `/v1/Rooms/${done.body.sid}`, { Status: 'completed' })).status).toBe(202);
    const member = await SignalingClient.start(atrium.url, name, await token('fuzz-member'));
    clients.push(member);
    const connected = await member.nextMsg((m) => m.type === 'connected', 10_000);
    member.msg({ type: 'update', version: 2, session: connected.session, participant: { revision: 2, tracks: [{ id: 'mic', kind: 'audio', name: 'mic', enabled: true, priority: 'standard' }] } });
    const published = await member.nextMsg((m) => m.type === 'update' && m.published);
    member.startHeartbeats();
    const targets: FuzzTargets = {
      roomSids: [live.body.sid, done.body.sid],
      roomNames: [name, `${name}-done`],
      participantSids: [connected.participant.sid],
      identities: ['fuzz-member'],
      trackSids: published.published.tracks.map((t: Json) => t.sid),
      auth: AUTH,
      otherAuth: basic(OTHER.accountSid, OTHER.authToken),
    };

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let index = 0;
    // Eight requests in flight at a time: enough to interleave handlers, bounded for a small machine.
    const worker = async () => {
      while (index < REST_CASES) {
        const i = index++;
        const req = fuzzRequest(r, targets);
        let res;
        try {
          res = await read(await fetch(atrium.url + req.path, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(20_000) }));
        } catch (err) {
          failures.push(`#${i} ${req.describe}: request failed: ${err instanceof Error ? `${err.message} ${String(err.cause ?? '')}` : String(err)}`);
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) failures.push(`#${i} ${req.describe}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        // Only the API answers in Twilio's shape; a path the client normalized out of /v1 ('/v1/..')
        // reaches the static assets, which must merely not fail.
        else if (!new URL(atrium.url + req.path).pathname.startsWith('/v1')) continue;
        else if (res.status >= 400 && req.method !== 'HEAD') {
          const problem = twilioErrorProblem(res.status, res.contentType, res.body);
          if (problem) failures.push(`#${i} ${req.describe}: HTTP ${res.status} not in Twilio's error shape (${problem}): ${res.text.slice(0, 200)}`);
        } else if (res.status < 300 && req.method !== 'HEAD' && (typeof res.body !== 'object' || res.body === null)) {
          failures.push(`#${i} ${req.describe}: HTTP ${res.status} without a JSON body`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log(`REST fuzz (seed ${SEED}): ${REST_CASES} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(failures.slice(0, 20), `${failures.length} of ${REST_CASES} failed (seed ${SEED})`).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
    // The server is still whole: the live room answers, the participant is still there unless a
    // fuzzed request removed it (Status=disconnected or completing the room are legitimate calls).
    expect((await rest(atrium.url, 'GET', `/v1/Rooms/${live.body.sid}`)).status).toBe(200);
  });
});

describe('hostile signaling frames', () => {
  it(`a participant sending ${FRAME_CASES} fuzzed frames is refused each time; the others notice nothing`, { timeout: 180_000 }, async () => {
    onTestFailed(() => console.error(`seed ${SEED}; wrangler output (tail):\n${atrium.output().slice(-4000)}`));
    const r = new Prng(SEED ^ 0x5eed);
    const room = `hostile-${SEED.toString(36)}`;
    expect((await rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: room })).status).toBe(201);
    const alice = await SignalingClient.join(atrium.url, room, 'alice');
    const bob = await SignalingClient.join(atrium.url, room, 'bob');
    clients.push(alice, bob);
    alice.startHeartbeats();
    bob.startHeartbeats();
    const offer = await alice.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.identity === 'bob');
    const pairId = offer.peer_connections[0].id as string;

    /** What each well-behaved client may see while the hostile ones come and go (see `audit`). */
    const watch = [alice, bob].map((c) => ({
      c,
      name: c.connected.participant.identity as string,
      session: c.connected.session as string,
      read: c.frames.length,
      announced: new Set<string>(),
      hostilePairs: new Set<string>(),
      relayed: [] as number[],
      sent: 0,
    }));
    const [wa, wb] = watch as [(typeof watch)[0], (typeof watch)[0]];
    const violations: string[] = [];

    /** Reads the frames a well-behaved client got since the last audit; anything unexpected is a violation. */
    const audit = (w: (typeof watch)[0], context: string) => {
      for (; w.read < w.c.frames.length; w.read++) {
        const f = w.c.frames[w.read];
        const bad = (why: string) => violations.push(`${w.name} after ${context}: ${why}: ${JSON.stringify(f).slice(0, 300)}`);
        if (f?.type === 'heartbeat') continue;
        if (f?.type !== 'msg' || f.body?.type !== 'update') {
          bad('unexpected frame');
          continue;
        }
        const { participants: ps, peer_connections: pcs, subscribed, ...others } = f.body;
        delete others.type;
        if (Object.keys(others).length) bad(`unexpected fields ${Object.keys(others).join(',')}`);
        void subscribed; // revisions move as hostile participants come and go; nothing else to check
        for (const p of ps ?? []) {
          if (!String(p.identity).startsWith('hostile-')) bad(`state of ${p.identity} changed`);
          else if (p.state === 'connected') w.announced.add(p.sid);
          else if (p.state === 'disconnected') {
            if (!w.announced.delete(p.sid)) bad('departure of a participant that was never announced');
          } else bad(`hostile participant ${p.state}`);
        }
        for (const e of pcs ?? []) {
          if (e.id === pairId) {
            const partner = w === wa ? 'bob' : 'alice';
            const m = new RegExp(`^candidate:${partner} (\\d+)$`).exec(e.ice?.candidates?.[0]?.candidate ?? '');
            if (!m || e.description) bad('entry on the well-behaved pair that its partner did not send');
            else w.relayed.push(Number(m[1]));
          } else if (e.description?.type === 'create-offer') w.hostilePairs.add(e.id);
          else if (!w.hostilePairs.has(e.id)) bad('entry on a peer connection it was never given');
        }
      }
      if (!w.c.open) violations.push(`${w.name} after ${context}: socket closed`);
    };

    /** The well-behaved pair still relays, both ways, in order, with nothing lost. */
    const relayStillWorks = async (context: string) => {
      for (const [from, to] of [
        [wa, wb],
        [wb, wa],
      ] as const) {
        from.sent++;
        from.c.msg(iceUpdate(from.session, pairId, from.name, from.sent));
        const deadline = Date.now() + 10_000;
        while (!to.relayed.includes(from.sent) && Date.now() < deadline) {
          await sleep(5);
          audit(to, context);
        }
        expect(to.relayed, `${to.name} after ${context}`).toEqual(Array.from({ length: from.sent }, (_, i) => i + 1));
      }
      audit(wa, context);
      audit(wb, context);
    };

    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    let n = 0;
    const ctx: FrameContext = { room, othersPairId: pairId, othersSession: wa.session };
    const cases: FrameCase[] = everyCategory(r, ctx);
    while (cases.length < FRAME_CASES) cases.push(fuzzFrameCase(r, ctx));

    /** A hostile client for one case: connected (with a known initial offer id) or only opened. */
    const hostile = async (connected: boolean) => {
      const identity = `hostile-${n++}`;
      const jwt = await token(identity);
      const ownPcId = randomUUID();
      const h = connected ? await SignalingClient.join(atrium.url, room, identity, { jwt, offerId: ownPcId }) : await SignalingClient.open(atrium.url, room);
      clients.push(h);
      return { h, identity, fill: (f: string | Buffer) => personalize(f, { jwt, session: connected ? h.connected.session : '', ownPcId }) };
    };

    await relayStillWorks('setup');

    // Controls: the templates the cases mutate are valid as they stand, so each case is refused for
    // the fault it puts in, not for something the template already got wrong. Frames of a socket
    // are handled in order, so the error for a trailing non-JSON frame proves the first was accepted.
    {
      const { h, fill } = await hostile(false);
      h.ws.send(fill(JSON.stringify(hello(connectTemplate(room)))));
      const first = await h.nextMsg((m) => m.type === 'connected' || m.type === 'error', 10_000);
      expect(first.type, JSON.stringify(first)).toBe('connected');
      expect(first.published.tracks).toMatchObject([{ id: 'track-1', state: 'ready' }]);
      h.ws.send(fill(msg(updateTemplate())));
      h.ws.send('not JSON');
      const err = await h.nextMsg((m) => m.type === 'error', 10_000);
      expect(err.message).toMatch(/not JSON/);
      h.terminate();
      await relayStillWorks('the controls');
    }

    for (const fc of cases) {
      const { h, identity, fill } = await hostile(fc.connected);
      const label = `${identity}: ${fc.label}`;
      const from = h.frames.length;
      // Sent one after another without waiting: a flood arrives as a flood.
      for (const f of fc.frames) h.ws.send(fill(f));

      // The answer: a Twilio error, `bad`, or at least the server closing the socket.
      const deadline = Date.now() + 10_000;
      const answer = () => h.frames.slice(from).find((f) => (f?.type === 'msg' && f.body?.type === 'error') || f?.type === 'bad');
      while (!answer() && !h.serverClosed && Date.now() < deadline) await sleep(10);
      const got = answer();
      const outcome = got?.type === 'bad' ? 'bad' : got ? `error ${got.body.code}` : h.serverClosed ? 'closed' : 'nothing';
      const key = `${fc.label.replace(/ = .*/, '')} → ${outcome}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      const e = fc.expect;
      if ('error' in e) {
        if (!got || got.type !== 'msg' || !e.error.includes(got.body.code)) {
          failures.push(`${label}: expected error ${e.error.join('/')}, got ${outcome}${got?.body?.message ? ` (${got.body.message})` : ''}`);
        }
        else if (!(await h.closedByServer(10_000))) failures.push(`${label}: error ${got.body.code} but the socket stayed open`);
      } else if ('bad' in e) {
        if (got?.type !== 'bad') failures.push(`${label}: expected bad, got ${outcome}`);
      } else if (!(await h.closedByServer(10_000))) failures.push(`${label}: expected the server to close the socket, got ${outcome}`);
      h.terminate();
      await relayStillWorks(label);
    }

    const summary = [...outcomes].sort().map(([k, v]) => `${v} × ${k}`);
    console.log(`frame fuzz (seed ${SEED}): ${cases.length} cases:\n  ${summary.join('\n  ')}`);
    expect(failures.slice(0, 20), `${failures.length} of ${cases.length} cases (seed ${SEED})`).toEqual([]);
    expect(violations.slice(0, 20), `${violations.length} violations (seed ${SEED})`).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
    // Every hostile participant is gone; the two well-behaved ones are still connected.
    const listed = await participants(atrium.url, room);
    expect(listed.map((p) => p.identity).sort()).toEqual(['alice', 'bob']);
    expect(wa.announced.size + wb.announced.size, 'hostile participants announced but never seen leaving').toBe(0);
  });
});

describe('token attacks at connect', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' };
  const payload = (identity: string, extra: Record<string, unknown> = {}) => ({
    jti: `${DEV_CREDENTIALS.apiKeySid}-${now()}`,
    grants: { identity, video: {} },
    iat: now(),
    exp: now() + 3600,
    iss: DEV_CREDENTIALS.apiKeySid,
    sub: DEV_CREDENTIALS.accountSid,
    ...extra,
  });
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  /** A token signed exactly as given (jose signs whatever header and payload bytes it is handed). */
  const sign = (h: Record<string, unknown>, p: Record<string, unknown>, secret: string = DEV_CREDENTIALS.apiKeySecret) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(p))).setProtectedHeader(h as { alg: string }).sign(new TextEncoder().encode(secret));

  const attacks: [string, number, (room: string) => Promise<string>][] = [
    ['not a JWT at all', 20101, async () => 'not.a-jwt'],
    ["alg 'none', unsigned", 20102, async () => `${b64({ ...header, alg: 'none' })}.${b64(payload('mallory'))}.`],
    ['signed with the wrong secret', 20107, async () => token('mallory', { apiKeySecret: 'not-the-secret' })],
    ["another account's key", 20103, async () => token('mallory', { accountSid: OTHER.accountSid, apiKeySid: OTHER.apiKeySid, apiKeySecret: OTHER.apiKeySecret })],
    ['expired', 20104, async () => token('mallory', { nowSeconds: now() - 7200, ttlSeconds: 3600 })],
    ['not yet valid', 20105, async () => sign(header, payload('mallory', { nbf: now() + 3600 }))],
    ['no grants', 20106, async () => sign(header, payload('mallory', { grants: undefined }))],
    ['no video grant', 20106, async () => sign(header, payload('mallory', { grants: { identity: 'mallory' } }))],
    ['a video grant for another room', 20106, async (room) => token('mallory', { room: `${room}-other` })],
  ];

  it.each(attacks)('refuses a token that is %s with %i, at connect and at ice', async (_what, code, make) => {
    const room = `tokens-${Date.now().toString(36)}`;
    const jwt = await make(room);
    const viaConnect = await SignalingClient.start(atrium.url, room, jwt);
    const viaIce = await SignalingClient.open(atrium.url, room);
    clients.push(viaConnect, viaIce);
    viaIce.send({ type: 'hello', id: 'h', timeout: 5000, version: 2, body: { type: 'ice', version: 1, edge: 'roaming', token: jwt } });
    for (const c of [viaConnect, viaIce]) {
      const err = await c.nextMsg((m) => m.type === 'error' || m.type === 'connected' || m.type === 'iced', 10_000);
      expect(err).toMatchObject({ type: 'error', code });
      expect(await c.closedByServer(10_000)).toBe(true);
    }
    // Nobody got in: connecting would have created the ad-hoc room.
    const res = await rest(atrium.url, 'GET', `/v1/Rooms?UniqueName=${room}&Status=in-progress`);
    expect(res.body.rooms).toEqual([]);
  });
});
