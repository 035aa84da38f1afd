/// <reference types="node" />
/**
 * Signaling figures, each from real WebSockets to `wrangler dev`, each beside its floor:
 *   join    socket open → `connected`, first participant of a new ad-hoc room, then a second one;
 *           interleaved with a new echo object's first reply (socket open → the echo of a `hello`)
 *   relay   an ICE `update` from one member of a pair to the other, one message in flight at a time,
 *           interleaved with the same frame sent to the echo floors (GET /bench/echo, plain and with
 *           one SQLite write per message)
 *   fanout  the 50th participant's `connect` → the `update` announcing it at the last of the other 49,
 *           alternated with a 50th socket's message → the same frame at the last of 49 sockets of a
 *           broadcast object (GET /bench/broadcast)
 */
import { mintAccessToken } from '../core/tokens/mint-token';
import type { Frame } from './socket';
import { BenchSocket, helloConnect } from './socket';
import type { Summary } from './stats';
import { pool, round, summarize } from './stats';

export interface Credentials {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
}

/** The heartbeat interval the bench negotiates: long, so that no phase has to send heartbeats. */
export const HELLO_TIMEOUT_MS = 30_000;

export interface Joined {
  socket: BenchSocket;
  session: string;
  sid: string;
  /** ms from starting the WebSocket to its open event, from then to `connected`, and in all. */
  upgrade: number;
  handshake: number;
  total: number;
}

/** Opens a signaling socket and connects with a token minted beforehand. */
export async function join(wsBase: string, room: string, token: string): Promise<Joined> {
  const t0 = performance.now();
  const socket = await BenchSocket.open(`${wsBase}/signaling/${encodeURIComponent(room)}`);
  const t1 = performance.now();
  const answer = socket.nextMsg((b) => b.type === 'connected' || b.type === 'error');
  socket.send(helloConnect(room, token, HELLO_TIMEOUT_MS));
  const { body, at } = await answer;
  if (body.type !== 'connected') {
    socket.terminate();
    throw new Error(`join of ${room} refused: ${body.code} ${body.message}`);
  }
  return { socket, session: body.session, sid: body.participant.sid, upgrade: t1 - t0, handshake: at - t1, total: at - t0 };
}

