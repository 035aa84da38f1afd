/// <reference types="node" />
/**
 * Signaling figures, each from real WebSockets to `wrangler dev`:
 *   join    socket open → `connected`, first participant of a new ad-hoc room, then a second one
 *   relay   an ICE `update` from one member of a pair to the other, one message in flight at a time,
 *           interleaved with the same frame sent to the echo floors (GET /bench/echo, plain and with
 *           one SQLite write per message)
 *   fanout  the 50th participant's `connect` → the `update` announcing it at the last of the other 49
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
}

export async function benchJoin(wsBase: string, c: Credentials, rooms: number, warmup: number): Promise<JoinPhase> {
  const run = Date.now().toString(36);
  const total = rooms + warmup;
  const toks = await tokens(c, Array.from({ length: total * 2 }, (_, i) => `join-${i}`));
  const first: Joined[] = [];
  const second: Joined[] = [];
  const open: Joined[] = [];
  // One join at a time, so each latency is the server's alone and not a queue's.
  for (let i = 0; i < total; i++) {
    const room = `join-${run}-${i}`;
    const a = await join(wsBase, room, toks[2 * i] as string);
    const b = await join(wsBase, room, toks[2 * i + 1] as string);
    open.push(a, b);
    if (i >= warmup) {
      first.push(a);
      second.push(b);
    }
  }
  await pool(open.length, 8, (i) => leave(open[i] as Joined));
  const phase = (list: Joined[]): JoinFigures => ({
    handshake: summarize(list.map((j) => j.handshake)),
    upgrade: summarize(list.map((j) => j.upgrade)),
    total: summarize(list.map((j) => j.total)),
  });
  return { rooms, newRoom: phase(first), existingRoom: phase(second) };
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
}

export async function benchFanout(wsBase: string, c: Credentials, participants: number, arrivals: number, warmup: number): Promise<FanoutPhase> {
  const run = Date.now().toString(36);
  const room = `fanout-${run}`;
  const total = warmup + arrivals;
  const toks = await tokens(c, [...Array.from({ length: participants - 1 }, (_, i) => `member-${i}`), ...Array.from({ length: total }, (_, k) => `arrival-${k}`)]);
  const members: Joined[] = [];
  for (let i = 0; i < participants - 1; i++) members.push(await join(wsBase, room, toks[i] as string));
  for (const m of members) m.socket.clearBacklog();

  const arrival: number[] = [];
  const connected: number[] = [];
  const departure: number[] = [];
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
    if (k >= warmup) {
      arrival.push(Math.max(...frames.map((f) => f.at)) - t0);
      connected.push(own.at - t0);
      departure.push(Math.max(...left.map((f) => f.at)) - t1);
    }
    socket.terminate();
  }
  await pool(members.length, 8, (i) => leave(members[i] as Joined));
  return { participants, arrivals, arrival: summarize(arrival), connected: summarize(connected), departure: summarize(departure) };
}
