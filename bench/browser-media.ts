/// <reference types="node" />
/**
 * Media figures from real browsers: unmodified twilio-video in headless Chromium (the browser
 * suite's harness, test/browser/support/browser.ts) against `wrangler dev` and a media server,
 * each group-room figure beside the same figure in a peer-to-peer room (the mesh: browser to
 * browser, no media server) through the same Atrium, in the same run.
 *
 *   first frame  a participant already publishes (fake camera, 320x240); another joins, and the
 *                time from just before its connect() to the first decoded frame of the first one's
 *                video, both read in the joiner's page (performance.now(); getStats() polled every
 *                10 ms for an inbound-rtp video with framesDecoded > 0). A fresh page per join;
 *                group and mesh joins alternate, so both see the same machine.
 *   upload       one participant's outbound-rtp bytesSent per second (audio and video), over a
 *                window after a warm-up, with 2 participants and then with 4 in the room.
 *
 * At most four pages are open at once (a 2-core machine runs every encoder and decoder).
 */
import type { Browser } from 'playwright-core';
import { ClientPool, launchBrowser, mintToken, waitUntil, wsServerFor, type TestClient } from '../test/browser/support/browser';
import type { ConnectRequest, ConnectResult, HarnessApi } from '../test/browser/support/harness-api';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from '../test/node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../test/node/support/media-server';
import type { Summary } from './stats';
import { round, sleep, summarize } from './stats';

export interface BrowserMediaSizes {
  /** Measured joins per room type, after `warmupJoins` that are not kept. */
  joins: number;
  warmupJoins: number;
  /** Seconds between the room reaching its size (media flowing to everyone) and the upload window. */
  uploadWarmupS: number;
  uploadWindowS: number;
}

type RoomKind = 'group' | 'mesh';

export interface FirstFrame {
  /** connect() called → first remote video frame decoded, ms. */
  total: Summary;
  /** connect() called → connect() resolved (local tracks created, then the SDK's `connected`). */
  connected: Summary;
  /** connect() called → a peer connection of the page reached connectionState `connected` (ICE and DTLS done). */
  pcConnected: Summary;
  /** connect() called → the first remote video packet counted (inbound-rtp packetsReceived > 0). */
  firstPacket: Summary;
}

export interface FirstFramePhase {
  joins: number;
  group: FirstFrame;
  mesh: FirstFrame;
  /** Key frame requests (PLI) the media server sent the group room's publisher per join, mean. */
  groupKeyFrameRequestsPerJoin: number;
  /** group p50 ÷ mesh p50 of `total`. */
  ratioP50: number;
}

export interface UploadPhase {
  warmupS: number;
  windowS: number;
  /** Bytes per second one participant sends (outbound-rtp bytesSent, audio + video). */
  group2: number;
  group4: number;
  mesh2: number;
  mesh4: number;
  /** group4 ÷ group2 (target ≤ 1.2) and mesh4 ÷ mesh2 (about 3: a copy per other participant). */
  groupRatio: number;
  meshRatio: number;
}

export interface BrowserMediaPhase {
  chromium: string;
  firstFrame: FirstFramePhase;
  upload: UploadPhase;
}

const PAGE_TIMEOUT_MS = 30_000;

export async function benchBrowserMedia(sizes: BrowserMediaSizes, log: (line: string) => void): Promise<BrowserMediaPhase> {
  const sfu = await startMediaServer();
  let atrium: AtriumServer | undefined;
  let browser: Browser | undefined;
  try {
    const [started, launched] = await Promise.allSettled([startAtrium({ vars: sfu.vars }), launchBrowser()]);
    if (started.status === 'fulfilled') atrium = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    const url = started.value.url;
    const chromium = launched.value;
    const rooms = new Rooms(url);
    log(`first frame: ${sizes.joins} joins (after ${sizes.warmupJoins}) into a group room and a peer-to-peer room, alternating`);
    const firstFrame = await benchFirstFrame(chromium, url, rooms, sfu, sizes);
    log(`upload with 2, then 4 participants: group room, then peer-to-peer (${sizes.uploadWarmupS} s warm-up, ${sizes.uploadWindowS} s window)`);
    const group = await benchUpload(chromium, url, await rooms.create('group'), sizes);
    const mesh = await benchUpload(chromium, url, await rooms.create('mesh'), sizes);
    return {
      chromium: chromium.version(),
      firstFrame,
      upload: {
        warmupS: sizes.uploadWarmupS,
        windowS: sizes.uploadWindowS,
        group2: group.two,
        group4: group.four,
        mesh2: mesh.two,
        mesh4: mesh.four,
        groupRatio: round(group.four / group.two),
        meshRatio: round(mesh.four / mesh.two),
      },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await atrium?.stop();
    await sfu.stop();
  }
}

/** Rooms created over REST (Basic auth of the development account), a new unique name each. */
class Rooms {
  private count = 0;
  private readonly run = Date.now().toString(36);
  constructor(private readonly url: string) {}

  async create(kind: RoomKind): Promise<string> {
    const name = `media-${kind}-${this.run}-${++this.count}`;
    const res = await fetch(`${this.url}/v1/Rooms`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${DEV_CREDENTIALS.accountSid}:${DEV_CREDENTIALS.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ UniqueName: name, Type: kind === 'group' ? 'group' : 'peer-to-peer' }).toString(),
    });
    const body = (await res.json()) as { message?: string };
    if (res.status !== 201) throw new Error(`creating a ${kind} room: ${res.status} ${body.message ?? ''}`);
    return name;
  }
}

