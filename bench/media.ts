/// <reference types="node" />
/**
 * CPU per forwarded packet of the media server, against the cost of SRTP's cryptography alone.
 *
 *   server   the built media server (`npm run sfu`'s bundle) in a process of its own, driven through
 *            its control API by synthetic participants in this process (no Worker): one publisher
 *            sending audio (50 pps, 100–160 B) and video (100 pps, ~1,060 B, a key frame a second),
 *            and 0, 1, 2, 4, … subscribers receiving both tracks, added step by step to one room.
 *            Each step settles, then its CPU time (user + system of every thread, from /proc) and
 *            forwarded packets (the publication's counters in GET /v1/stats) are read over a window.
 *            The slope of CPU over forwarded packets per second (least squares over the steps with
 *            subscribers) is what one more forwarded packet costs.
 *   floor    SRTP's work for the same packets with Node's crypto, in this process alone: AES-128 in
 *            counter mode over the payload and HMAC-SHA1 (80-bit tag) over the packet, once to check
 *            and decrypt, once to encrypt and tag: what any SFU must do per forwarded packet.
 *   js       the media server's own JavaScript per packet (Publication.onRtp and the forwarders'
 *            header rewriting, imported from media-server/src), with outputs that send nothing:
 *            what the slope spends in JS, apart from the native callback and send path.
 *   send     the native send path alone: `sendMessageBinary` of the forwarded packets on open
 *            node-datachannel tracks (with the NACK responder the media server puts on every line),
 *            as many connections as the largest step has subscribers and at the publisher's packet
 *            rate, between connections in this process over loopback, timed as this process's main
 *            thread CPU: the binding's call and copy, libsrtp's protect, and the UDP send.
 *
 * The synthetic participants run in this process, so their own native threads (ICE, DTLS, SRTP)
 * never count toward the media server's CPU.
 */
import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ndc from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { Forwarder } from '../media-server/src/media/forwarder';
import { Publication } from '../media-server/src/media/publication';
import { controlClient } from '../media-server/test/support/control';
import { oneByteExtensions, rtpPacket, senderReportPacket, SyntheticParticipant, vp8Payload } from '../media-server/test/support/synthetic-participant';
import { startMediaServer } from '../test/node/support/media-server';
import type { ProcessCpu } from './proc';
import { pidListeningOn, processCpu } from './proc';
import { pool, round, sleep } from './stats';

export interface MediaCpuSizes {
  /** Subscriber counts, in increasing order; a step without subscribers is measured first. */
  steps: number[];
  settleS: number;
  windowS: number;
  /** Packets for the SRTP floor and the JS path, per round (3 rounds; the median is kept). */
  floorPackets: number;
  /** Packets for the native send path, per round (3 rounds, each also timed without the sends). */
  sendPackets: number;
}

/** What the publisher sends. */
const AUDIO_PPS = 50;
const VIDEO_PPS = 100;
/** Audio packets of 100–160 bytes (12-byte header, 8 bytes of extensions, 80–140 of payload). */
const AUDIO_PAYLOAD = { min: 80, max: 140 };
/** Video payload (a VP8 descriptor and filler); with the header and extensions, 1,064-byte packets. */
const VIDEO_PAYLOAD = 1040;
const KEY_FRAME_EVERY = 100;
/** The extension ids the synthetic participant declares for the audio level and the mid. */
const AUDIO_LEVEL_EXT = 1;
const MID_EXT = 4;

export interface MediaCpuStep {
  subscribers: number;
  seconds: number;
  /** CPU of the media server process (every thread), % of one core. */
  cpuPercent: number;
  /** Of which its main thread (JavaScript, and the native work called from it, such as sending). */
  mainThreadPercent: number;
  /** Of which its other threads (libdatachannel and libjuice: receiving, decrypting, timers). */
  otherThreadsPercent: number;
  /** RTP packets the publisher sent per second (audio and video). */
  ingressPps: number;
  /** RTP packets the server forwarded per second (its publications' `forwarded` counters). */
  forwardedPps: number;
  /** RTP packets the subscribers received per second (a cross-check of forwardedPps). */
  receivedPps: number;
  rssMiB: number;
}

export interface SrtpFloor {
  packets: number;
  /** Per packet of the mix (1 audio : 2 video), µs: checking the tag and decrypting. */
  decryptUs: number;
  /** Encrypting and tagging. */
  encryptUs: number;
  /** Both: what an SFU does per packet it forwards to one subscriber. */
  usPerPacket: number;
}

