/// <reference types="node" />
/**
 * The local runtime restarts (the whole `wrangler dev` process group is killed and started again
 * on the same storage) in the middle of a room: participants connected and reconnecting, status
 * callbacks queued for a receiver that is down, deadlines pending. Everything that was committed
 * must carry on afterwards as if the server had only paused.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type AtriumServer, DEV_CREDENTIALS, freePort, startAtrium } from '../node/support/atrium-server';
import { type CallbackReceiver, type ReceivedCallback, startReceiver } from '../node/support/callback-receiver';
import { participants, rest } from './support/rest';
import { iceUpdate, type Json, SignalingClient, sleep, token } from '../node/support/signaling-client';

/** Short enough to watch a reconnect window expire in the test; the production default is 30 s. */
const SESSION_TIMEOUT_S = 25;
/** Callbacks retry from 100 ms, doubling, so the queue is retried several times while the receiver is down. */
const RETRY_BASE_MS = 100;

let atrium: AtriumServer;
let receiver: CallbackReceiver | undefined;
const clients: SignalingClient[] = [];

beforeAll(async () => {
  atrium = await startAtrium({ vars: { SESSION_TIMEOUT_SECONDS: String(SESSION_TIMEOUT_S), CALLBACK_RETRY_BASE_MS: String(RETRY_BASE_MS) } });
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await receiver?.close();
  await atrium?.stop();
});

const ofRoom = (sid: string) => (r: ReceivedCallback) => r.params.RoomSid === sid;

/** Each event of a room delivered, by sequence number, in order of first arrival: 0, 1, 2, … with no gap. */
function firstArrivals(received: ReceivedCallback[], roomSid: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of received.filter(ofRoom(roomSid))) {
    if (seen.has(r.params.SequenceNumber!)) continue;
    seen.add(r.params.SequenceNumber!);
    out.push(`#${r.params.SequenceNumber} ${r.params.StatusCallbackEvent} ${r.params.ParticipantIdentity ?? ''}`.trimEnd());
  }
  return out;
}

