import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../core/config-error';
import { DEFAULT_RETENTION_DAYS, RETENTION_PREFIX, retentionMs, roomRetentionMs } from '../durable-objects/room/retention';
import { api, createRoom, uniqueName } from './support/rest';
import { deadlines, fireDeadline, insideRoomObject, roomObject, storedState } from './support/room-object';
import { SWEEP } from '../durable-objects/room/signaling/signaling';
import { SignalingClient, audioTrack, connectMessage, token } from './support/signaling-client';
import { adHocRoomSpec, BUILT_IN_DEFAULTS } from '../core/room-params';
import { newSid } from '../core/sids';

/** Nothing listens on the discard port of loopback: every callback attempt there is refused and retried. */
const REFUSING_URL = 'http://127.0.0.1:9/status';
const DAY_MS = 86_400_000;
const ACCOUNT = 'AC00000000000000000000000000000001';

const catalog = () => env.CATALOG.get(env.CATALOG.idFromName(ACCOUNT));

afterEach(() => {
  vi.restoreAllMocks();
});

/** Rows the Room object of `name` keeps for `roomSid`, table by table (a missing table counts 0). */
function rowsOf(name: string, roomSid: string) {
  return insideRoomObject(roomObject(name), (_i, state) => {
    const sql = state.storage.sql;
    const tables = new Set(sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((r) => r.name));
    const count = (table: string, where: string, ...args: unknown[]) =>
      tables.has(table) ? sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, ...args).one().n : 0;
    return {
      rooms: count('rooms', 'sid = ?', roomSid),
      participants: count('participants', 'room_sid = ?', roomSid),
      pairs: count('pairs', 'room_sid = ?', roomSid),
      callbacks: count('callback_outbox', 'room_sid = ?', roomSid),
      sequences: count('callback_sequences', 'room_sid = ?', roomSid),
      mediaSessions: count('media_sessions', 'room_sid = ?', roomSid),
      mediaRooms: count('media_rooms', 'room_sid = ?', roomSid),
      deadlines: count('deadlines', 'key = ?', RETENTION_PREFIX + roomSid),
      account: count('meta', "key = 'account'"),
    };
  });
}

/** Two participants of a peer-to-peer room, with the pair between them negotiated (offer, answer, ICE). */
async function pairUp(name: string, tokens?: { alice: string; bob: string }) {
  const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack()], token: tokens?.alice });
  const bob = await SignalingClient.join(name, 'bob', { tracks: [audioTrack()], token: tokens?.bob });
  const told = await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.some((pc: any) => pc.description?.type === 'create-offer'));
  const pcId: string = told.peer_connections.find((pc: any) => pc.description?.type === 'create-offer').id;
  const offer = { id: pcId, description: { type: 'offer', revision: 1, sdp: 'v=0\r\no=alice\r\n' }, ice: { revision: 1, candidates: [{ candidate: 'candidate:a' }] } };
  alice.msg({ type: 'update', version: 2, session: alice.connected.session, peer_connections: [offer] });
  await bob.nextMsg((m) => m.type === 'update' && m.peer_connections?.some((pc: any) => pc.id === pcId));
  const answer = { id: pcId, description: { type: 'answer', revision: 1, sdp: 'v=0\r\no=bob\r\n' } };
  bob.msg({ type: 'update', version: 2, session: bob.connected.session, peer_connections: [answer] });
  await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.some((pc: any) => pc.id === pcId && pc.description?.type === 'answer'));
  return { alice, bob, pcId };
}