/** Leaves cleanly (`disconnect`, as the SDK does on room.disconnect()) and waits for the server to close. */
export async function leave(p: Joined): Promise<void> {
  p.socket.msg({ type: 'disconnect', version: 2, session: p.session });
  const deadline = performance.now() + 5_000;
  while (!p.socket.closed && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  p.socket.terminate();
}

export function tokens(c: Credentials, identities: string[]): Promise<string[]> {
  return Promise.all(identities.map((identity) => mintAccessToken({ ...c, identity, ttlSeconds: 3600 })));
}

// ---- join ----

/** One kind of join: `handshake` is WebSocket open → `connected`; `total` adds the upgrade before it. */
export interface JoinFigures {
  handshake: Summary;
  upgrade: Summary;
  total: Summary;
}

export interface JoinPhase {
  rooms: number;
  /** First participant: the join creates the ad-hoc room (its Room object is created by the upgrade). */
  newRoom: JoinFigures;
  /** Second participant of the same room. */
  existingRoom: JoinFigures;
  /**
   * The floor of `newRoom.handshake`: a new echo object's first reply, from the socket's open event
   * (the upgrade created the object, as it creates the Room object) to the echo of a frame as long
   * as the join's `hello`.
   */
  echoFirstReply: Summary;
  /** newRoom.handshake p50 ÷ echoFirstReply p50. */
  ratioP50: number;
}

export async function benchJoin(wsBase: string, c: Credentials, rooms: number, warmup: number): Promise<JoinPhase> {
  const run = Date.now().toString(36);
  const total = rooms + warmup;
  const toks = await tokens(c, Array.from({ length: total * 2 }, (_, i) => `join-${i}`));
  const first: Joined[] = [];
  const second: Joined[] = [];
  const open: Joined[] = [];
  const echo: number[] = [];
  const echoes: BenchSocket[] = [];
  // One join at a time, so each latency is the server's alone and not a queue's; each room's two
  // joins are followed by the floor, so that the noise of the moment hits both.
  for (let i = 0; i < total; i++) {
    const room = `join-${run}-${i}`;
    const a = await join(wsBase, room, toks[2 * i] as string);
    const b = await join(wsBase, room, toks[2 * i + 1] as string);
    open.push(a, b);
    const e = await firstEcho(wsBase, room, helloConnect(room, toks[2 * i] as string, HELLO_TIMEOUT_MS));
    echoes.push(e.socket);
    if (i >= warmup) {
      first.push(a);
      second.push(b);
      echo.push(e.ms);
    }
  }
  await pool(open.length, 8, (i) => leave(open[i] as Joined));
  for (const e of echoes) e.terminate();
  const phase = (list: Joined[]): JoinFigures => ({
    handshake: summarize(list.map((j) => j.handshake)),
    upgrade: summarize(list.map((j) => j.upgrade)),
    total: summarize(list.map((j) => j.total)),
  });
  const newRoom = phase(first);
  const echoFirstReply = summarize(echo);
  return { rooms, newRoom, existingRoom: phase(second), echoFirstReply, ratioP50: round(newRoom.handshake.p50 / echoFirstReply.p50) };
}

/**
 * Opens a socket to a new echo object and times its first reply as join() times `connected`. The
 * socket stays open until the phase ends, as the joins' do.
 */
async function firstEcho(wsBase: string, name: string, frame: unknown): Promise<{ socket: BenchSocket; ms: number }> {
  const socket = await BenchSocket.open(`${wsBase}/bench/echo?name=${encodeURIComponent(`first-${name}`)}`);
  const t1 = performance.now();
  const reply = socket.next(() => true);
  socket.send(frame);
  return { socket, ms: (await reply).at - t1 };
}

// ---- relay vs echo ----

export interface RelayPhase {
  messages: number;
  pairs: number;
  relay: Summary;
  echo: Summary;
  /** Echo that first stores the message in SQLite: the floor of a relay that remembers what it relays. */
  echoWrite: Summary;
  /** relay p50 ÷ echo p50, and the same for p99. */
  ratioP50: number;
  ratioP99: number;
  /** relay p50 ÷ echoWrite p50. */
  ratioToEchoWriteP50: number;
}

/**
 * Pairs in separate rooms, used in turn and in both directions: the server's flood guard allows a
 * burst of 400 messages per connection, and rotating over 8 senders keeps every one of them far
 * below it however fast the run goes. The echo side rotates over as many objects for symmetry.
 */
const RELAY_PAIRS = 4;

export async function benchRelay(wsBase: string, c: Credentials, messages: number, warmup: number): Promise<RelayPhase> {
  const run = Date.now().toString(36);
  const toks = await tokens(c, Array.from({ length: RELAY_PAIRS * 2 }, (_, i) => `relay-${i}`));
  const pairs: { a: Joined; b: Joined; id: string }[] = [];
  for (let k = 0; k < RELAY_PAIRS; k++) {
    const room = `relay-${run}-${k}`;
    const a = await join(wsBase, room, toks[2 * k] as string);
    const b = await join(wsBase, room, toks[2 * k + 1] as string);
    // The server told the first participant to create-offer on the new pair's id.
    const { body } = await a.socket.nextMsg((m) => m.type === 'update' && Array.isArray(m.peer_connections));
    const id = (body.peer_connections as { id: string; description?: { type: string } }[]).find((pc) => pc.description?.type === 'create-offer')?.id;
    if (!id) throw new Error(`no create-offer for the pair in ${room}`);
    pairs.push({ a, b, id });
  }
  const echoes: BenchSocket[] = [];
  const writingEchoes: BenchSocket[] = [];
  for (let k = 0; k < RELAY_PAIRS; k++) {
    echoes.push(await BenchSocket.open(`${wsBase}/bench/echo?name=${run}-${k}`));
    writingEchoes.push(await BenchSocket.open(`${wsBase}/bench/echo?name=${run}-${k}&write=1`));
  }

  let seq = 0;
  /** One trickled ICE candidate, as twilio-video sends it; the candidate's port makes each frame unique. */
  const frame = (session: string, id: string, n: number) =>
    `{"type":"msg","body":{"type":"update","version":2,"session":"${session}","peer_connections":[{"id":"${id}","ice":{"ufrag":"bnch","revision":${n},"candidates":[{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 ${n} typ host","sdpMid":"0","sdpMLineIndex":0}]}}]}}`;
  const once = async (from: BenchSocket, to: BenchSocket, text: (n: number) => string): Promise<number> => {
    const n = ++seq;
    const marker = `192.0.2.1 ${n} typ`;
    const arrived = to.next((f: Frame) => f.raw.includes(marker), 5_000);
    const t = performance.now();
    from.sendRaw(text(n));
    return (await arrived).at - t;
  };

  const relay: number[] = [];
  const echo: number[] = [];
  const echoWrite: number[] = [];
  for (let i = 0; i < warmup + messages; i++) {
    const pair = pairs[i % RELAY_PAIRS] as (typeof pairs)[number];
    const forward = Math.floor(i / RELAY_PAIRS) % 2 === 0;
    const [from, to] = forward ? [pair.a, pair.b] : [pair.b, pair.a];
    const r = await once(from.socket, to.socket, (n) => frame(from.session, pair.id, n));
    const e = echoes[i % RELAY_PAIRS] as BenchSocket;
    const f = await once(e, e, (n) => frame(from.session, pair.id, n));
    const w = writingEchoes[i % RELAY_PAIRS] as BenchSocket;
    const g = await once(w, w, (n) => frame(from.session, pair.id, n));
    if (i >= warmup) {
      relay.push(r);
      echo.push(f);
      echoWrite.push(g);
    }
  }
  for (const p of pairs) await Promise.all([leave(p.a), leave(p.b)]);
  for (const e of [...echoes, ...writingEchoes]) e.terminate();
  const rs = summarize(relay);
  const es = summarize(echo);
  const ws = summarize(echoWrite);
  return {
    messages,
    pairs: RELAY_PAIRS,
    relay: rs,
    echo: es,
    echoWrite: ws,
    ratioP50: round(rs.p50 / es.p50),
    ratioP99: round(rs.p99 / es.p99),
    ratioToEchoWriteP50: round(rs.p50 / ws.p50),
  };
}

// ---- fan-out ----

export interface FanoutPhase {
  participants: number;
  arrivals: number;
  /** connect sent → the last of the others has the `update` announcing the newcomer. */
  arrival: Summary;
  /** connect sent → the newcomer's own `connected`. */
  connected: Summary;
  /** `disconnect` sent → the last of the others has the `update` saying it left. */
  departure: Summary;
  /**
   * The floor of `arrival`: a fresh socket's message → the last of participants − 1 sockets of a
   * broadcast object has the same frame, one after each arrival; the frame is as long as the
   * longest `update` that announced the arrival just before.
   */
  broadcast: Summary;
  /** Bytes of that `update` (the longest the others received), in the last arrival. */
  frameBytes: number;
  /** arrival p50 ÷ broadcast p50. */
  ratioP50: number;
}

export async function benchFanout(wsBase: string, c: Credentials, participants: number, arrivals: number, warmup: number): Promise<FanoutPhase> {
  const run = Date.now().toString(36);
  const room = `fanout-${run}`;
  const total = warmup + arrivals;
  const toks = await tokens(c, [...Array.from({ length: participants - 1 }, (_, i) => `member-${i}`), ...Array.from({ length: total }, (_, k) => `arrival-${k}`)]);
  const members: Joined[] = [];
  for (let i = 0; i < participants - 1; i++) members.push(await join(wsBase, room, toks[i] as string));
  for (const m of members) m.socket.clearBacklog();
  const listeners: BenchSocket[] = [];
  const floorUrl = `${wsBase}/bench/broadcast?name=${room}`;
  for (let i = 0; i < participants - 1; i++) listeners.push(await BenchSocket.open(floorUrl));

  const arrival: number[] = [];
  const connected: number[] = [];
  const departure: number[] = [];
  const broadcast: number[] = [];
  let frameBytes = 0;
  for (let k = 0; k < total; k++) {
    const identity = `"identity":"arrival-${k}"`;
    const socket = await BenchSocket.open(`${wsBase}/signaling/${encodeURIComponent(room)}`);
    const seen = members.map((m) => m.socket.next((f) => f.raw.includes(identity) && f.raw.includes('"state":"connected"')));
    const answer = socket.nextMsg((b) => b.type === 'connected' || b.type === 'error');
    const t0 = performance.now();
    socket.send(helloConnect(room, toks[participants - 1 + k] as string, HELLO_TIMEOUT_MS));
    const [frames, own] = await Promise.all([Promise.all(seen), answer]);
    if (own.body.type !== 'connected') throw new Error(`arrival ${k} refused: ${own.body.code} ${own.body.message}`);
    const gone = members.map((m) => m.socket.next((f) => f.raw.includes(identity) && f.raw.includes('"state":"disconnected"')));
    const t1 = performance.now();
    socket.msg({ type: 'disconnect', version: 2, session: own.body.session });
    const left = await Promise.all(gone);
    socket.terminate();
    frameBytes = Math.max(...frames.map((f) => Buffer.byteLength(f.raw)));
    const floor = await broadcastOnce(floorUrl, listeners, k, frameBytes);
    if (k >= warmup) {
      arrival.push(Math.max(...frames.map((f) => f.at)) - t0);
      connected.push(own.at - t0);
      departure.push(Math.max(...left.map((f) => f.at)) - t1);
      broadcast.push(floor);
    }
  }
  await pool(members.length, 8, (i) => leave(members[i] as Joined));
  for (const l of listeners) l.terminate();
  const arrivalSummary = summarize(arrival);
  const broadcastSummary = summarize(broadcast);
  return {
    participants,
    arrivals,
    arrival: arrivalSummary,
    connected: summarize(connected),
    departure: summarize(departure),
    broadcast: broadcastSummary,
    frameBytes,
    ratioP50: round(arrivalSummary.p50 / broadcastSummary.p50),
  };
}

/**
 * One broadcast on the floor object, timed as an arrival is: a new socket (as the arrival's is),
 * its message sent → the last listener has it. The frame is a room message padded to `bytes`.
 */
async function broadcastOnce(url: string, listeners: BenchSocket[], k: number, bytes: number): Promise<number> {
  const socket = await BenchSocket.open(url);
  const marker = `"bench":${k},`;
  const head = `{"type":"msg","body":{"type":"update","version":2,${marker}"pad":"`;
  const text = `${head}${'x'.repeat(Math.max(0, bytes - head.length - 3))}"}}`;
  const seen = listeners.map((l) => l.next((f) => f.raw.includes(marker)));
  const t0 = performance.now();
  socket.sendRaw(text);
  const frames = await Promise.all(seen);
  socket.terminate();
  return Math.max(...frames.map((f) => f.at)) - t0;
}
