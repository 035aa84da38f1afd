/// <reference types="node" />
/**
 * A soak: 50 participants in one room, each sending 20 updates a second for 60 s, every update an
 * ICE candidate on one of its peer connections carrying the sender's own sequence number. Every
 * receiver must get, from every sender, exactly the numbers sent on their pair, in the order sent:
 * nothing lost, duplicated or reordered. Then everyone leaves cleanly and the ad-hoc room ends.
 *
 * ROBUSTNESS_SOAK_SECONDS, ROBUSTNESS_SOAK_PARTICIPANTS and ROBUSTNESS_SOAK_RATE change the load;
 * the defaults (60 s, 50, 20/s) are what CI runs.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type AtriumServer, startAtrium } from '../node/support/atrium-server';
import { participants, rest } from './support/rest';
import { iceUpdate, type Json, SignalingClient, sleep, token } from '../node/support/signaling-client';

const SECONDS = Number(process.env.ROBUSTNESS_SOAK_SECONDS ?? 60);
const PARTICIPANTS = Number(process.env.ROBUSTNESS_SOAK_PARTICIPANTS ?? 50);
const RATE = Number(process.env.ROBUSTNESS_SOAK_RATE ?? 20);

let atrium: AtriumServer;
const clients: SignalingClient[] = [];

beforeAll(async () => {
  for (const [name, v] of [['SECONDS', SECONDS], ['PARTICIPANTS', PARTICIPANTS], ['RATE', RATE]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`ROBUSTNESS_SOAK_${name} must be a positive integer`);
  }
  atrium = await startAtrium();
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await atrium?.stop();
});

type Phase = 'setup' | 'soak' | 'teardown';

interface Peer {
  identity: string;
  client: SignalingClient;
  session: string;
  /** Pair id → the other member, as this peer learned it (create-offer, or the partner's offer). */
  pairs: Map<string, string>;
  /** Answers this peer received to its offers. */
  answered: number;
  /** Sequence numbers sent, per pair id. */
  sentOn: Map<string, number[]>;
  /** Sequence numbers received, per sender identity, in arrival order. */
  received: Map<string, number[]>;
  seq: number;
}