describe('a closed pair', () => {
  it('keeps no description or ICE once closed, and the room ending deletes its pairs', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const name = room.unique_name;
    const { alice, bob, pcId } = await pairUp(name);
    const pair = () =>
      insideRoomObject(roomObject(name), (_i, state) => state.storage.sql.exec('SELECT closed, desc_a, desc_b, ice_a, ice_b FROM pairs WHERE id = ?', pcId).toArray()[0]);
    expect(await pair()).toMatchObject({ closed: 0, desc_a: expect.stringContaining('offer'), desc_b: expect.stringContaining('answer') });

    bob.msg({ type: 'disconnect', version: 2 });
    await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.some((pc: any) => pc.id === pcId && pc.description?.type === 'close'));
    // Kept as a marker, so late ICE from alice on it is ignored rather than refused.
    expect(await pair()).toEqual({ closed: 1, desc_a: null, desc_b: null, ice_a: null, ice_b: null });
    alice.msg({ type: 'update', version: 2, session: alice.connected.session, peer_connections: [{ id: pcId, ice: { revision: 2, candidates: [] } }] });

    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    await alice.waitClosed();
    expect(alice.messages.some((m) => m.type === 'error')).toBe(false);
    expect((await rowsOf(name, room.sid)).pairs).toBe(0);
  });
});