export interface JsPath {
  subscribers: number;
  /** µs of the media server's JS per forwarded packet, with this many subscribers (outputs that send nothing), above a packet that has none. */
  usPerForwardedPacket: number;
  /** µs of JS per incoming packet with no subscriber (sequence bookkeeping, key frame check). */
  usPerIncomingPacket: number;
}

export interface MediaCpuPhase {
  publisher: { audioPps: number; videoPps: number; audioBytes: [number, number]; videoBytes: number; keyFrameEvery: number };
  settleS: number;
  windowS: number;
  steps: MediaCpuStep[];
  /** Least squares of CPU over forwarded pps, steps with subscribers: µs of CPU per forwarded packet. */
  slopeUsPerPacket: number;
  slopeMainThreadUs: number;
  slopeOtherThreadsUs: number;
  /** Where that line meets 0 forwarded pps, % of a core. */
  interceptPercent: number;
  /** How well the line fits the steps (1: exactly). CPU on this shared VM moves between windows of the same load. */
  r2: number;
  /** The largest step: all its CPU ÷ its forwarded pps, and its memory. */
  atLargest: { subscribers: number; usPerPacket: number; rssMiB: number; threads: { name: string; count: number; cpuPercent: number }[] };
  floor: SrtpFloor;
  /** slopeUsPerPacket ÷ floor.usPerPacket. */
  ratioToFloor: number;
  js: JsPath;
  send: NativeSend;
}

export interface NativeSend {
  packets: number;
  /** Connections a packet is sent on, one after the other (the fan-out). */
  connections: number;
  /** Main-thread CPU per sendMessageBinary of a forwarded packet (the mix, extensions stripped), µs. */
  usPerPacket: number;
}

export async function benchMediaCpu(sizes: MediaCpuSizes, log: (line: string) => void): Promise<MediaCpuPhase> {
  log(`SRTP floor and the media server's JS path (${sizes.floorPackets} packets × 3 rounds), native send path (${sizes.sendPackets} packets × 3 rounds)`);
  const floor = srtpFloor(sizes.floorPackets);
  const js = jsPath(sizes.floorPackets, sizes.steps[sizes.steps.length - 1] ?? 1);
  const send = await nativeSendPath(sizes.sendPackets, sizes.steps[sizes.steps.length - 1] ?? 1);
  log(`media server CPU (${[0, ...sizes.steps].join(', ')} subscribers; ${sizes.settleS} s settle, ${sizes.windowS} s window each)`);
  const { steps, threads } = await serverSteps(sizes);
  const loaded = steps.filter((s) => s.subscribers > 0);
  // % of a core per packet/s × 1e4 = µs per packet.
  const fit = (pick: (s: MediaCpuStep) => number) =>
    leastSquares(
      loaded.map((s) => s.forwardedPps),
      loaded.map(pick),
    );
  const all = fit((s) => s.cpuPercent);
  const slopeUs = round(all.slope * 1e4, 2);
  const largest = steps[steps.length - 1]!;
  return {
    publisher: { audioPps: AUDIO_PPS, videoPps: VIDEO_PPS, audioBytes: [AUDIO_PAYLOAD.min + 20, AUDIO_PAYLOAD.max + 20], videoBytes: VIDEO_PAYLOAD + 24, keyFrameEvery: KEY_FRAME_EVERY },
    settleS: sizes.settleS,
    windowS: sizes.windowS,
    steps,
    slopeUsPerPacket: slopeUs,
    slopeMainThreadUs: round(fit((s) => s.mainThreadPercent).slope * 1e4, 2),
    slopeOtherThreadsUs: round(fit((s) => s.otherThreadsPercent).slope * 1e4, 2),
    interceptPercent: round(all.intercept, 2),
    r2: round(all.r2, 3),
    atLargest: { subscribers: largest.subscribers, usPerPacket: round((largest.cpuPercent * 1e4) / largest.forwardedPps, 2), rssMiB: largest.rssMiB, threads },
    floor,
    ratioToFloor: round(slopeUs / floor.usPerPacket, 2),
    js,
    send,
  };
}

// ---- The media server under load ----

export type ThreadCpu = MediaCpuPhase['atLargest']['threads'];