const AUDIO_VIDEO = { audio: true, video: true, data: false };

async function join(client: TestClient, identity: string, room: string): Promise<void> {
  await client.join(identity, room, { ...AUDIO_VIDEO, timeoutMs: PAGE_TIMEOUT_MS });
}

/** Disconnects (so the room sees a clean departure, not a dropped socket) and closes the page. */
async function leave(client: TestClient): Promise<void> {
  await client.disconnect().catch(() => undefined);
  await client.close();
}

// ---- First frame ----

/** What the page records (globalThis.atriumBenchFirstFrame), in its performance.now() time. */
interface PageTimes {
  t0: number;
  connected: number | null;
  pcConnected: number | null;
  firstPacket: number | null;
  firstFrame: number | null;
}

async function benchFirstFrame(browser: Browser, url: string, rooms: Rooms, sfu: MediaServer, sizes: BrowserMediaSizes): Promise<FirstFramePhase> {
  const clients = new ClientPool(browser, url);
  try {
    const room = { group: await rooms.create('group'), mesh: await rooms.create('mesh') };
    const [groupPublisher, meshPublisher] = await Promise.all([clients.open(), clients.open()]);
    const publisherSid = (await groupPublisher.join('publisher-group', room.group, { ...AUDIO_VIDEO, timeoutMs: PAGE_TIMEOUT_MS })).participantSid;
    await join(meshPublisher, 'publisher-mesh', room.mesh);
    // The group publisher sends to the media server from the start: wait until it does.
    await waitUntil(
      async () => ((await groupPublisher.connectionStats()).bytesSent > 20_000 ? true : undefined),
      PAGE_TIMEOUT_MS,
      () => 'the group publisher to send media',
      200,
    );
    const samples: Record<RoomKind, PageTimes[]> = { group: [], mesh: [] };
    let plis = 0;
    for (let i = 0; i < sizes.warmupJoins + sizes.joins; i++) {
      for (const kind of ['group', 'mesh'] as const) {
        const before = kind === 'group' ? await plisSent(sfu, publisherSid) : 0;
        const times = await joinUntilFirstFrame(clients, url, room[kind], `joiner-${kind}-${i}`);
        if (i < sizes.warmupJoins) continue;
        samples[kind].push(times);
        if (kind === 'group') plis += (await plisSent(sfu, publisherSid)) - before;
      }
    }
    const since = (list: PageTimes[], pick: (t: PageTimes) => number | null) => summarize(list.map((t) => (pick(t) ?? t.firstFrame!) - t.t0));
    const figures = (list: PageTimes[]): FirstFrame => ({
      total: since(list, (t) => t.firstFrame),
      connected: since(list, (t) => t.connected),
      pcConnected: since(list, (t) => t.pcConnected),
      firstPacket: since(list, (t) => t.firstPacket),
    });
    const group = figures(samples.group);
    const mesh = figures(samples.mesh);
    return { joins: sizes.joins, group, mesh, groupKeyFrameRequestsPerJoin: round(plis / sizes.joins, 2), ratioP50: round(group.total.p50 / mesh.total.p50) };
  } finally {
    await clients.closeAll();
  }
}

/** Key frame requests the media server has sent the participant's sessions (sessions are `<participant sid>.<n>`). */
async function plisSent(sfu: MediaServer, participantSid: string): Promise<number> {
  const res = await sfu.call<{ detail: { sessions: { id: string; published: { plisSent: number }[] }[] }[] }>('GET', '/v1/stats');
  if (res.status !== 200) throw new Error(`media server GET /v1/stats → ${res.status}`);
  let sum = 0;
  for (const room of res.body.detail) for (const s of room.sessions) if (s.id.startsWith(`${participantSid}.`)) for (const p of s.published) sum += p.plisSent;
  return sum;
}

