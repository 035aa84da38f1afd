import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { roomStub } from '../durable-objects/addresses';
import { uniqueName } from './support/rest';
import type { StoredState } from './support/room-object';
import { insideRoomObject, roomObject, storedState } from './support/room-object';
import { SignalingClient, connectMessage, expiredToken, token } from './support/signaling-client';

/**
 * Nothing stored for strangers: a socket that opens, sends garbage or a bad token, or idles past
 * the handshake deadline leaves the Room object of the name it picked exactly as a never-touched
 * object: the same SQLite size, no table, no alarm, no key. Only a verified `connect` creates state.
 */

const SECOND_ACCOUNT = 'AC00000000000000000000000000000002';

let untouched: StoredState;
beforeAll(async () => {
  untouched = await storedState(roomObject(uniqueName('never-touched')));
  expect(untouched).toMatchObject({ schema: [], alarm: null, kv: [] });
});

const hello = (body?: unknown) => ({ type: 'hello', id: crypto.randomUUID(), timeout: 5000, version: 2, ...(body ? { body } : {}) });

async function expectNothingStored(stub: DurableObjectStub | ReturnType<typeof roomObject>): Promise<void> {
  // The object may still be handling the socket's close; wait until it holds no socket.
  for (let i = 0; ; i++) {
    const open = await insideRoomObject(stub as ReturnType<typeof roomObject>, (_i, state) => state.getWebSockets().length);
    if (open === 0) break;
    if (i > 100) throw new Error(`the object still holds ${open} socket(s)`);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await storedState(stub)).toEqual(untouched);
}

/** Sends `frames` on a new socket to `room`, waits for the server to close it, and checks it stored nothing. */
async function hostile(room: string, frames: (string | object | Uint8Array)[], expectCode?: number): Promise<SignalingClient> {
  const c = await SignalingClient.open(room);
  for (const f of frames) {
    if (f instanceof Uint8Array) c.ws.send(f);
    else c.send(f);
  }
  if (expectCode !== undefined) expect((await c.nextMsg((m) => m.type === 'error')).code).toBe(expectCode);
  await c.waitClosed();
  await expectNothingStored(roomObject(room));
  return c;
}

