/**
 * The control API (src/control/http-server.ts, validate.ts) over real HTTP: signatures, routes,
 * body validation, limits, idempotency. Every refusal is a JSON `{code, message, status}`, and none
 * of them hurts the server: it answers normally after each group.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { signControlRequest } from '../../core/control-signature';
import { controlClient, startInProcessMediaServer, type InProcessMediaServer } from './support/control';

let server: InProcessMediaServer;

beforeAll(async () => {
  server = await startInProcessMediaServer();
});

afterAll(async () => {
  await server?.close();
});

/** The server still answers, signed and unsigned, after whatever the test threw at it. */
afterEach(async () => {
  const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5_000) });
  expect(health.status).toBe(200);
  const stats = await server.control.call('GET', '/v1/stats');
  expect(stats.status).toBe(200);
  expect(stats.body.boot).toBe(server.sfu.boot);
});

interface ErrorBody {
  code: number;
  message: string;
  status: number;
}

/** A request with exactly the given headers and body, signed or not. */
async function raw(method: string, path: string, init: { body?: string; authorization?: string } = {}): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(server.url + path, {
    method,
    headers: init.authorization ? { authorization: init.authorization, 'content-type': 'application/json' } : { 'content-type': 'application/json' },
    body: init.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: JSON.parse(text) };
}

/** A request whose body is signed as given (the body need not be JSON). */
async function signedText(method: string, path: string, body: string): Promise<{ status: number; body: any }> {
  return raw(method, path, { body, authorization: await signControlRequest(server.secret, method, path, body) });
}

function expectError(res: { status: number; body: any }, status: number, code: number, mentions?: RegExp): void {
  const body = res.body as ErrorBody;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body).toEqual({ code, message: expect.any(String), status });
  if (mentions) expect(body.message).toMatch(mentions);
}

const sessionPath = (id: string) => `/v1/sessions/${encodeURIComponent(id)}`;

describe('signatures', () => {
  const body = JSON.stringify({ room: 'RMsig', participant: 'PAsig', pc: 'pc-1' });

  test('a request without an Authorization header is refused with 401', async () => {
    const res = await raw('PUT', sessionPath('PAsig.1'), { body });
    expectError(res, 401, 20003, /missing Authorization/);
    expect(res.type).toBe('application/json');
  });

  test('a malformed Authorization header is refused', async () => {
    expectError(await raw('GET', '/v1/stats', { authorization: 'Bearer abc' }), 401, 20003, /Atrium-HMAC/);
    expectError(await raw('GET', '/v1/stats', { authorization: `Atrium-HMAC t=${Date.now()}, sig=xyz` }), 401, 20003);
  });

  test('a signature made with another secret is refused', async () => {
    const authorization = await signControlRequest('not-the-servers-secret-at-all', 'PUT', sessionPath('PAsig.1'), body);
    expectError(await raw('PUT', sessionPath('PAsig.1'), { body, authorization }), 401, 20003, /bad signature/);
  });

  test('a signature over another body, method or path is refused', async () => {
    const path = sessionPath('PAsig.1');
    const forOtherBody = await signControlRequest(server.secret, 'PUT', path, body.replace('pc-1', 'pc-2'));
    expectError(await raw('PUT', path, { body, authorization: forOtherBody }), 401, 20003, /bad signature/);
    const forOtherMethod = await signControlRequest(server.secret, 'POST', path, body);
    expectError(await raw('PUT', path, { body, authorization: forOtherMethod }), 401, 20003, /bad signature/);
    const forOtherPath = await signControlRequest(server.secret, 'PUT', sessionPath('PAsig.2'), body);
    expectError(await raw('PUT', path, { body, authorization: forOtherPath }), 401, 20003, /bad signature/);
  });

  test('an expired (or future) signature is refused', async () => {
    const path = sessionPath('PAsig.1');
    const old = await signControlRequest(server.secret, 'PUT', path, body, Date.now() - 6 * 60_000);
    expectError(await raw('PUT', path, { body, authorization: old }), 401, 20003, /too far/);
    const future = await signControlRequest(server.secret, 'PUT', path, body, Date.now() + 6 * 60_000);
    expectError(await raw('PUT', path, { body, authorization: future }), 401, 20003, /too far/);
  });

  test('nothing refused was done', async () => {
    const room = await server.control.call('GET', '/v1/rooms/RMsig');
    expect(room.body.sessions).toEqual([]);
  });

  test('GET /health needs no signature', async () => {
    const res = await raw('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', boot: server.sfu.boot });
  });

  test('a client with the right secret is accepted', async () => {
    const res = await controlClient(server.url, server.secret).call('GET', '/v1/stats');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ boot: server.sfu.boot, rooms: expect.any(Number), sessions: expect.any(Number) });
  });
});

