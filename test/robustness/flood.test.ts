/// <reference types="node" />
/**
 * A flood of hostile sockets beside a live room: thousands of signaling upgrades to random room
 * names, with no token, garbage, or a bad one, and sockets that never say anything. Proves that
 * no Room object they reach stores anything (docs/robustness.md, "Nothing stored for strangers"),
 * that sockets left idle are closed by the objects themselves, and that the live room beside them
 * goes on exchanging messages untouched.
 *
 * From 127.0.0.1 the Worker's rate limits (workers/http/rate-limit.ts) may answer some upgrades
 * 429 before any object is touched: the flood sends its token-free sockets first and the ones with
 * bad tokens last, since an address over TOKEN_FAILURES is refused everything for a while. Either
 * way, refused or reaching an object, nothing may be stored.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type AtriumServer, startAtrium } from '../node/support/atrium-server';
import { connectMessage, iceUpdate, SignalingClient, sleep, token } from '../node/support/signaling-client';
import { participants } from './support/rest';
import { storedTables } from './support/sqlite-files';

const UPGRADES = Number(process.env.ROBUSTNESS_FLOOD_UPGRADES ?? 3000);
const CONCURRENCY = 50;
/** Sockets opened first and left silent: the objects must close them at their handshake deadline (10 s). */
const IDLE = 100;
/** Every wait of one hostile socket is bounded by this. */
const SOCKET_WAIT_MS = 10_000;

let atrium: AtriumServer;
const clients: SignalingClient[] = [];

beforeAll(async () => {
  atrium = await startAtrium();
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await atrium?.stop();
});