async function serverSteps(sizes: MediaCpuSizes): Promise<{ steps: MediaCpuStep[]; threads: ThreadCpu }> {
  const sfu = await startMediaServer();
  const pid = pidListeningOn(sfu.port, 'media-server.mjs');
  if (pid === null) {
    await sfu.stop();
    throw new Error(`media server process on port ${sfu.port} not found in /proc`);
  }
  const control = controlClient(sfu.url, sfu.secret);
  const room = `RMbench${Date.now().toString(36)}`;
  const publisher = new SyntheticParticipant({
    control,
    room,
    participant: 'PApublisher',
    videoPps: VIDEO_PPS,
    videoPacketBytes: VIDEO_PAYLOAD,
    keyFrameInterval: KEY_FRAME_EVERY,
    keepPackets: 0,
  });
  const subscribers: SyntheticParticipant[] = [];
  const sender = new PacedSender(publisher);
  try {
    await publisher.join();
    await publisher.waitConnected();
    sender.start();
    const steps: MediaCpuStep[] = [];
    let threads: ThreadCpu = [];
    for (const n of [0, ...sizes.steps]) {
      const fresh: SyntheticParticipant[] = [];
      for (let i = subscribers.length; i < n; i++) {
        // Publishes an audio line it never sends on: a subscriber needs a first offer to make.
        fresh.push(new SyntheticParticipant({ control, room, participant: `PAsub${i}`, video: false, keepPackets: 0 }));
      }
      await pool(fresh.length, 4, async (i) => {
        const s = fresh[i]!;
        await s.join();
        await s.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
        await s.waitConnected();
      });
      subscribers.push(...fresh);
      await Promise.all(fresh.map((s) => s.waitForMedia(publisher, 'video', 5, 15_000)));
      await sleep(sizes.settleS * 1000);
      const measured = await measureWindow(sfu.call.bind(sfu), pid, publisher, subscribers, sender, sizes.windowS);
      steps.push(measured.step);
      threads = measured.threads;
    }
    return { steps, threads };
  } finally {
    sender.stop();
    for (const s of [publisher, ...subscribers]) s.close();
    await sfu.stop();
  }
}

interface PublishedStats {
  detail: { room: string; sessions: { id: string; published: { key: string; packets: number; forwarded: number }[] }[] }[];
}