describe('routes', () => {
  test('an unknown route is a signed 404 with a JSON body', async () => {
    for (const [method, path] of [
      ['GET', '/v2/sessions/x'],
      ['GET', '/'],
      ['GET', '/v1/nothing'],
      ['POST', '/v1/sessions/PAx.1/unknown'],
      ['GET', '/v1/sessions/PAx.1'],
      ['PATCH', '/v1/sessions/PAx.1'],
      ['PUT', '/v1/sessions/PAx.1/signal/extra'],
      ['POST', '/v1/rooms/RMx'],
      ['DELETE', '/v1/stats'],
    ] as const) {
      const res = await server.control.call(method, path);
      expectError(res, 404, 53000, /not found/);
    }
  });

  test('an unsigned request to an unknown route is refused before routing', async () => {
    expectError(await raw('GET', '/v1/nothing'), 401, 20003);
  });

  test('signal or subscriptions for a session that does not exist is a 404', async () => {
    expectError(await server.control.call('POST', `${sessionPath('PAnone.1')}/signal`, { entries: [] }), 404, 53000, /session PAnone\.1 not found/);
    expectError(await server.control.call('PUT', `${sessionPath('PAnone.1')}/subscriptions`, { tracks: [] }), 404, 53000, /not found/);
  });
});