describe('sockets that never present a valid token store nothing', () => {
  it('a socket that opens and closes without a word', async () => {
    const room = uniqueName('mute');
    const c = await SignalingClient.open(room);
    c.close();
    await expectNothingStored(roomObject(room));
  });

  it.each([
    ['not JSON', ['{"type":"msg",'], 53004],
    ['a binary frame', [new Uint8Array([1, 2, 3])], 53004],
    ['a JSON array', ['[1,2,3]'], 53004],
    ['an unknown frame type', [{ type: 'shout' }], 53004],
    ['a frame over 256 KiB', [{ type: 'hello', pad: 'x'.repeat(300 * 1024) }], 53004],
    ['an update before connect', [hello(), { type: 'msg', body: { type: 'update', version: 2, peer_connections: [] } }], 53004],
    ['a disconnect before connect', [hello({ type: 'disconnect', version: 2 })], undefined],
    ['a flood of heartbeats that are not byte-exact', Array.from({ length: 600 }, (_, i) => `{"type":"heartbeat","n":${i}}`), 53004],
  ] as [string, (string | object | Uint8Array)[], number | undefined][])('garbage: %s', async (_label, frames, code) => {
    await hostile(uniqueName('garbage'), frames, code);
  });

  it('a msg before hello (answered bad), then a bye', async () => {
    const room = uniqueName('bad');
    const c = await SignalingClient.open(room);
    c.msg({ type: 'update', peer_connections: [] });
    await c.next((f) => f.type === 'bad');
    c.send({ type: 'bye' });
    await c.waitClosed();
    await expectNothingStored(roomObject(room));
  });

  it.each([
    ['not a JWT', async () => 'garbage', 20101],
    ['a header that is not JSON', async () => 'not.a.jwt', 20102],
    ['a wrong signature', async (room: string) => token('eve', room, { apiKeySecret: 'not-the-secret' }), 20107],
    ['an expired token', (room: string) => expiredToken(room), 20104],
    ['a token for another room', async () => token('eve', 'another-room'), 20106],
  ] as [string, (room: string) => Promise<string>, number][])('connect with %s', async (_label, make, code) => {
    const room = uniqueName('tok');
    await hostile(room, [hello(connectMessage(room, await make(room)))], code);
  });

  it.each([
    ['not a JWT', async () => 'garbage', 20101],
    ['a wrong signature', async (room: string) => token('eve', room, { apiKeySecret: 'not-the-secret' }), 20107],
    ['an expired token', (room: string) => expiredToken(room), 20104],
    ['a token for another room', async () => token('eve', 'another-room'), 20106],
  ] as [string, (room: string) => Promise<string>, number][])('ice, and sync, with %s', async (_label, make, code) => {
    const room = uniqueName('tok');
    await hostile(room, [hello({ type: 'ice', version: 1, edge: 'roaming', token: await make(room) })], code);
    const sync = { type: 'sync', version: 2, session: crypto.randomUUID(), token: await make(room), peer_connections: [] };
    await hostile(room, [hello(sync)], code);
  });

  it('a connect naming another room than the URL, even with a valid token', async () => {
    const room = uniqueName('url');
    await hostile(room, [hello(connectMessage('another-room', await token('eve')))], 53104);
  });

  it('a valid token without a connect: iced, and a sync for an unknown session', async () => {
    const room = uniqueName('iced');
    const c = await SignalingClient.open(room);
    c.send(hello({ type: 'ice', version: 1, edge: 'roaming', token: await token('ivy', room) }));
    await c.nextMsg((m) => m.type === 'iced');
    c.close();
    await expectNothingStored(roomObject(room));
    const sync = { type: 'sync', version: 2, session: crypto.randomUUID(), token: await token('ivy', room), peer_connections: [] };
    await hostile(room, [hello(sync)], 53002);
  });

  it("another account's room with this account's token", async () => {
    const room = uniqueName('acct');
    const c = await SignalingClient.open(room, `?AccountSid=${SECOND_ACCOUNT}`);
    c.send(hello(connectMessage(room, await token('eve', room))));
    expect((await c.nextMsg((m) => m.type === 'error')).code).toBe(20103);
    await c.waitClosed();
    await expectNothingStored(roomStub(env, SECOND_ACCOUNT, room));
  });

  it('sockets left idle past the handshake deadline are closed by the object, with or without hello', async () => {
    const room = uniqueName('idle');
    const stub = roomObject(room);
    await insideRoomObject(stub, (instance) => {
      instance.signaling.handshakes.deadlineMs = 300;
    });
    const silent = await SignalingClient.open(room);
    const greeted = await SignalingClient.open(room);
    greeted.send(hello());
    await greeted.next((f) => f.type === 'welcome');
    const started = Date.now();
    expect(await silent.waitClosed(3000)).toEqual({ code: 3000, reason: 'no connect before the handshake deadline' });
    expect(await greeted.waitClosed(3000)).toMatchObject({ code: 3000 });
    expect(Date.now() - started).toBeLessThan(2000);
    await expectNothingStored(stub);
  });

  it('refuses sockets over the limit of those without a participant, with busy and a reason', async () => {
    const room = uniqueName('many');
    const stub = roomObject(room);
    await insideRoomObject(stub, (instance) => {
      instance.signaling.handshakes.limit = 3;
    });
    const waiting = await Promise.all([1, 2, 3].map(() => SignalingClient.open(room)));
    const refused = await SignalingClient.open(room);
    expect(await refused.waitClosed()).toEqual({ code: 3006, reason: 'too many connections waiting to join this room; retry later' });
    expect(refused.frames).toEqual([{ type: 'busy', retryAfter: 2000, keepAlive: false }]);
    for (const c of waiting) expect(c.closed).toBeNull();
    // One that leaves frees its place.
    waiting[0]!.close();
    await waiting[0]!.waitClosed();
    for (let i = 0; i < 100; i++) {
      if ((await insideRoomObject(stub, (_i, state) => state.getWebSockets().length)) === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const admitted = await SignalingClient.open(room);
    admitted.send(hello());
    await admitted.next((f) => f.type === 'welcome');
    for (const c of [...waiting, admitted]) c.close();
    await expectNothingStored(stub);
  });

  it('counts only sockets without a participant towards that limit', async () => {
    const room = uniqueName('bound');
    const stub = roomObject(room);
    await insideRoomObject(stub, (instance) => {
      instance.signaling.handshakes.limit = 1;
    });
    const alice = await SignalingClient.join(room, 'alice');
    expect(alice.connected).toBeTruthy();
    const bob = await SignalingClient.join(room, 'bob');
    expect(bob.connected).toBeTruthy();
  });

  it('keeps no timer once no socket waits for its handshake (the object may hibernate)', async () => {
    const room = uniqueName('timer');
    const stub = roomObject(room);
    const pending = await SignalingClient.open(room);
    expect(await insideRoomObject(stub, (instance) => instance.signaling.handshakes.timer !== null)).toBe(true);
    const alice = await SignalingClient.join(room, 'alice');
    expect(alice.connected).toBeTruthy();
    // The first socket still waits: the timer stays.
    expect(await insideRoomObject(stub, (instance) => instance.signaling.handshakes.timer !== null)).toBe(true);
    pending.close();
    await pending.waitClosed();
    const bob = await SignalingClient.join(room, 'bob');
    expect(bob.connected).toBeTruthy();
    expect(await insideRoomObject(stub, (instance) => instance.signaling.handshakes.timer)).toBeNull();
  });
});

describe('a verified connect', () => {
  it('creates the room, its participant and its deadlines', async () => {
    const room = uniqueName('real');
    const alice = await SignalingClient.join(room, 'alice');
    expect(alice.connected.participant.identity).toBe('alice');
    const stored = await storedState(roomObject(room));
    expect(stored.databaseSize).toBeGreaterThan(untouched.databaseSize);
    expect(stored.schema).toEqual(expect.arrayContaining(['rooms', 'participants', 'deadlines']));
    expect(stored.alarm).toEqual(expect.any(Number));
  });
});
