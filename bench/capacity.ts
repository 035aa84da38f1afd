/// <reference types="node" />
/**
 * Capacity of one media server core, driven the way clients drive it: synthetic participants
 * (node-datachannel peer connections in this process) join group rooms through Atrium's signaling
 * (`wrangler dev` with a media server, as `npm start` runs them), announce their tracks, negotiate
 * through the Room object, subscribe to everyone (twilio-video's default rules) and send RTP:
 *
 *   audio  50 pps, 100–160-byte packets (Opus at 20 ms), from every participant
 *   video  "320x240": 35 pps of 1,000-byte packets (280 kbit/s, VP8 descriptors), a key frame a
 *          second and on every PLI, from those that publish video
 *
 *   mixed      a room of 20 (quick: 6), every participant sending audio and one in four video;
 *              target: the media server within one core, under 1 % loss at the subscribers
 *   video      a room grown 4 at a time where everyone sends video and audio, until a size is not
 *              carried (over a core, or 1 % loss or more): the largest carried is the figure
 *   first frame  participants joining the mixed room while its media flows: `connect` sent → the
 *              first video RTP packet received (and the milestones between), median of several
 *
 * Each measured window reads the media server's CPU (every thread, from /proc), its packet counters
 * (GET /v1/stats), the subscribers' lines (packets received, and expected from their sequence
 * numbers: loss as RFC 3550 counts it), the kernel's UDP receive-buffer drops on both sides, and
 * this process's own CPU: the synthetic participants are the load generator, and when it runs out
 * of core, loss says nothing about the server.
 *
 * On a machine with two cores or more, the media server is pinned to CPU 0 and this process (and
 * Atrium's workerd) to CPU 1 with taskset, so that "one core" is literal and the load generator
 * never takes the server's core.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from '../test/node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../test/node/support/media-server';
import { SignalingParticipant } from '../test/node/support/signaling-participant';
import type { LineTotals, MemberMedia } from './capacity-room';
import { CapacityRoom } from './capacity-room';
import type { ThreadCpu } from './media';
import { byThreadName, leastSquares } from './media';
import { MediaPacer } from './pacer';
import { pidListeningOn, processCpu, udpDrops, workerdOf } from './proc';
import type { Summary } from './stats';
import { round, sleep, summarize } from './stats';
import { workerOrigin } from './transport';

export interface CapacitySizes {
  /** Participants of the mixed room (everyone audio, one in four video). */
  mixedParticipants: number;
  /** Sizes the all-video room grows through, in order; it stops after the first one not carried. */
  videoSteps: number[];
  /** Seconds from media reaching every subscriber to the window. */
  settleS: number;
  windowS: number;
  /** Joins into the mixed room timed to their first video packet, after `firstFrameWarmup` not kept. */
  firstFrameJoins: number;
  firstFrameWarmup: number;
  /** Seconds a step waits for every subscriber to receive every publisher's tracks. */
  mediaTimeoutS: number;
}

const AUDIO_PPS = 50;
/** With the 12-byte header and 8 bytes of extensions (audio level, mid): 100–160-byte packets. */
const AUDIO_PAYLOAD: [number, number] = [80, 140];
const VIDEO_PPS = 35;
/** With the 12-byte header and 12 bytes of extensions (abs-send-time, mid): 1,000-byte packets. */
const VIDEO_PAYLOAD = 976;
const MEDIA: MemberMedia = { audioPayloadBytes: AUDIO_PAYLOAD, videoPayloadBytes: VIDEO_PAYLOAD, videoPps: VIDEO_PPS, keyFrameInterval: VIDEO_PPS };
/** A size is carried when the server stays within a core, subscribers lose less than this, and they receive at least MIN_DELIVERED of what was sent to them. */
const MAX_LOSS = 0.01;
const MIN_DELIVERED = 0.97;
/** The load generator (this process) is the limit when it sends under this share of the nominal rate, or fails while past this share of its core (see judge()). */
const GENERATOR_MIN_SENT = 0.98;
const GENERATOR_BUSY_PERCENT = 90;