describe('retention', () => {
  it('reads ROOM_RETENTION_DAYS: 30 days by default, 0 or more days, decimals allowed', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(DEFAULT_RETENTION_DAYS).toBe(30);
    expect(retentionMs({})).toBe(30 * DAY_MS);
    expect(retentionMs({ ROOM_RETENTION_DAYS: '' })).toBe(30 * DAY_MS);
    expect(retentionMs({ ROOM_RETENTION_DAYS: '0' })).toBe(0);
    expect(retentionMs({ ROOM_RETENTION_DAYS: '0.5' })).toBe(DAY_MS / 2);
    expect(retentionMs({ ROOM_RETENTION_DAYS: '90' })).toBe(90 * DAY_MS);
    for (const bad of ['-1', 'soon', '1e3', '30 days']) {
      expect(() => roomRetentionMs({ ROOM_RETENTION_DAYS: bad })).toThrow(ConfigError);
      expect(retentionMs({ ROOM_RETENTION_DAYS: bad })).toBe(30 * DAY_MS);
    }
    expect(String(error.mock.calls[0]?.[0])).toMatch(/"event":"config-invalid".*ROOM_RETENTION_DAYS/);
  });

  it('purges a completed room after the retention: its rows, its callbacks, its catalog row; REST then says 20404', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const room = (await createRoom({ Type: 'peer-to-peer', StatusCallback: REFUSING_URL })).body;
    const name = room.unique_name;
    const { alice } = await pairUp(name);
    const participant = alice.connected.participant.sid;
    const completed = (await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' })).body;
    await alice.waitClosed();

    const due = await insideRoomObject(roomObject(name), (i) => i.scheduler.get(RETENTION_PREFIX + room.sid));
    // end_time is rendered in whole seconds.
    expect(due! - 30 * DAY_MS - Date.parse(completed.end_time)).toBeGreaterThanOrEqual(0);
    expect(due! - 30 * DAY_MS - Date.parse(completed.end_time)).toBeLessThan(1000);
    expect(await rowsOf(name, room.sid)).toMatchObject({ rooms: 1, participants: 2, pairs: 0, sequences: 1, deadlines: 1 });
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).status).toBe(200);
    expect((await api('GET', `/v1/Rooms/${room.sid}/Participants/${participant}`)).status).toBe(200);

    await fireDeadline(roomObject(name), RETENTION_PREFIX + room.sid);
    expect(await rowsOf(name, room.sid)).toEqual({
      rooms: 0,
      participants: 0,
      pairs: 0,
      callbacks: 0,
      sequences: 0,
      mediaSessions: 0,
      mediaRooms: 0,
      deadlines: 0,
      // The object keeps the account it belongs to: it addresses the account's catalog.
      account: 1,
    });
    expect(await catalog().get(room.sid)).toBeNull();
    for (const path of [`/v1/Rooms/${room.sid}`, `/v1/Rooms/${room.sid}/Participants`, `/v1/Rooms/${room.sid}/Participants/${participant}`]) {
      const res = await api('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(20404);
    }
    const listed = await api('GET', `/v1/Rooms?Status=completed&UniqueName=${encodeURIComponent(name)}`);
    expect(listed.body.rooms).toEqual([]);
    // The name hosts new rooms as before.
    expect((await createRoom({ UniqueName: name })).status).toBe(201);
  });

  it('gives a purge deadline, at the next room of the name, to completed rooms that ended without one', async () => {
    const name = uniqueName('older');
    const older = (await createRoom({ UniqueName: name })).body;
    await api('POST', `/v1/Rooms/${older.sid}`, { Status: 'completed' });
    const stub = roomObject(name);
    // As a room completed before retention existed: no purge deadline.
    await insideRoomObject(stub, (i) => i.scheduler.clear(RETENTION_PREFIX + older.sid));
    expect(await rowsOf(name, older.sid)).toMatchObject({ rooms: 1, deadlines: 0 });

    await createRoom({ UniqueName: name });
    const due = await insideRoomObject(stub, (i) => i.scheduler.get(RETENTION_PREFIX + older.sid));
    expect(due).toBeGreaterThan(Date.now() + 29 * DAY_MS);
    await fireDeadline(stub, RETENTION_PREFIX + older.sid);
    expect((await rowsOf(name, older.sid)).rooms).toBe(0);
  });

  it('never purges the room in progress', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    // Set in the future, then made due by fireDeadline: a deadline set in the past would have the
    // runtime fire the alarm by itself, racing the test's own run.
    await insideRoomObject(stub, (i) => i.scheduler.set(RETENTION_PREFIX + room.sid, Date.now() + 60_000));
    await fireDeadline(stub, RETENTION_PREFIX + room.sid);
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('in-progress');
    expect((await rowsOf(room.unique_name, room.sid)).rooms).toBe(1);
  });

  it('keeps the storage of a name flat over 1,000 sessions: participants, pairs and callbacks included', { timeout: 240_000 }, async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const name = uniqueName('flat');
    const stub = roomObject(name);
    const tokens = { alice: await token('alice', name), bob: await token('bob', name) };
    const sizes: Record<number, { room: number; catalog: number }> = {};
    const started = Date.now();
    let sessions = 0;
    for (const until of [10, 100, 500, 1000]) {
      // A batch of sessions inside the object: the REST calls' RPCs and the signaling's frames as
      // the runtime hands them in (webSocketMessage), on sockets the object accepts itself. Through
      // the Worker each session costs several times more, and the test would take minutes.
      sessions = await insideRoomObject(stub, (instance, state) => runSessions(instance, state, name, tokens, sessions, until));
      sizes[until] = {
        room: (await storedState(stub)).databaseSize,
        catalog: await insideRoomObject(catalog() as any, (_i, state) => state.storage.sql.databaseSize),
      };
    }
    console.info(`1,000 sessions of one name in ${Date.now() - started} ms; SQLite sizes in bytes after sessions 10, 100, 500, 1000: ${JSON.stringify(sizes)}`);
    // Flat: what a session stores is gone once its retention has passed, and SQLite reuses the pages.
    expect(sizes[1000]!.room).toBeLessThanOrEqual(sizes[10]!.room * 1.1);
    expect(sizes[1000]!.catalog).toBeLessThanOrEqual(sizes[10]!.catalog * 1.1);
    // Nothing of any session is left: no row in any table but the object's account, and no deadline.
    const left = await insideRoomObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'").toArray();
      return Object.fromEntries(tables.map(({ name: t }) => [t, sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n]).filter(([, n]) => n !== 0));
    });
    expect(left).toMatchObject({ meta: 1 });
    expect(Object.keys(left).filter((t) => t !== 'meta' && t !== 'deadlines')).toEqual([]);
    // The dead-socket sweep may still be due once (it stops when it finds no socket).
    expect(Object.keys(await deadlines(stub)).filter((k) => k !== SWEEP)).toEqual([]);
    const listed = await api('GET', `/v1/Rooms?Status=completed&UniqueName=${encodeURIComponent(name)}`);
    expect(listed.body.rooms).toEqual([]);
  });
});