describe('soak', () => {
  it(`${PARTICIPANTS} participants × ${RATE} updates/s for ${SECONDS} s: nothing lost or reordered, then a clean exit`, { timeout: SECONDS * 1000 + 240_000 }, async () => {
    onTestFailed(() => console.error(`wrangler output (tail):\n${atrium.output().slice(-4000)}`));
    const room = `soak-${Date.now().toString(36)}`;
    let phase: Phase = 'setup';
    const unexpected: string[] = [];
    /** Offerer and answerer of every pair, from the offerer's create-offer (before it offers). */
    const members = new Map<string, [string, string]>();
    const peers: Peer[] = [];

    const handle = (me: Peer, f: Json) => {
      const note = (why: string) => unexpected.length < 50 && unexpected.push(`${me.identity} in ${phase}: ${why}: ${JSON.stringify(f).slice(0, 200)}`);
      if (f?.type === 'heartbeat' || (f?.type === 'welcome' && phase === 'setup')) return;
      if (f?.type !== 'msg') return note('unexpected frame');
      const m = f.body;
      if (m.type === 'connected' && phase === 'setup') return;
      if (m.type !== 'update') return note('unexpected message');
      for (const p of m.participants ?? []) {
        if (p.state !== 'connected' && phase !== 'teardown') note(`${p.identity} ${p.state}`);
      }
      for (const e of m.peer_connections ?? []) {
        const d = e.description;
        if (d?.type === 'create-offer') {
          const partner = m.participants?.[0]?.identity as string;
          if (!partner) return note('create-offer without the participant it is for');
          members.set(e.id, [me.identity, partner]);
          me.pairs.set(e.id, partner);
          me.client.msg({ type: 'update', version: 2, session: me.session, peer_connections: [{ id: e.id, description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' } }] });
        } else if (d?.type === 'offer') {
          const pair = members.get(e.id);
          if (!pair || pair[1] !== me.identity) return note('offer on a pair it is not the answerer of');
          me.pairs.set(e.id, pair[0]);
          me.client.msg({ type: 'update', version: 2, session: me.session, peer_connections: [{ id: e.id, description: { type: 'answer', revision: 1, sdp: 'v=0\r\n' } }] });
        } else if (d?.type === 'answer') {
          me.answered++;
        } else if (d?.type === 'close') {
          if (phase !== 'teardown') note('a pair closed');
        } else if (d) {
          note('unexpected description');
        }
        if (e.ice) {
          const match = /^candidate:(\S+) (\d+)$/.exec(e.ice.candidates?.[0]?.candidate ?? '');
          const from = me.pairs.get(e.id);
          if (!match || !from || match[1] !== from || e.ice.revision !== Number(match[2])) return note(`ICE that its partner ${from ?? '(unknown pair)'} did not send`);
          let list = me.received.get(from);
          if (!list) me.received.set(from, (list = []));
          list.push(Number(match[2]));
        }
      }
    };

    // Join one after another: each arrival makes everyone already there offer to it.
    for (let i = 0; i < PARTICIPANTS; i++) {
      const identity = `soak-${String(i).padStart(2, '0')}`;
      const client = await SignalingClient.start(atrium.url, room, await token(identity));
      clients.push(client);
      const peer: Peer = { identity, client, session: '', pairs: new Map(), answered: 0, sentOn: new Map(), received: new Map(), seq: 0 };
      const connected = await client.nextMsg((m) => m.type === 'connected' || m.type === 'error', 15_000);
      expect(connected.type, JSON.stringify(connected)).toBe('connected');
      peer.session = connected.session;
      for (const f of client.frames) handle(peer, f);
      client.onFrame = (f) => handle(peer, f);
      client.startHeartbeats();
      peers.push(peer);
    }
    const totalPairs = (PARTICIPANTS * (PARTICIPANTS - 1)) / 2;
    const setupDeadline = Date.now() + 60_000;
    const negotiated = () => peers.every((p) => p.pairs.size === PARTICIPANTS - 1) && peers.reduce((n, p) => n + p.answered, 0) === totalPairs;
    while (!negotiated() && Date.now() < setupDeadline) await sleep(50);
    expect(negotiated(), `pairs known: ${peers.map((p) => p.pairs.size).join(',')}`).toBe(true);
    expect(unexpected).toEqual([]);

    // The soak: tick t of each sender is due at start + t / RATE seconds; a sender that falls
    // behind catches up rather than skipping, so every run sends exactly the same number.
    phase = 'soak';
    for (const p of peers) for (const id of p.pairs.keys()) p.sentOn.set(id, []);
    const pairIds = peers.map((p) => [...p.pairs.keys()]);
    const ticks = SECONDS * RATE;
    const start = Date.now();
    for (let t = 0; t < ticks; t++) {
      const wait = start + (t * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
      peers.forEach((p, i) => {
        const ids = pairIds[i]!;
        const id = ids[(t + i) % ids.length]!;
        p.seq++;
        p.client.msg(iceUpdate(p.session, id, p.identity, p.seq));
        p.sentOn.get(id)!.push(p.seq);
      });
    }
    const sentFor = Date.now() - start;
    const sent = PARTICIPANTS * ticks;

    // Everything sent arrives; then each receiver's list per sender must be exactly what was sent.
    const expected = (receiver: Peer, sender: Peer): number[] => {
      const id = [...receiver.pairs].find(([, who]) => who === sender.identity)![0];
      return sender.sentOn.get(id)!;
    };
    const receivedCount = () => peers.reduce((n, p) => n + [...p.received.values()].reduce((m, l) => m + l.length, 0), 0);
    const drainDeadline = Date.now() + 60_000;
    while (receivedCount() < sent && Date.now() < drainDeadline && unexpected.length === 0) await sleep(50);
    const drained = Date.now() - start - sentFor;
    console.log(
      `soak: ${PARTICIPANTS} participants sent ${sent} updates in ${(sentFor / 1000).toFixed(1)} s ` +
        `(${Math.round(sent / (sentFor / 1000))}/s; planned ${PARTICIPANTS * RATE}/s for ${SECONDS} s); ` +
        `${receivedCount()} relayed, the last ${drained} ms after the last was sent`,
    );
    expect(unexpected).toEqual([]);
    const mismatches: string[] = [];
    for (const r of peers) {
      for (const s of peers) {
        if (r === s) continue;
        const want = expected(r, s);
        const got = r.received.get(s.identity) ?? [];
        if (got.length !== want.length || got.some((n, k) => n !== want[k])) {
          mismatches.push(`${s.identity} → ${r.identity}: sent ${want.length}, received ${got.length}, first difference at ${got.findIndex((n, k) => n !== want[k])}`);
        }
      }
    }
    expect(mismatches.slice(0, 10), `${mismatches.length} sender → receiver streams differ`).toEqual([]);
    expect(receivedCount()).toBe(sent);

    // Everyone leaves cleanly; the ad-hoc room ends with the last of them.
    phase = 'teardown';
    const roomSid = peers[0]!.client.connected.sid as string;
    for (const p of peers) p.client.msg({ type: 'disconnect', version: 2, session: p.session });
    for (const p of peers) expect(await p.client.closedByServer(15_000), p.identity).toBe(true);
    expect(unexpected).toEqual([]);
    const ended = await rest(atrium.url, 'GET', `/v1/Rooms/${roomSid}`);
    expect(ended.body.status).toBe('completed');
    expect(await participants(atrium.url, roomSid, 'connected')).toEqual([]);
    expect((await participants(atrium.url, roomSid, 'disconnected')).length).toBe(PARTICIPANTS);
  });
});