export interface CapacityWindow {
  /** The size the room was to have; `participants` joined (the rest failed to). */
  size: number;
  participants: number;
  videoPublishers: number;
  seconds: number;
  /** Media server process, every thread, % of one core. */
  cpuPercent: number;
  /** Of which its main thread (JavaScript, and libdatachannel's send called from it). */
  mainThreadPercent: number;
  /** RTP packets per second: what the participants should send (50 each, 35 more for video), what they sent, what they skipped for being late; received by the server, forwarded by it (its counters; null when it did not answer GET /v1/stats), received by subscribers. */
  nominalPps: number;
  sentPps: number;
  skippedPps: number;
  ingressPps: number | null;
  forwardedPps: number | null;
  receivedPps: number;
  /**
   * receivedPps ÷ (sentPps × (participants − 1)): the share of the packets sent in the window that
   * reached their subscribers in it. Under 1 when the server (or this process's reading) falls
   * behind and its queues grow, which the sequence numbers do not show until packets are dropped.
   */
  delivered: number;
  /** Packets lost ÷ packets expected at the subscribers (their lines' sequence numbers), every line together. */
  loss: number;
  /** The same for the subscriber that lost most. */
  worstSubscriberLoss: number;
  /** Joins of this step that failed (their connection never came up): at most 5, and how many. */
  joinFailures: string[];
  joinFailureCount: number;
  /** Subscriber × publisher-track lines that received nothing in the window. */
  silentLines: number;
  /** What should have arrived and had not when the window started ("subscriber ← publisher kind"), at most 10. */
  missing: string[];
  missingCount: number;
  /** Datagrams the kernel dropped at full receive buffers in the window: the server's sockets, this process's. */
  udpDrops: { server: number; bench: number };
  /** This process's CPU (the synthetic participants: sending, receiving, SRTP), % of one core. */
  benchCpuPercent: number;
  /** How late this process's event loop ran, ms (p99, max): the pacer's timer waits that long, so media is sent in bursts. */
  benchLoopDelayMs: { p99: number; max: number };
  rssMiB: number;
  /** The server's CPU by thread name, busiest first. */
  threads: ThreadCpu;
  /** The whole nominal load was offered (the generator kept up), the server stayed within one core (cpuPercent ≤ 100) and answered, loss < 1 %, delivered ≥ 97 %, every join connected and every line flowed. */
  carried: boolean;
  /** This process sent under 98 % of the nominal rate, or the size was not carried while it used over 90 % of its core: the load generator, not (only) the server, was the limit. */
  generatorLimited: boolean;
}

export interface CapacityFirstFrame {
  /** Participants already in the room (sending), when each joiner arrived. */
  roomSize: number;
  joins: number;
  /** `connect` sent → the first video RTP packet received, ms. */
  total: Summary;
  /** → `connected` received. */
  connected: Summary;
  /** → the media server's answer received (relayed in an `update`). */
  answered: Summary;
  /** → the peer connection `connected` (ICE and DTLS done). */
  pcConnected: Summary;
  /** → the first audio packet received. */
  firstAudio: Summary;
}

export interface CapacityPhase {
  /** CPUs the media server and this process were pinned to (taskset), or null when not pinned. */
  pinned: { server: string; bench: string } | null;
  media: { audioPps: number; audioBytes: [number, number]; videoPps: number; videoBytes: number; keyFrameEvery: number };
  settleS: number;
  windowS: number;
  /** The machine's load average (1, 5, 15 min) when the phase started and ended: other work on the cores shows here. */
  loadAverage: { start: number[]; end: number[] };
  /** Where signaling went: the Worker's own socket or wrangler's proxy. */
  signalingVia: 'worker' | 'wrangler-proxy';
  /** The mixed room (everyone audio, one in four video), and whether it met its target. */
  mixed: CapacityWindow;
  mixedJoinS: number;
  /** The all-video room, size by size; the last one is the first not carried (unless every size was). */
  videoSteps: CapacityWindow[];
  /** The largest all-video room carried (0: none). */
  largestVideoRoom: number;
  /** What stopped the growth: the server (the next size was not carried), the load generator (it could not offer the next size's load), or the list of sizes (all carried). */
  videoLimitedBy: 'server' | 'load generator' | 'sizes';
  /**
   * The all-video room size at which a straight line through the carried steps (the server's CPU
   * over forwarded pps) reaches 100 % of a core: an extrapolation, for when the load generator or
   * the last step's size ran out first. Null with fewer than two carried steps.
   */
  projectedVideoRoom: number | null;
  firstFrame: CapacityFirstFrame;
}