describe('malformed requests', () => {
  const path = sessionPath('PAbad.1');

  beforeAll(async () => {
    const res = await server.control.call('PUT', path, { room: 'RMbad', participant: 'PAbad', pc: 'pc-bad' });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await server.control.call('DELETE', '/v1/rooms/RMbad');
  });

  test('a body that is not JSON is a 400', async () => {
    expectError(await signedText('PUT', path, '{"room": '), 400, 53004, /not JSON/);
    expectError(await signedText('POST', `${path}/signal`, 'entries=1'), 400, 53004, /not JSON/);
  });

  test('a session body with missing or wrongly typed fields names the field', async () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /body must be an object/],
      [[], /body must be an object/],
      ['text', /body must be an object/],
      [{ participant: 'PA1', pc: 'x' }, /^room /],
      [{ room: 5, participant: 'PA1', pc: 'x' }, /^room /],
      [{ room: 'RM1', participant: null, pc: 'x' }, /^participant /],
      [{ room: 'RM1', participant: 'PA1' }, /^pc /],
      [{ room: 'RM1', participant: 'PA1', pc: '' }, /^pc /],
      [{ room: 'RM1', participant: 'PA1', pc: 'x'.repeat(257) }, /^pc /],
      [{ room: 'RM 1', participant: 'PA1', pc: 'x' }, /^room /],
      [{ room: 'RM1', participant: 'P'.repeat(129), pc: 'x' }, /^participant /],
    ];
    for (const [body, mentions] of cases) {
      const res = await server.control.call('PUT', sessionPath('PAnew.1'), body);
      expectError(res, 400, 53004, mentions);
    }
    expect((await server.control.call('GET', '/v1/rooms/RM1')).body.sessions).toEqual([]);
  });

  test('a bad session or room id in the path is a 400', async () => {
    for (const id of ['a b', 'a/b', 'é', 'x'.repeat(129), 'semi;colon']) {
      expectError(await server.control.call('PUT', `/v1/sessions/${encodeURIComponent(id)}`, { room: 'RM1', participant: 'PA1', pc: 'x' }), 400, 53004, /^session id /);
    }
    expectError(await server.control.call('GET', `/v1/rooms/${encodeURIComponent('no spaces')}`), 400, 53004, /^room /);
    expectError(await server.control.call('DELETE', '/v1/rooms/%ZZ'), 400, 53004, /^room /);
  });

  test('a path that is not valid percent-encoding is a 400, not a server error', async () => {
    expectError(await server.control.call('POST', '/v1/sessions/%E0%A4%A/signal', { entries: [] }), 400, 53004, /^session id /);
    expectError(await server.control.call('GET', '/v1/rooms/%'), 400, 53004, /^room /);
  });

  test('signal entries with wrong types name the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^entries must be an array/],
      [{ entries: {} }, /^entries must be an array/],
      [{ entries: [5] }, /^entries\[0\] must be an object/],
      [{ entries: [{}] }, /^entries\[0\]\.id /],
      [{ entries: [{ id: 7 }] }, /^entries\[0\]\.id /],
      [{ entries: [{ id: 'pc-bad', description: 'offer' }] }, /^entries\[0\]\.description must be an object/],
      [{ entries: [{ id: 'pc-bad', description: { type: 'bogus', revision: 1 } }] }, /^entries\[0\]\.description\.type 'bogus' is unknown/],
      [{ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: -1, sdp: 'v=0' } }] }, /^entries\[0\]\.description\.revision /],
      [{ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: 1.5, sdp: 'v=0' } }] }, /^entries\[0\]\.description\.revision /],
      [{ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: '1', sdp: 'v=0' } }] }, /^entries\[0\]\.description\.revision /],
      [{ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: 1, sdp: 42 } }] }, /^entries\[0\]\.description\.sdp /],
      [{ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: 1, sdp: 'x'.repeat(256 * 1024 + 1) } }] }, /^entries\[0\]\.description\.sdp /],
      [{ entries: [{ id: 'pc-bad', ice: [] }] }, /^entries\[0\]\.ice must be an object/],
      [{ entries: [{ id: 'pc-bad', ice: { candidates: [] } }] }, /^entries\[0\]\.ice\.revision /],
      [{ entries: [{ id: 'pc-bad', ice: { revision: 1, candidates: 'a' } }] }, /^entries\[0\]\.ice\.candidates must be an array/],
      [{ entries: [{ id: 'pc-bad', ice: { revision: 1, candidates: [{ candidate: 5 }] } }] }, /^entries\[0\]\.ice\.candidates\[0\]\.candidate /],
      [{ entries: [{ id: 'pc-bad', ice: { revision: 1, candidates: [{ candidate: 'c', sdpMLineIndex: -2 }] } }] }, /^entries\[0\]\.ice\.candidates\[0\]\.sdpMLineIndex /],
      [{ entries: [{ id: 'pc-bad', ice: { revision: 1, candidates: Array(257).fill({ candidate: '' }) } }] }, /^entries\[0\]\.ice\.candidates has more than 256 entries/],
      [{ entries: [{ id: 'pc-bad' }, { id: 'pc-bad', description: { type: 'answer', revision: 'x', sdp: 'v=0' } }] }, /^entries\[1\]\.description\.revision /],
    ];
    for (const [body, mentions] of cases) {
      expectError(await server.control.call('POST', `${path}/signal`, body), 400, 53004, mentions);
    }
  });

  test('too many entries is a 400', async () => {
    const entries = Array.from({ length: 65 }, () => ({ id: 'pc-bad' }));
    expectError(await server.control.call('POST', `${path}/signal`, { entries }), 400, 53004, /^entries has more than 64 entries/);
    // 64 is fine (entries for another connection are ignored).
    const ok = await server.control.call('POST', `${path}/signal`, { entries: entries.slice(1) });
    expect(ok).toEqual({ status: 200, body: { entries: [] } });
  });

  test('an offer or answer without an sdp is a 400 with 53403', async () => {
    for (const type of ['offer', 'answer']) {
      expectError(await server.control.call('POST', `${path}/signal`, { entries: [{ id: 'pc-bad', description: { type, revision: 1 } }] }), 400, 53403, new RegExp(`^entries\\[0\\]\\.description of type ${type} needs an sdp`));
      expectError(await server.control.call('POST', `${path}/signal`, { entries: [{ id: 'pc-bad', description: { type, revision: 1, sdp: '' } }] }), 400, 53403, /needs an sdp/);
    }
  });

  test('subscription bodies with wrong types name the field', async () => {
    const track = { session: 'PAother.1', id: 'track-1', kind: 'video' };
    const cases: [unknown, RegExp][] = [
      [{}, /^tracks must be an array/],
      [{ tracks: [null] }, /^tracks\[0\] must be an object/],
      [{ tracks: [{ ...track, kind: 'screen' }] }, /^tracks\[0\]\.kind must be audio, video or data/],
      [{ tracks: [{ ...track, session: 'bad id' }] }, /^tracks\[0\]\.session /],
      [{ tracks: [{ ...track, id: '' }] }, /^tracks\[0\]\.id /],
      [{ tracks: [{ ...track, sid: 12 }] }, /^tracks\[0\]\.sid /],
      [{ tracks: [track, { ...track, kind: 'audio' }] }, /^tracks\[1\] repeats PAother\.1\/track-1/],
      [{ tracks: Array.from({ length: 513 }, (_, i) => ({ ...track, id: `t${i}` })) }, /^tracks has more than 512 entries/],
    ];
    for (const [body, mentions] of cases) {
      expectError(await server.control.call('PUT', `${path}/subscriptions`, body), 400, 53004, mentions);
    }
  });

  test('a body over 1 MB is a 413, whatever it holds, signed or not', async () => {
    const big = JSON.stringify({ entries: [{ id: 'pc-bad', description: { type: 'offer', revision: 1, sdp: `v=0\r\n${'a'.repeat(1024 * 1024)}` } }] });
    expectError(await signedText('POST', `${path}/signal`, big), 413, 53004, /over 1048576 bytes/);
    expectError(await raw('POST', `${path}/signal`, { body: big }), 413, 53004);
    expectError(await raw('PUT', path, { body: 'x'.repeat(3 * 1024 * 1024) }), 413, 53004);
  });

  test('the session is unharmed by all of it', async () => {
    const room = await server.control.call('GET', '/v1/rooms/RMbad');
    expect(room.body.sessions).toEqual([{ id: 'PAbad.1', pc: 'pc-bad', state: 'new' }]);
  });
});