/** Waits (bounded) until `check` returns a value; says what it waited for otherwise. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(250);
  }
}

async function room(sidOrName: string): Promise<Json> {
  const res = await rest(atrium.url, 'GET', `/v1/Rooms/${encodeURIComponent(sidOrName)}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe('restart in the middle of a room', () => {
  it('keeps rooms, participants, deadlines and queued callbacks; clients resume with sync', { timeout: 150_000 }, async () => {
    onTestFailed(() => console.error(`wrangler output (tail):\n${atrium.output().slice(-6000)}`));
    // The receiver's port is chosen now but nothing listens there until after the restart, so
    // every callback of both rooms fails (connection refused) and stays queued.
    const port = await freePort();
    const hook = `http://127.0.0.1:${port}/status`;
    const tag = Date.now().toString(36);

    // A REST room nobody joins: its unused-room deadline (1 minute, the minimum) is pending
    // across the restart and must still end it afterwards, not earlier.
    const idle = await rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: `idle-${tag}`, UnusedRoomTimeout: '1', StatusCallback: hook });
    expect(idle.status, idle.text).toBe(201);

    const name = `restart-${tag}`;
    const created = await rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: name, StatusCallback: hook, EmptyRoomTimeout: '1' });
    expect(created.status, created.text).toBe(201);
    const roomSid = created.body.sid as string;

    // alice and bob stay connected through the restart; carol drops before it (reconnecting, with
    // her reconnect deadline pending); dave is connected at the restart and never comes back.
    const alice = await SignalingClient.join(atrium.url, name, 'alice');
    const bob = await SignalingClient.join(atrium.url, name, 'bob');
    const carol = await SignalingClient.join(atrium.url, name, 'carol');
    const dave = await SignalingClient.join(atrium.url, name, 'dave');
    clients.push(alice, bob, carol, dave);
    for (const c of [alice, bob, carol, dave]) c.startHeartbeats();

    // The alice–bob pair: alice is told to offer when bob arrives; she does, bob answers.
    const createOffer = await alice.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.identity === 'bob');
    const pairId = createOffer.peer_connections[0].id as string;
    expect(createOffer.peer_connections[0].description.type).toBe('create-offer');
    alice.msg({ type: 'update', version: 2, session: alice.connected.session, peer_connections: [{ id: pairId, description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' } }] });
    await bob.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.id === pairId);
    bob.msg({ type: 'update', version: 2, session: bob.connected.session, peer_connections: [{ id: pairId, description: { type: 'answer', revision: 1, sdp: 'v=0\r\n' } }] });
    await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.description?.type === 'answer');

    carol.terminate();
    const carolDroppedAt = Date.now();
    await alice.nextMsg((m) => m.type === 'update' && m.participants?.some((p: Json) => p.identity === 'carol' && p.state === 'reconnecting'));

    await atrium.restart();
    const restartedAt = Date.now();
    // The runtime went away under the sockets: every client's connection is gone.
    for (const c of [alice, bob, dave]) expect(await c.closedByServer(15_000)).toBe(true);

    // The rooms and every participant are still there over REST (REST shows a reconnecting
    // participant as connected: it keeps its place).
    expect(await room(name)).toMatchObject({ sid: roomSid, status: 'in-progress' });
    expect((await room(idle.body.sid)).status).toBe('in-progress');
    expect((await participants(atrium.url, roomSid)).map((p) => p.identity).sort()).toEqual(['alice', 'bob', 'carol', 'dave']);

    // alice and bob resume their sessions with sync on new sockets.
    const alice2 = await SignalingClient.resume(atrium.url, name, alice.connected.session, await token('alice'));
    const bob2 = await SignalingClient.resume(atrium.url, name, bob.connected.session, await token('bob', { room: name }));
    clients.push(alice2, bob2);
    // Heartbeat like the real client: the waits below can outlast the dead-socket sweep's window.
    alice2.startHeartbeats();
    bob2.startHeartbeats();
    const aliceSynced = await alice2.nextMsg((m) => m.type === 'synced' || m.type === 'error', 10_000);
    const bobSynced = await bob2.nextMsg((m) => m.type === 'synced' || m.type === 'error', 10_000);
    expect(aliceSynced).toMatchObject({ type: 'synced', sid: roomSid, participant: { sid: alice.connected.participant.sid, identity: 'alice' } });
    expect(bobSynced).toMatchObject({ type: 'synced', sid: roomSid, participant: { sid: bob.connected.participant.sid, identity: 'bob' } });
    // Both still hold their pair, with what the other sent on it.
    expect(aliceSynced.peer_connections.find((e: Json) => e.id === pairId)?.description?.type).toBe('answer');
    expect(bobSynced.peer_connections.find((e: Json) => e.id === pairId)?.description?.type).toBe('offer');
    expect(aliceSynced.participants.find((p: Json) => p.identity === 'carol')?.state).toBe('reconnecting');
    // And the relay works after the restart, both ways.
    alice2.msg(iceUpdate(aliceSynced.session, pairId, 'alice', 1));
    const toBob = await bob2.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.ice);
    expect(toBob.peer_connections[0]).toMatchObject({ id: pairId, ice: { revision: 1, candidates: [{ candidate: 'candidate:alice 1' }] } });
    bob2.msg(iceUpdate(bobSynced.session, pairId, 'bob', 1));
    const toAlice = await alice2.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.ice);
    expect(toAlice.peer_connections[0]).toMatchObject({ id: pairId, ice: { candidates: [{ candidate: 'candidate:bob 1' }] } });

    // The receiver comes up: everything queued before the restart is delivered, in order.
    receiver = await startReceiver(port);
    const rx = receiver;
    await rx.waitFor(ofRoom(roomSid), 5, 60_000);
    expect(firstArrivals(rx.received, roomSid).slice(0, 5)).toEqual([
      '#0 room-created',
      '#1 participant-connected alice',
      '#2 participant-connected bob',
      '#3 participant-connected carol',
      '#4 participant-connected dave',
    ]);
    await rx.waitFor(ofRoom(idle.body.sid), 1, 60_000);

    // carol's reconnect window, set before the restart, still ends her session, at its time.
    const carolGone = (await rx.waitFor((r) => ofRoom(roomSid)(r) && r.params.StatusCallbackEvent === 'participant-disconnected' && r.params.ParticipantIdentity === 'carol', 1, 60_000))[0]!;
    expect(Date.parse(carolGone.params.Timestamp!)).toBeGreaterThanOrEqual(carolDroppedAt + SESSION_TIMEOUT_S * 1000 - 50);
    await alice2.nextMsg((m) => m.type === 'update' && m.participants?.some((p: Json) => p.identity === 'carol' && p.state === 'disconnected'), 10_000);

    // dave's socket vanished with the runtime and no close was ever delivered for it. He must not
    // stay a ghost: like any vanished socket he becomes reconnecting, then leaves after the window.
    await eventually('dave to be disconnected', 60_000, async () => {
      const gone = await participants(atrium.url, roomSid, 'disconnected');
      return gone.some((p) => p.identity === 'dave') ? true : undefined;
    });
    console.log(`dave (vanished in the restart) was disconnected ${Date.now() - restartedAt} ms after the server was back`);

    // The idle room's unused-room deadline, pending across the restart, ends it: not before its
    // minute (the duration is whole seconds), and without anything but the alarm waking it.
    const ended = await eventually('the idle room to complete', 90_000, async () => {
      const r = await room(idle.body.sid);
      return r.status === 'completed' ? r : undefined;
    });
    expect(ended.duration).toBeGreaterThanOrEqual(60);
    await rx.waitFor(ofRoom(idle.body.sid), 2, 30_000);
    expect(firstArrivals(rx.received, idle.body.sid)).toEqual(['#0 room-created', '#1 room-ended']);

    // alice and bob leave cleanly; completing the room over REST ends the story.
    alice2.msg({ type: 'disconnect', version: 2, session: aliceSynced.session });
    bob2.msg({ type: 'disconnect', version: 2, session: bobSynced.session });
    for (const c of [alice2, bob2]) expect(await c.closedByServer(10_000)).toBe(true);
    const completed = await rest(atrium.url, 'POST', `/v1/Rooms/${roomSid}`, { Status: 'completed' });
    expect(completed.status, completed.text).toBe(202);
    await rx.waitFor((r) => ofRoom(roomSid)(r) && r.params.StatusCallbackEvent === 'room-ended', 1, 30_000);
    const events = firstArrivals(rx.received, roomSid);
    // Every sequence number from 0 on delivered, in order, none skipped.
    expect(events.map((e) => e.split(' ')[0])).toEqual(events.map((_, i) => `#${i}`));
    const later = events.slice(5).map((e) => e.split(' ').slice(1).join(' '));
    // carol and dave left on their deadlines, alice and bob on their own (in either order: two sockets).
    expect(later.slice(0, 2).sort()).toEqual(['participant-disconnected carol', 'participant-disconnected dave']);
    expect(later.slice(2, 4).sort()).toEqual(['participant-disconnected alice', 'participant-disconnected bob']);
    expect(later.slice(4)).toEqual(['room-ended']);
    // Signed with the account's auth token, as before the restart: receivers validate them unchanged.
    for (const r of rx.received) {
      expect(twilio.validateRequest(DEV_CREDENTIALS.authToken, r.signature, r.url, r.params), `${r.params.RoomSid}#${r.params.SequenceNumber}`).toBe(true);
    }
  });
});