export async function benchCapacity(sizes: CapacitySizes, log: (line: string) => void): Promise<CapacityPhase> {
  const sfu = await startMediaServer();
  let atrium: AtriumServer | undefined;
  const pacer = new MediaPacer({ audioPps: AUDIO_PPS, videoPps: VIDEO_PPS });
  const cpus = os.cpus().length;
  let pinned: CapacityPhase['pinned'] = null;
  const loadAtStart = os.loadavg().map((v) => round(v, 2));
  try {
    atrium = await startAtrium({ vars: { ...sfu.vars, BENCH_ROUTES: 'true' } });
    const pid = pidListeningOn(sfu.port, 'media-server.mjs');
    if (pid === null) throw new Error(`media server process on port ${sfu.port} not found in /proc`);
    if (cpus >= 2) {
      const workerd = workerdOf(atrium.processGroup() ?? -1).map((p) => p.pid);
      if (pin(pid, '0') && pin(process.pid, '1') && workerd.every((w) => pin(w, '1'))) pinned = { server: '0', bench: '1' };
    }
    const direct = await workerOrigin(atrium);
    const origin = direct ?? atrium.url;
    const rooms = new RoomNames(atrium.url);
    const measure = (room: CapacityRoom) => measureWindow(sfu, pid, room, pacer, sizes.windowS);
    log(`capacity: media server ${pinned ? 'pinned to CPU 0, the synthetic participants to CPU 1' : 'not pinned'}; signaling via ${direct ? "the Worker's own socket" : "wrangler's proxy"}`);

    log(`capacity: mixed room of ${sizes.mixedParticipants} (all audio, one in four video), then ${sizes.firstFrameWarmup + sizes.firstFrameJoins} joins timed to first frame`);
    const mixedRoom = new CapacityRoom(origin, await rooms.create(), pacer, MEDIA);
    const joinStart = performance.now();
    const mixedFailures = await mixedRoom.grow(sizes.mixedParticipants, (n) => n % 4 === 0);
    const mixedJoinS = round((performance.now() - joinStart) / 1000, 1);
    const mixed = await step(mixedRoom, sizes.mixedParticipants, mixedFailures, sizes, measure);
    const firstFrame = await benchFirstFrame(origin, mixedRoom, sizes);
    await mixedRoom.leaveAll();

    log(`capacity: all-video room, ${sizes.videoSteps.join(', ')} participants until one is not carried`);
    const videoRoom = new CapacityRoom(origin, await rooms.create(), pacer, MEDIA);
    const videoSteps: CapacityWindow[] = [];
    for (const size of sizes.videoSteps) {
      const failures = await videoRoom.grow(size - videoRoom.members.length, () => true);
      const w = await step(videoRoom, size, failures, sizes, measure);
      videoSteps.push(w);
      log(
        `  ${size}: ${w.cpuPercent}% of a core, ${w.forwardedPps} pps forwarded, ${w.receivedPps} received (${round(w.delivered * 100, 1)}% of sent), loss ${round(w.loss * 100, 2)}%, generator ${w.benchCpuPercent}% sending ${w.sentPps} of ${w.nominalPps} pps` +
          (w.carried ? '' : `: not carried${w.joinFailureCount ? ` (${w.joinFailureCount} joins failed: ${w.joinFailures[0]})` : ''}`),
      );
      if (!w.carried) break;
    }
    await videoRoom.leaveAll();
    const carried = videoSteps.filter((w) => w.carried);
    const last = videoSteps[videoSteps.length - 1];
    const videoLimitedBy = !last || last.carried ? 'sizes' : last.generatorLimited ? 'load generator' : 'server';
    return {
      pinned,
      media: { audioPps: AUDIO_PPS, audioBytes: [AUDIO_PAYLOAD[0] + 20, AUDIO_PAYLOAD[1] + 20], videoPps: VIDEO_PPS, videoBytes: VIDEO_PAYLOAD + 24, keyFrameEvery: VIDEO_PPS },
      settleS: sizes.settleS,
      windowS: sizes.windowS,
      loadAverage: { start: loadAtStart, end: os.loadavg().map((v) => round(v, 2)) },
      signalingVia: direct ? 'worker' : 'wrangler-proxy',
      mixed,
      mixedJoinS,
      videoSteps,
      largestVideoRoom: carried.length ? carried[carried.length - 1]!.size : 0,
      videoLimitedBy,
      projectedVideoRoom: projectRoom(carried),
      firstFrame,
    };
  } catch (err) {
    // What the servers said last (a media server that died says why).
    const tail = (s: string) => s.split('\n').filter((l) => !l.includes('"event":"session-')).join('\n').slice(-3000);
    throw new Error(
      `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\nmedia server output:\n${tail(sfu.output())}\nwrangler output:\n${tail(atrium?.output() ?? '')}`,
    );
  } finally {
    pacer.stop();
    // The rest of the bench runs unpinned.
    if (pinned) pin(process.pid, `0-${cpus - 1}`);
    await atrium?.stop();
    await sfu.stop();
  }
}