describe('sessions and rooms', () => {
  afterAll(async () => {
    await server.control.call('DELETE', '/v1/rooms/RMidem');
    await server.control.call('DELETE', '/v1/rooms/RMother');
  });

  test('PUT session is idempotent, and a conflicting one is a 409', async () => {
    const body = { room: 'RMidem', participant: 'PAidem', pc: 'pc-idem' };
    const first = await server.control.call('PUT', sessionPath('PAidem.1'), body);
    expect(first).toEqual({ status: 200, body: { id: 'PAidem.1', pc: 'pc-idem', state: 'new' } });
    const again = await server.control.call('PUT', sessionPath('PAidem.1'), body);
    expect(again).toEqual(first);
    for (const conflicting of [
      { ...body, pc: 'pc-other' },
      { ...body, participant: 'PAother' },
      { ...body, room: 'RMother' },
    ]) {
      expectError(await server.control.call('PUT', sessionPath('PAidem.1'), conflicting), 409, 53000, /exists for another/);
    }
    // The conflicting requests changed nothing.
    expect((await server.control.call('GET', '/v1/rooms/RMidem')).body.sessions).toEqual([{ id: 'PAidem.1', pc: 'pc-idem', state: 'new' }]);
    expect((await server.control.call('GET', '/v1/rooms/RMother')).body.sessions).toEqual([]);
  });

  test('GET room lists its sessions with their state; an unknown room has none', async () => {
    await server.control.call('PUT', sessionPath('PAidem2.1'), { room: 'RMidem', participant: 'PAidem2', pc: 'pc-idem2' });
    const res = await server.control.call('GET', '/v1/rooms/RMidem');
    expect(res.status).toBe(200);
    expect(res.body.boot).toBe(server.sfu.boot);
    expect(res.body.sessions).toHaveLength(2);
    expect(res.body.sessions).toEqual(
      expect.arrayContaining([
        { id: 'PAidem.1', pc: 'pc-idem', state: 'new' },
        { id: 'PAidem2.1', pc: 'pc-idem2', state: 'new' },
      ]),
    );
    expect(await server.control.call('GET', '/v1/rooms/RMunknown')).toEqual({ status: 200, body: { boot: server.sfu.boot, sessions: [] } });
  });

  test('DELETE session is idempotent', async () => {
    expect(await server.control.call('DELETE', sessionPath('PAidem2.1'))).toEqual({ status: 200, body: { closed: true } });
    expect(await server.control.call('DELETE', sessionPath('PAidem2.1'))).toEqual({ status: 200, body: { closed: false } });
    expect(await server.control.call('DELETE', sessionPath('PAnever.1'))).toEqual({ status: 200, body: { closed: false } });
    expect((await server.control.call('GET', '/v1/rooms/RMidem')).body.sessions).toEqual([{ id: 'PAidem.1', pc: 'pc-idem', state: 'new' }]);
    // A closed session is gone: it may be opened again, for another connection even.
    const reopened = await server.control.call('PUT', sessionPath('PAidem2.1'), { room: 'RMidem', participant: 'PAidem2', pc: 'pc-new' });
    expect(reopened).toEqual({ status: 200, body: { id: 'PAidem2.1', pc: 'pc-new', state: 'new' } });
  });

  test('DELETE room closes its sessions and is idempotent', async () => {
    expect(await server.control.call('DELETE', '/v1/rooms/RMidem')).toEqual({ status: 200, body: { closed: 2 } });
    expect(await server.control.call('DELETE', '/v1/rooms/RMidem')).toEqual({ status: 200, body: { closed: 0 } });
    expect(await server.control.call('DELETE', '/v1/rooms/RMnever')).toEqual({ status: 200, body: { closed: 0 } });
    expect((await server.control.call('GET', '/v1/rooms/RMidem')).body.sessions).toEqual([]);
    expectError(await server.control.call('POST', `${sessionPath('PAidem.1')}/signal`, { entries: [] }), 404, 53000);
  });

  test('stats count what happened', async () => {
    const stats = await server.control.call('GET', '/v1/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.sessionsOpened).toBeGreaterThanOrEqual(4);
    expect(stats.body.sessionsClosed).toBeGreaterThanOrEqual(3);
    expect(stats.body).toMatchObject({ cpuMicros: expect.any(Number), rss: expect.any(Number), detail: expect.any(Array) });
  });
});