async function measureWindow(
  call: (method: string, path: string) => Promise<{ status: number; body: unknown }>,
  pid: number,
  publisher: SyntheticParticipant,
  subscribers: SyntheticParticipant[],
  sender: PacedSender,
  seconds: number,
): Promise<{ step: MediaCpuStep; threads: ThreadCpu }> {
  const forwarded = async () => {
    const res = await call('GET', '/v1/stats');
    if (res.status !== 200) throw new Error(`GET /v1/stats → ${res.status}`);
    const session = (res.body as PublishedStats).detail.flatMap((r) => r.sessions).find((s) => s.id === publisher.session);
    return (session?.published ?? []).reduce((sum, p) => sum + p.forwarded, 0);
  };
  const received = () => subscribers.reduce((sum, s) => sum + [...s.received.values()].reduce((n, r) => n + r.packets, 0), 0);
  const f0 = await forwarded();
  const r0 = received();
  const s0 = sender.sent;
  const c0 = processCpu(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c1 = processCpu(pid);
  const t1 = performance.now();
  const s1 = sender.sent;
  const r1 = received();
  const f1 = await forwarded();
  const dt = (t1 - t0) / 1000;
  const pct = (cpu: number) => round((cpu / dt) * 100, 2);
  const step = {
    subscribers: subscribers.length,
    seconds: round(dt, 2),
    cpuPercent: pct(c1.total - c0.total),
    mainThreadPercent: pct(c1.main - c0.main),
    otherThreadsPercent: pct(c1.total - c0.total - (c1.main - c0.main)),
    ingressPps: round((s1 - s0) / dt, 1),
    forwardedPps: round((f1 - f0) / dt, 1),
    receivedPps: round((r1 - r0) / dt, 1),
    rssMiB: round(c1.rssKiB / 1024, 1),
  };
  return { step, threads: byThreadName(pid, c0, c1, dt) };
}

/** CPU per thread name over a window (threads alive at both ends), % of one core, busiest first. */
export function byThreadName(pid: number, a: ProcessCpu, b: ProcessCpu, dt: number): ThreadCpu {
  const before = new Map(a.threads.map((t) => [t.tid, t.cpuSeconds]));
  const out = new Map<string, { count: number; cpu: number }>();
  for (const t of b.threads) {
    const prior = before.get(t.tid);
    if (prior === undefined) continue;
    const name = t.tid === pid ? `${t.comm} (main)` : t.comm;
    const entry = out.get(name) ?? { count: 0, cpu: 0 };
    entry.count++;
    entry.cpu += t.cpuSeconds - prior;
    out.set(name, entry);
  }
  return [...out]
    .map(([name, v]) => ({ name, count: v.count, cpuPercent: round((v.cpu / dt) * 100, 2) }))
    .filter((t) => t.cpuPercent > 0)
    .sort((x, y) => y.cpuPercent - x.cpuPercent);
}

/**
 * Sends the publisher's media at exact average rates (a 5 ms timer that sends whatever is due, so
 * timer drift does not lower the rate): video through the synthetic participant (which answers
 * PLIs with key frames), audio built here to have browser-like sizes, and a sender report of the
 * audio stream every second (the media server passes each on to every subscriber).
 */
class PacedSender {
  sent = 0;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private audio = 0;
  private video = 0;
  private reports = 0;
  private audioSeq = Math.floor(Math.random() * 0x10000);
  private audioTs = Math.floor(Math.random() * 0x7fffffff);
  private audioOctets = 0;

  constructor(private readonly p: SyntheticParticipant) {}

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), 5);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const elapsed = (performance.now() - this.startedAt) / 1000;
    while (this.video < Math.floor(elapsed * VIDEO_PPS)) {
      this.video++;
      if (this.p.sendVideo()) this.sent++;
    }
    while (this.audio < Math.floor(elapsed * AUDIO_PPS)) {
      this.audio++;
      if (this.sendAudio()) this.sent++;
    }
    if (this.reports < Math.floor(elapsed)) {
      this.reports++;
      const ntp = ntpNow();
      this.p.sendRtcp(this.p.audioMid!, senderReportPacket(this.p.audioSsrc, ntp, this.audioTs, this.audio, this.audioOctets));
    }
  }

  private sendAudio(): boolean {
    const seq = this.audioSeq;
    this.audioSeq = (seq + 1) & 0xffff;
    this.audioTs = (this.audioTs + 960) >>> 0;
    const size = AUDIO_PAYLOAD.min + Math.floor(Math.random() * (AUDIO_PAYLOAD.max - AUDIO_PAYLOAD.min + 1));
    const ext = oneByteExtensions([
      [AUDIO_LEVEL_EXT, Buffer.from([0x80 | 30])],
      [MID_EXT, Buffer.from(this.p.audioMid!)],
    ]);
    const packet = rtpPacket({ payloadType: this.p.audioPayloadType, seq, timestamp: this.audioTs, ssrc: this.p.audioSsrc, extension: ext, payload: randomBytes(size) });
    this.audioOctets += size;
    // sendRtcp sends any packet on the line: here, RTP of browser-like sizes the participant cannot make itself.
    return this.p.sendRtcp(this.p.audioMid!, packet);
  }
}

function ntpNow(): bigint {
  const ms = Date.now() + 2_208_988_800_000;
  return (BigInt(Math.floor(ms / 1000)) << 32n) | BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
}

export function leastSquares(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  if (n === 0) return { slope: 0, intercept: 0, r2: 0 };
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  // A single step: the line through the origin.
  if (sxx === 0) return { slope: mx > 0 ? my / mx : 0, intercept: 0, r2: 0 };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}

// ---- Packets of the publisher's mix ----

/** One audio and two video packets in every three, as the publisher sends them (with its header extensions). */
function packetMix(count: number): Buffer[] {
  const ssrcA = 0x1234567;
  const ssrcV = 0x7654321;
  const out: Buffer[] = [];
  let seq = 1000;
  for (let i = 0; i < count; i++) {
    seq++;
    if (i % 3 === 0) {
      const size = AUDIO_PAYLOAD.min + ((i * 7) % (AUDIO_PAYLOAD.max - AUDIO_PAYLOAD.min + 1));
      const ext = oneByteExtensions([
        [AUDIO_LEVEL_EXT, Buffer.from([0x80 | 30])],
        [MID_EXT, Buffer.from('0')],
      ]);
      out.push(rtpPacket({ payloadType: 111, seq, timestamp: seq * 960, ssrc: ssrcA, extension: ext, payload: randomBytes(size) }));
    } else {
      const ext = oneByteExtensions([
        [2, Buffer.from([1, 2, 3])],
        [MID_EXT, Buffer.from('1')],
      ]);
      const payload = vp8Payload({ keyFrame: i % (3 * KEY_FRAME_EVERY) === 1, pictureId: seq & 0x7fff, size: VIDEO_PAYLOAD });
      out.push(rtpPacket({ payloadType: 96, seq, timestamp: seq * 900, ssrc: ssrcV, marker: true, extension: ext, payload }));
    }
  }
  return out;
}