/**
 * Runs sessions `done + 1` … `until` of the name, inside its Room object: a room created as REST
 * does (peer-to-peer, a StatusCallback), alice and bob connecting over signaling, alice offering
 * with ICE on their pair, the room completed (by REST, or by both leaving), and the room's alarm
 * run once its retention has passed. Status callbacks go through the outbox as usual; its sender is
 * replaced by one that answers at once (delivered, or a refused connection retried), since a real
 * refused connection per attempt would flood the log.
 */
async function runSessions(instance: any, state: DurableObjectState, name: string, tokens: { alice: string; bob: string }, done: number, until: number) {
  let attempts = 0;
  instance.outbox.send = async () => {
    if (attempts++ % 2) return new Response(null, { status: 204 });
    throw new TypeError('connect(): Connection refused');
  };
  const socket = (): WebSocket => {
    const [, server] = Object.values(new WebSocketPair());
    const now = Date.now();
    instance.sockets.accept(server, { conn: crypto.randomUUID(), accountSid: ACCOUNT, roomName: name, phase: 'open', negotiatedTimeout: 5000, participantSid: null, identity: null, openedAt: now, lastSeen: now });
    return server!;
  };
  const frame = (ws: WebSocket, f: unknown) => instance.webSocketMessage(ws, JSON.stringify(f));
  const hello = (jwt: string) => ({ type: 'hello', id: crypto.randomUUID(), timeout: 5000, version: 2, body: connectMessage(name, jwt, { tracks: [audioTrack()] }) });
  for (let session = done + 1; session <= until; session++) {
    // Let the isolate's other objects run between sessions: a batch is otherwise one long turn of
    // the event loop, and tests of other files sharing this isolate would stall behind it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const defaults = { ...BUILT_IN_DEFAULTS, type: 'peer-to-peer' as const, statusCallback: REFUSING_URL, emptyRoomTimeout: 0 };
    const created = await instance.create({ ...adHocRoomSpec(ACCOUNT, newSid('RM'), name, defaults), adHoc: false, unusedRoomTimeout: 5 });
    if (!created.ok) throw new Error(`session ${session}: ${JSON.stringify(created)}`);
    const sid: string = created.value.sid;
    const alice = socket();
    const bob = socket();
    await frame(alice, hello(tokens.alice));
    await frame(bob, hello(tokens.bob));
    const [a, b] = instance.participants.present(sid);
    if (!a || !b) throw new Error(`session ${session}: alice and bob did not both join`);
    const pc = state.storage.sql.exec<{ id: string }>('SELECT id FROM pairs WHERE room_sid = ? AND closed = 0 AND a != b', sid).one().id;
    const offer = { id: pc, description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' }, ice: { revision: 1, candidates: [{ candidate: 'candidate:1' }] } };
    await frame(alice, { type: 'msg', body: { type: 'update', version: 2, session: a.session, peer_connections: [offer] } });
    if (session % 2) {
      await instance.complete(sid);
    } else {
      await frame(alice, { type: 'msg', body: { type: 'disconnect', version: 2 } });
      await frame(bob, { type: 'msg', body: { type: 'disconnect', version: 2 } });
    }
    if (instance.store.get(sid)?.status !== 'completed') throw new Error(`session ${session}: the room did not complete`);
    // Its retention has passed: the room's own alarm purges it.
    state.storage.sql.exec('UPDATE deadlines SET at = ? WHERE key = ?', Date.now() - 1, RETENTION_PREFIX + sid);
    await instance.alarm();
    if (instance.store.get(sid)) throw new Error(`session ${session}: the room was not purged`);
  }
  return until;
}