/** A fresh page joins `room`; resolves with the page's times once it has decoded a remote video frame. */
async function joinUntilFirstFrame(clients: ClientPool, url: string, room: string, identity: string): Promise<PageTimes> {
  const client = await clients.open();
  try {
    const request: ConnectRequest = { token: await mintToken({ identity, room }), room, wsServer: wsServerFor(url, room), ...AUDIO_VIDEO };
    const result = await client.page.evaluate(connectAndWatch, request);
    if (!result.ok) throw new Error(`${identity} could not join ${room}: ${result.code} ${result.message}${client.diagnostics()}`);
    return await waitUntil(
      async () => {
        const times = await client.page.evaluate(() => (globalThis as unknown as { atriumBenchFirstFrame: PageTimes }).atriumBenchFirstFrame);
        return times.firstFrame !== null ? times : undefined;
      },
      PAGE_TIMEOUT_MS,
      () => `${identity} to decode a frame of the publisher's video in ${room}${client.diagnostics()}`,
      50,
    );
  } finally {
    await leave(client);
  }
}

/** Minimal shapes of what the page's peer connections offer (the root typecheck has no DOM types). */
interface StatsEntry {
  type: string;
  kind?: string;
  packetsReceived?: number;
  framesDecoded?: number;
}
interface PagePeerConnection {
  connectionState: string;
  getStats(): Promise<{ forEach(cb: (s: StatsEntry) => void): void }>;
}

/**
 * Runs in the page: starts polling every peer connection's state and statistics for the first
 * remote video packet and decoded frame, notes the time, and connects with the harness (which
 * creates the local tracks, then calls the SDK's connect()). Each poll is timed at its getStats()
 * call: what it reports had happened by then.
 */
async function connectAndWatch(request: ConnectRequest): Promise<ConnectResult> {
  const w = globalThis as unknown as { atriumTest: HarnessApi; atriumPeerConnections: PagePeerConnection[]; atriumBenchFirstFrame: PageTimes };
  const times: PageTimes = { t0: 0, connected: null, pcConnected: null, firstPacket: null, firstFrame: null };
  w.atriumBenchFirstFrame = times;
  const deadline = performance.now() + 30_000;
  const poll = async (): Promise<void> => {
    while (times.firstFrame === null && performance.now() < deadline) {
      for (const pc of w.atriumPeerConnections) {
        const at = performance.now();
        if (times.pcConnected === null && pc.connectionState === 'connected') times.pcConnected = at;
        let packet = false;
        let decoded = false;
        (await pc.getStats()).forEach((s) => {
          if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
          packet ||= (s.packetsReceived ?? 0) > 0;
          decoded ||= (s.framesDecoded ?? 0) > 0;
        });
        if (packet && times.firstPacket === null) times.firstPacket = at;
        if (decoded && times.firstFrame === null) times.firstFrame = at;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  times.t0 = performance.now();
  void poll();
  const result = await w.atriumTest.connect(request);
  times.connected = performance.now();
  return result;
}

// ---- Upload ----

/** Bytes per second `client` sends (outbound-rtp, audio and video, every open connection) over `seconds`. */
async function uploadRate(client: TestClient, seconds: number): Promise<number> {
  const a = await client.connectionStats();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const b = await client.connectionStats();
  return ((b.bytesSent - a.bytesSent) * 1000) / (performance.now() - t0);
}

/** Until `client` receives video from each of `others`, growing. */
async function videoFromAll(client: TestClient, others: string[]): Promise<void> {
  const subs = await client.waitForSubscriptions(others.map((identity) => ({ identity, kind: 'video' as const })), PAGE_TIMEOUT_MS);
  const sids = [...subs].filter(([, who]) => others.some((o) => who === `${o}/video`)).map(([sid]) => sid);
  await client.expectVideoFlowing(sids, { minBytes: 2_000, timeoutMs: PAGE_TIMEOUT_MS });
}

async function benchUpload(browser: Browser, url: string, room: string, sizes: BrowserMediaSizes): Promise<{ two: number; four: number }> {
  const clients = new ClientPool(browser, url);
  try {
    const [a, b, c, d] = await Promise.all([clients.open(), clients.open(), clients.open(), clients.open()]);
    await join(a!, 'a', room);
    await join(b!, 'b', room);
    await videoFromAll(b!, ['a']);
    await sleep(sizes.uploadWarmupS * 1000);
    const two = await uploadRate(a!, sizes.uploadWindowS);
    await Promise.all([join(c!, 'c', room), join(d!, 'd', room)]);
    await Promise.all([videoFromAll(c!, ['a']), videoFromAll(d!, ['a'])]);
    await sleep(sizes.uploadWarmupS * 1000);
    const four = await uploadRate(a!, sizes.uploadWindowS);
    await Promise.all([a!, b!, c!, d!].map((client) => client.disconnect().catch(() => undefined)));
    return { two: Math.round(two), four: Math.round(four) };
  } finally {
    await clients.closeAll();
  }
}