/** Solves the fitted CPU line for 100 %, then N(N − 1) × (audio + video pps) = those forwarded pps for N. */
function projectRoom(steps: CapacityWindow[]): number | null {
  if (steps.length < 2) return null;
  const fit = leastSquares(
    steps.map((w) => w.forwardedPps ?? 0),
    steps.map((w) => w.cpuPercent),
  );
  if (fit.slope <= 0) return null;
  const pps = (100 - fit.intercept) / fit.slope;
  return Math.floor((1 + Math.sqrt(1 + (4 * pps) / (AUDIO_PPS + VIDEO_PPS))) / 2);
}

/** Sets the CPU affinity of every thread of `pid` (threads it starts later inherit it). */
function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Waits for every line to flow, settles, measures one window. */
async function step(room: CapacityRoom, size: number, joinFailures: string[], sizes: CapacitySizes, measure: (room: CapacityRoom) => Promise<CapacityWindow>): Promise<CapacityWindow> {
  const missing = await room.waitForMedia(sizes.mediaTimeoutS * 1000);
  await sleep(sizes.settleS * 1000);
  const w = await measure(room);
  w.size = size;
  w.joinFailures = joinFailures.slice(0, 5);
  w.joinFailureCount = joinFailures.length;
  w.missing = missing.slice(0, 10);
  w.missingCount = missing.length;
  return judge(w);
}

interface ServerStats {
  detail: { sessions: { published: { packets: number; forwarded: number }[] }[] }[];
}

/** The server's packet counters, or null when it does not answer in time (a server past its limit may not). */
async function serverCounters(sfu: MediaServer): Promise<{ packets: number; forwarded: number } | null> {
  const res = await sfu.call<ServerStats>('GET', '/v1/stats').catch(() => null);
  if (res?.status !== 200) return null;
  let packets = 0;
  let forwarded = 0;
  for (const room of res.body.detail) {
    for (const s of room.sessions) {
      for (const p of s.published) {
        packets += p.packets;
        forwarded += p.forwarded;
      }
    }
  }
  return { packets, forwarded };
}

async function measureWindow(sfu: MediaServer, pid: number, room: CapacityRoom, pacer: MediaPacer, seconds: number): Promise<CapacityWindow> {
  // Everything but the server's counters is read at once, with nothing awaited in between, at both
  // ends of the window; the counters (an HTTP request each) just before and just after, and their
  // rates are over the time between the two answers.
  const snapshot = () => ({
    at: performance.now(),
    server: processCpu(pid),
    bench: processCpu(process.pid),
    lines: room.totals(),
    skipped: pacer.skipped,
    drops: { server: udpDrops(pid), bench: udpDrops(process.pid) },
  });
  const counters0 = await serverCounters(sfu);
  const countersAt0 = performance.now();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const a = snapshot();
  await sleep(seconds * 1000);
  const b = snapshot();
  delay.disable();
  const counters1 = await serverCounters(sfu);
  const countersDt = (performance.now() - countersAt0) / 1000;
  const dt = (b.at - a.at) / 1000;
  const pct = (cpu: number) => round((cpu / dt) * 100, 2);
  const pps = (n: number) => round(n / dt, 1);
  const server = (pick: (c: { packets: number; forwarded: number }) => number) => (counters0 && counters1 ? round((pick(counters1) - pick(counters0)) / countersDt, 1) : null);
  const { loss, worst, silent } = lossOf(a.lines, b.lines);
  return judge({
    size: room.members.length,
    participants: room.members.length,
    videoPublishers: room.videoPublishers,
    seconds: round(dt, 2),
    cpuPercent: pct(b.server.total - a.server.total),
    mainThreadPercent: pct(b.server.main - a.server.main),
    nominalPps: room.members.length * AUDIO_PPS + room.videoPublishers * VIDEO_PPS,
    sentPps: pps(b.lines.sent - a.lines.sent),
    skippedPps: pps(b.skipped - a.skipped),
    ingressPps: server((c) => c.packets),
    forwardedPps: server((c) => c.forwarded),
    receivedPps: pps(b.lines.packets - a.lines.packets),
    delivered: round((b.lines.packets - a.lines.packets) / Math.max(1, (b.lines.sent - a.lines.sent) * (room.members.length - 1)), 4),
    loss: round(loss, 5),
    worstSubscriberLoss: round(worst, 5),
    silentLines: silent,
    missing: [],
    missingCount: 0,
    joinFailures: [],
    joinFailureCount: 0,
    udpDrops: { server: b.drops.server - a.drops.server, bench: b.drops.bench - a.drops.bench },
    benchCpuPercent: pct(b.bench.total - a.bench.total),
    benchLoopDelayMs: { p99: round(delay.percentile(99) / 1e6, 1), max: round(delay.max / 1e6, 1) },
    rssMiB: round(b.server.rssKiB / 1024, 1),
    threads: byThreadName(pid, a.server, b.server, dt),
    carried: false,
    generatorLimited: false,
  });
}