/** The SQLite files of one Durable Object class, by object (the class's own metadata.sqlite left out). */
function objectFiles(className: string): string[] {
  const dir = join(atrium.persistDir, 'v3', 'do', `atrium-${className}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
    .map((f) => join(dir, f));
}

type Kind = (typeof TOKEN_FREE)[number] | (typeof WITH_BAD_TOKENS)[number];
const TOKEN_FREE = ['drop', 'not-json', 'binary', 'msg-before-hello', 'update-before-connect', 'hello-then-bye', 'connect-for-another-room'] as const;
const WITH_BAD_TOKENS = ['connect-bad-signature', 'connect-not-a-jwt', 'ice-expired', 'sync-bad-signature'] as const;

interface Outcome {
  /** 429 from the Worker: refused before any object was touched. */
  refused: boolean;
  /** The object closed the socket (or answered what it must) within the bound. */
  answered: boolean;
}

/** Opens a socket; resolves null when the upgrade is refused with 429. */
function open(room: string): Promise<WebSocket | null> {
  const ws = new WebSocket(`${atrium.url.replace(/^http/, 'ws')}/signaling/${encodeURIComponent(room)}`, { handshakeTimeout: SOCKET_WAIT_MS });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      if (res.statusCode === 429) resolve(null);
      else reject(new Error(`upgrade for ${room}: HTTP ${res.statusCode}`));
    });
    ws.once('error', reject);
  });
}

/** Resolves once the server has closed `ws` (its close frame: readyState leaves OPEN), false after the bound. */
async function closedByServer(ws: WebSocket, timeoutMs = SOCKET_WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (ws.readyState === WebSocket.OPEN) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function nextFrame(ws: WebSocket, timeoutMs = SOCKET_WAIT_MS): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data.toString()));
      } catch {
        resolve(data.toString());
      }
    });
  });
}

const hello = (body?: unknown) => JSON.stringify({ type: 'hello', id: randomUUID(), timeout: 5000, version: 2, ...(body ? { body } : {}) });

/** One hostile socket to a random name. */
async function hostile(kind: Kind, tokens: { badSignature: string; expired: string; other: string }): Promise<Outcome> {
  const room = `flood-${randomUUID()}`;
  const ws = await open(room);
  if (!ws) return { refused: true, answered: true };
  ws.on('error', () => undefined);
  try {
    switch (kind) {
      case 'drop':
        ws.terminate();
        return { refused: false, answered: true };
      case 'not-json':
        ws.send('{"type":"msg",');
        break;
      case 'binary':
        ws.send(Buffer.from([1, 2, 3]));
        break;
      case 'msg-before-hello': {
        const bad = nextFrame(ws);
        ws.send(JSON.stringify({ type: 'msg', body: { type: 'update', peer_connections: [] } }));
        const answered = ((await bad) as { type?: string } | null)?.type === 'bad';
        ws.terminate();
        return { refused: false, answered };
      }
      case 'update-before-connect':
        ws.send(hello());
        ws.send(JSON.stringify({ type: 'msg', body: { type: 'update', version: 2, peer_connections: [] } }));
        break;
      case 'hello-then-bye':
        ws.send(hello());
        ws.send(JSON.stringify({ type: 'bye' }));
        break;
      case 'connect-for-another-room':
        ws.send(hello(connectMessage('another-room', tokens.other)));
        break;
      case 'connect-bad-signature':
        ws.send(hello(connectMessage(room, tokens.badSignature)));
        break;
      case 'connect-not-a-jwt':
        ws.send(hello(connectMessage(room, 'not.a.jwt')));
        break;
      case 'ice-expired':
        ws.send(hello({ type: 'ice', version: 1, edge: 'roaming', token: tokens.expired }));
        break;
      case 'sync-bad-signature':
        ws.send(hello({ type: 'sync', version: 2, session: randomUUID(), token: tokens.badSignature, peer_connections: [] }));
        break;
    }
    return { refused: false, answered: await closedByServer(ws) };
  } finally {
    ws.terminate();
  }
}

/** Runs `n` jobs, `concurrency` at a time. */
async function pool<T>(n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

describe('hostile-socket flood', () => {
  it(`${UPGRADES} upgrades to random names with no or bad tokens store nothing, and a live room beside them notices nothing`, { timeout: 180_000 }, async () => {
    onTestFailed(() => console.error(`wrangler output (tail):\n${atrium.output().slice(-4000)}`));

    // The live room: two participants with a pair between them.
    const room = `live-${randomUUID().slice(0, 8)}`;
    const alice = await SignalingClient.join(atrium.url, room, 'alice');
    const bob = await SignalingClient.join(atrium.url, room, 'bob');
    clients.push(alice, bob);
    alice.startHeartbeats();
    bob.startHeartbeats();
    const offer = await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.description?.type === 'create-offer');
    const pairId = offer.peer_connections[0].id as string;
    const sessions = { alice: alice.connected.session as string, bob: bob.connected.session as string };
    const seen = { alice: alice.frames.length, bob: bob.frames.length };
    const before = { rooms: new Set(objectFiles('RoomObject')), catalogs: new Set(objectFiles('CatalogObject')) };
    expect(before.rooms.size).toBe(1);

    const tokens = {
      badSignature: await token('mallory', { apiKeySecret: 'not-the-secret' }),
      expired: await token('mallory', { ttlSeconds: 60, nowSeconds: Math.floor(Date.now() / 1000) - 3600 }),
      other: await token('mallory'),
    };
    const started = Date.now();

    // Silent sockets, opened first: only the objects' handshake deadline closes them.
    const idle = await Promise.all(Array.from({ length: IDLE }, () => open(`flood-idle-${randomUUID()}`)));
    const idleClosed = Promise.all(
      idle.map(async (ws) => {
        if (!ws) return { refused: true, closedAfter: 0 };
        ws.on('error', () => undefined);
        const closed = await closedByServer(ws, 30_000);
        const closedAfter = Date.now() - started;
        ws.terminate();
        return { refused: false, closedAfter: closed ? closedAfter : Infinity };
      }),
    );

    // Token-free sockets first, then those with bad tokens (see the file comment).
    const badTokenShare = Math.min(600, Math.floor(UPGRADES / 5));
    const kinds: Kind[] = Array.from({ length: UPGRADES }, (_, i) =>
      i < UPGRADES - badTokenShare ? TOKEN_FREE[i % TOKEN_FREE.length]! : WITH_BAD_TOKENS[i % WITH_BAD_TOKENS.length]!,
    );
    const outcomes = await pool(UPGRADES, CONCURRENCY, (i) => hostile(kinds[i]!, tokens));
    const floodMs = Date.now() - started;
    const idleOutcomes = await idleClosed;

    const refused = outcomes.filter((o) => o.refused).length;
    const unanswered = outcomes.filter((o) => !o.answered).length;
    const idleRefused = idleOutcomes.filter((o) => o.refused).length;
    const idleLatest = Math.max(0, ...idleOutcomes.filter((o) => !o.refused).map((o) => o.closedAfter));

    // The live room: its sockets were left alone, saw nothing of the flood, and still relay both ways.
    expect(alice.open && bob.open).toBe(true);
    for (const [who, c] of [['alice', alice], ['bob', bob]] as const) {
      const during = c.frames.slice(seen[who]).filter((f) => f?.type !== 'heartbeat');
      expect(during, `${who} received during the flood`).toEqual([]);
    }
    for (const [from, to, n] of [
      ['alice', bob, 1],
      ['bob', alice, 2],
    ] as const) {
      (from === 'alice' ? alice : bob).msg(iceUpdate(sessions[from], pairId, from, n));
      const got = await to.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.ice?.revision === n, 10_000);
      expect(got.peer_connections[0].ice.candidates[0].candidate).toBe(`candidate:${from} ${n}`);
    }
    const listed = await participants(atrium.url, room);
    expect(listed.map((p: { identity: string; status: string }) => `${p.identity}:${p.status}`).sort()).toEqual(['alice:connected', 'bob:connected']);

    // Storage: the objects the flood reached (a file each, created on first use) hold nothing.
    await sleep(1_000); // the last closes are handled
    const floodRooms = objectFiles('RoomObject').filter((f) => !before.rooms.has(f));
    const floodCatalogs = objectFiles('CatalogObject').filter((f) => !before.catalogs.has(f));
    const withStorage = [...floodRooms, ...floodCatalogs].filter((f) => storedTables(f).length > 0).map((f) => `${f}: ${storedTables(f).join(', ')}`);
    // The control: the live room's object does hold its room.
    expect(storedTables([...before.rooms][0]!)).toEqual(expect.arrayContaining(['rooms', 'participants', 'deadlines']));

    console.log(
      `flood: ${UPGRADES} upgrades + ${IDLE} idle sockets in ${floodMs} ms (${CONCURRENCY} at a time); ` +
        `refused with 429: ${refused} + ${idleRefused} idle; objects reached: ${floodRooms.length} Room, ${floodCatalogs.length} catalog; ` +
        `with storage: ${withStorage.length}; idle sockets all closed by the server ${idleLatest} ms after the flood began`,
    );
    expect(withStorage).toEqual([]);
    expect(unanswered, 'hostile sockets the server did not answer or close in time').toBe(0);
    // Idle sockets are closed by their objects at the handshake deadline, not by anything of ours.
    expect(idleOutcomes.every((o) => o.refused || Number.isFinite(o.closedAfter))).toBe(true);
    // Every upgrade either reached an object (one new object per random name) or was refused before.
    expect(floodRooms.length).toBeLessThanOrEqual(UPGRADES + IDLE - refused - idleRefused);
    expect(floodMs).toBeLessThan(120_000);
    expect(atrium.output()).not.toMatch(/signaling handler failed|Uncaught/i);
  });
});