const headerLength = (p: Buffer): number => {
  let offset = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) offset += 4 + 4 * p.readUInt16BE(offset + 2);
  return offset;
};

// ---- The floor: SRTP's cryptography with Node's crypto ----

/**
 * RFC 3711 with the default profile (AES_CM_128_HMAC_SHA1_80): the keystream IV is the session
 * salt XOR the SSRC and packet index; the tag is HMAC-SHA1 over the packet and the rollover counter,
 * truncated to 10 bytes. Keys are random: deriving them is per session, not per packet.
 */
function srtpFloor(packets: number): SrtpFloor {
  const keys = { enc: randomBytes(16), auth: randomBytes(20), salt: randomBytes(14) };
  const plain = packetMix(300);
  const roc = Buffer.alloc(4);
  const iv = (p: Buffer) => {
    const v = Buffer.alloc(16);
    keys.salt.copy(v, 0);
    const ssrc = p.readUInt32BE(8);
    const index = p.readUInt16BE(2); // rollover counter 0
    v.writeUInt32BE((v.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    v.writeUInt16BE(v.readUInt16BE(12) ^ index, 12);
    return v;
  };
  const encrypt = (p: Buffer): Buffer => {
    const h = headerLength(p);
    const cipher = createCipheriv('aes-128-ctr', keys.enc, iv(p));
    const body = Buffer.concat([p.subarray(0, h), cipher.update(p.subarray(h)), cipher.final()]);
    const tag = createHmac('sha1', keys.auth).update(body).update(roc).digest().subarray(0, 10);
    return Buffer.concat([body, tag]);
  };
  const decrypt = (s: Buffer): Buffer => {
    const body = s.subarray(0, s.length - 10);
    const tag = createHmac('sha1', keys.auth).update(body).update(roc).digest().subarray(0, 10);
    if (!timingSafeEqual(tag, s.subarray(s.length - 10))) throw new Error('SRTP floor: tag mismatch');
    const h = headerLength(body);
    const decipher = createCipheriv('aes-128-ctr', keys.enc, iv(body));
    return Buffer.concat([body.subarray(0, h), decipher.update(body.subarray(h)), decipher.final()]);
  };
  const sealed = plain.map(encrypt);
  if (!decrypt(sealed[1]!).equals(plain[1]!)) throw new Error('SRTP floor: round trip failed');
  // Warm up, then rounds that each time decryption of every packet, then encryption.
  for (let i = 0; i < Math.min(2000, packets); i++) encrypt(decrypt(sealed[i % sealed.length]!));
  const dec: number[] = [];
  const enc: number[] = [];
  for (let round = 0; round < 3; round++) {
    const clear: Buffer[] = new Array(packets);
    let t = performance.now();
    for (let i = 0; i < packets; i++) clear[i] = decrypt(sealed[i % sealed.length]!);
    dec.push(((performance.now() - t) * 1000) / packets);
    t = performance.now();
    for (let i = 0; i < packets; i++) encrypt(clear[i]!);
    enc.push(((performance.now() - t) * 1000) / packets);
  }
  const decryptUs = median(dec);
  const encryptUs = median(enc);
  return { packets, decryptUs: round(decryptUs, 2), encryptUs: round(encryptUs, 2), usPerPacket: round(decryptUs + encryptUs, 2) };
}

// ---- The media server's JavaScript per packet ----

/**
 * Publication.onRtp with `subscribers` forwarders per track whose output sends nothing, and with
 * none: the difference per forwarder is the JS a forwarded packet costs.
 */
function jsPath(packets: number, subscribers: number): JsPath {
  const run = (sinks: number): number => {
    const noop = { sendRtcp: () => undefined };
    const pubs = { audio: new Publication('bench/audio', 'audio', 'OPUS', 1, noop), video: new Publication('bench/video', 'video', 'VP8', 1, noop) };
    for (let i = 0; i < sinks; i++) {
      pubs.audio.sinks.add(new Forwarder(100 + i, 111, 48_000, false, { send: () => true }));
      pubs.video.sinks.add(new Forwarder(200 + i, 96, 90_000, true, { send: () => true }));
    }
    const mix = packetMix(3 * KEY_FRAME_EVERY);
    const seq = { audio: 0, video: 0 };
    // Each packet with the next sequence number of its stream, so that nothing looks lost or late
    // (onRtp rewrites a copy, never its input).
    const feed = (i: number) => {
      const p = mix[i % mix.length]!;
      const kind = i % 3 === 0 ? 'audio' : 'video';
      seq[kind] = (seq[kind] + 1) & 0xffff;
      p.writeUInt16BE(seq[kind], 2);
      pubs[kind].onRtp(p, Date.now());
    };
    for (let i = 0; i < Math.min(2000, packets); i++) feed(i);
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      for (let i = 0; i < packets; i++) feed(i);
      times.push(((performance.now() - t) * 1000) / packets);
    }
    return median(times);
  };
  const incoming = run(0);
  const loaded = run(subscribers);
  return { subscribers, usPerForwardedPacket: round((loaded - incoming) / subscribers, 3), usPerIncomingPacket: round(incoming, 3) };
}

// ---- The native send path ----

/** CPU time of this process's main thread so far, ns (the scheduler's own count: finer than /proc/<pid>/stat's ticks). */
function mainThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

/**
 * `connections` pairs of node-datachannel connections in this process, each sending video to its
 * partner over loopback: the media server's fan-out to that many subscribers, one packet to every
 * connection per burst, at the publisher's packet rate (150 bursts a second). The main thread's CPU
 * with the sends, minus the same loop's without them, per packet. The receiving sides set no
 * message callback, so their work stays on their native threads.
 */
async function nativeSendPath(packets: number, connections: number): Promise<NativeSend> {
  const intervalMs = 1000 / (AUDIO_PPS + VIDEO_PPS);
  const pcs: PeerConnection[] = [];
  const retained: Track[] = [];
  try {
    const tracks: Track[] = [];
    for (let k = 0; k < connections; k++) {
      const a = new ndc.PeerConnection(`bench-send-${k}`, { iceServers: [], bindAddress: '127.0.0.1' });
      const b = new ndc.PeerConnection(`bench-receive-${k}`, { iceServers: [], bindAddress: '127.0.0.1' });
      pcs.push(a, b);
      a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
      a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
      b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
      b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));
      b.onTrack((t) => retained.push(t));
      const video = new ndc.Video('0', 'SendOnly');
      video.addVP8Codec(96);
      video.addSSRC(0x5eed + k, 'bench', 'bench-stream', 'bench-track');
      const track = a.addTrack(video);
      retained.push(track);
      // As the media server does on every line it sends on.
      track.setMediaHandler(new ndc.RtcpNackResponder(1024));
      a.setLocalDescription();
      tracks.push(track);
    }
    const deadline = Date.now() + 15_000;
    while (!tracks.every((t) => t.isOpen())) {
      if (Date.now() > deadline) throw new Error(`native send path: ${tracks.filter((t) => !t.isOpen()).length} of ${connections} tracks did not open`);
      await sleep(10);
    }
    // What a forwarder hands the binding: header extensions stripped.
    const mix = packetMix(300).map((p) => {
      const h = headerLength(p);
      const out = Buffer.concat([p.subarray(0, 12), p.subarray(h)]);
      out[0] = out[0]! & ~0x10;
      return out;
    });
    let seq = 0;
    const paced = async (count: number, send: boolean): Promise<number> => {
      const t0 = mainThreadNs();
      const start = performance.now();
      for (let sent = 0, n = 0; sent < count; n++) {
        const p = mix[n % mix.length]!;
        seq = (seq + 1) & 0xffff;
        for (let k = 0; k < connections; k++, sent++) {
          p.writeUInt16BE(seq, 2);
          p.writeUInt32BE(0x5eed + k, 8);
          if (send) tracks[k]!.sendMessageBinary(p);
        }
        await sleep(Math.max(0, start + (n + 1) * intervalMs - performance.now()));
      }
      return mainThreadNs() - t0;
    };
    await paced(Math.min(1000, packets), true);
    const per: number[] = [];
    for (let r = 0; r < 3; r++) {
      const idle = await paced(packets, false);
      const busy = await paced(packets, true);
      per.push((busy - idle) / 1000 / packets);
    }
    return { packets, connections, usPerPacket: round(median(per), 2) };
  } finally {
    for (const pc of pcs) pc.close();
    retained.length = 0;
  }
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