/**
 * Whether a window's size was carried, and whether the load generator rather than the server is
 * to blame when it was not: it did not offer the nominal load, or something failed while it was
 * past 90 % of its core (its own lateness cannot then be told apart from the server's).
 */
function judge(w: CapacityWindow): CapacityWindow {
  const ok = w.cpuPercent <= 100 && w.loss < MAX_LOSS && w.delivered >= MIN_DELIVERED && w.silentLines === 0 && w.missingCount === 0 && w.joinFailureCount === 0 && w.forwardedPps !== null;
  w.generatorLimited = w.sentPps < GENERATOR_MIN_SENT * w.nominalPps || (!ok && w.benchCpuPercent > GENERATOR_BUSY_PERCENT);
  w.carried = ok && !w.generatorLimited;
  return w;
}

/** Loss over a window, every line together and per subscriber (the worst), and lines that received nothing. */
function lossOf(a: LineTotals, b: LineTotals): { loss: number; worst: number; silent: number } {
  const ratio = (lost: number, expected: number) => (expected > 0 ? Math.max(0, lost) / expected : 0);
  const expected = b.expected - a.expected;
  let worst = 0;
  for (const [member, end] of b.perMember) {
    const start = a.perMember.get(member) ?? { packets: 0, expected: 0 };
    const e = end.expected - start.expected;
    worst = Math.max(worst, ratio(e - (end.packets - start.packets), e));
  }
  let silent = 0;
  for (const [line, packets] of b.perLine) if (a.perLine.has(line) && packets === a.perLine.get(line)) silent++;
  return { loss: ratio(expected - (b.packets - a.packets), expected), worst, silent };
}

// ---- First frame ----

/**
 * Joiners (publishing audio they do not send, to have a first offer to make) arrive one at a time
 * in the room while its media flows; each is timed from its `connect` to its first video packet,
 * then leaves, and the room settles a second before the next.
 */
async function benchFirstFrame(baseUrl: string, room: CapacityRoom, sizes: CapacitySizes): Promise<CapacityFirstFrame> {
  const samples: { total: number; connected: number; answered: number; pcConnected: number; firstAudio: number }[] = [];
  for (let i = 0; i < sizes.firstFrameWarmup + sizes.firstFrameJoins; i++) {
    const p = await SignalingParticipant.join({ baseUrl, room: room.name, identity: `joiner${i}`, audio: true, video: false, keepPackets: 0 });
    try {
      const deadline = Date.now() + 20_000;
      const firstOf = (kind: string) => {
        const at = p.lines().filter((l) => l.kind === kind && l.firstAt !== null).map((l) => l.firstAt!);
        return at.length ? Math.min(...at) : null;
      };
      while (firstOf('video') === null) {
        if (Date.now() > deadline) throw new Error(`joiner${i} received no video in 20 s: ${JSON.stringify(p.media.summary()).slice(0, 1500)}`);
        await sleep(5);
      }
      if (i >= sizes.firstFrameWarmup) {
        const t0 = p.times.connectSent;
        const video = firstOf('video')!;
        samples.push({
          total: video - t0,
          connected: p.times.connected - t0,
          answered: (p.times.answered || video) - t0,
          pcConnected: (p.media.connectedAt ?? video) - t0,
          firstAudio: (firstOf('audio') ?? video) - t0,
        });
      }
    } finally {
      await p.leave().catch(() => p.close());
    }
    await sleep(1000);
  }
  const of = (pick: (s: (typeof samples)[number]) => number) => summarize(samples.map(pick));
  return {
    roomSize: room.members.length,
    joins: samples.length,
    total: of((s) => s.total),
    connected: of((s) => s.connected),
    answered: of((s) => s.answered),
    pcConnected: of((s) => s.pcConnected),
    firstAudio: of((s) => s.firstAudio),
  };
}

/** Group rooms created over REST (the development account), a new unique name each. */
class RoomNames {
  private count = 0;
  private readonly run = Date.now().toString(36);
  constructor(private readonly url: string) {}

  async create(): Promise<string> {
    const name = `capacity-${this.run}-${++this.count}`;
    const res = await fetch(`${this.url}/v1/Rooms`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${DEV_CREDENTIALS.accountSid}:${DEV_CREDENTIALS.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ UniqueName: name, Type: 'group', MaxParticipants: '50' }).toString(),
    });
    const body = (await res.json()) as { message?: string };
    if (res.status !== 201) throw new Error(`creating a group room: ${res.status} ${body.message ?? ''}`);
    return name;
  }
}
