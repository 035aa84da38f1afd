/**
 * A track's RTP packets into a Matroska file (src/recording/track-writer.ts), with real media:
 * ffmpeg encodes VP8, H.264 and Opus, test/support/encoded-media.ts packetizes them as a browser
 * does, and the files that come out are checked with ffprobe (codec, duration), decoded by ffmpeg
 * without an error, and read back packet by packet (mediabunny) against the frames that were sent:
 * clean streams, loss with reordering and duplicates, a pause, timestamp and sequence wraps, an
 * SSRC change, malformed input, and a file cut by a crash repaired by finalizePartial.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncodedPacketSink, FilePathSource, Input, MATROSKA } from 'mediabunny';
import { afterAll, describe, expect, test } from 'vitest';
import { finalizePartial, TrackWriter, type TrackWriterOptions } from '../src/recording/track-writer';
import { rtpStream, type EncodedFrame, type MediaKind, type RtpStream } from './support/encoded-media';
import { sleep, waitFor } from './support/wait';

const dir = mkdtempSync(join(tmpdir(), 'atrium-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const OPTIONS: Record<MediaKind, Omit<TrackWriterOptions, 'path'>> = {
  opus: { kind: 'audio', codec: 'opus' },
  vp8: { kind: 'video', codec: 'VP8' },
  h264: { kind: 'video', codec: 'H264' },
};
const FFPROBE_CODEC: Record<MediaKind, string> = { opus: 'opus', vp8: 'vp8', h264: 'h264' };

interface Packets {
  packets: Buffer[];
  times: number[];
}

/** Pushes packets into a new writer; `during` sees the writer after each push. */
async function record(kind: MediaKind, input: Packets, during?: (w: TrackWriter) => void) {
  const path = join(dir, `${++files}-${kind}.${kind === 'opus' ? 'mka' : 'mkv'}`);
  const writer = await TrackWriter.open({ path, ...OPTIONS[kind] });
  input.packets.forEach((p, i) => {
    writer.push(p, input.times[i]!);
    during?.(writer);
  });
  const result = await writer.finish();
  return { path, writer, result };
}

function ffprobe(path: string): { codec: string; duration: number; width?: number; height?: number; channels?: number; sampleRate?: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name,width,height,channels,sample_rate', '-of', 'json', path], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { streams: { codec_name: string; width?: number; height?: number; channels?: number; sample_rate?: string }[]; format: { duration: string } };
  expect(out.streams).toHaveLength(1);
  const s = out.streams[0]!;
  return { codec: s.codec_name, duration: Number(out.format.duration), width: s.width, height: s.height, channels: s.channels, sampleRate: s.sample_rate ? Number(s.sample_rate) : undefined };
}

/** What ffmpeg reports while decoding every frame (nothing, for a clean file). */
function decodeErrors(path: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`;
}

/** The file's packets as a demuxer reads them back. */
async function blocks(path: string): Promise<{ ms: number; key: boolean; data: Uint8Array }[]> {
  const input = new Input({ source: new FilePathSource(path), formats: [MATROSKA] });
  try {
    const [track] = await input.getTracks();
    const out: { ms: number; key: boolean; data: Uint8Array }[] = [];
    for await (const p of new EncodedPacketSink(track!).packets()) out.push({ ms: Math.round(p.timestamp * 1000), key: p.type === 'key', data: p.data });
    return out;
  } finally {
    input.dispose();
  }
}

/** Media time a stream spans: its last frame's end (one frame interval, or the Opus packet's 20 ms). */
function truthMs(s: RtpStream): number {
  const last = s.frames.at(-1)!.ts - s.frames[0]!.ts;
  return ((last + (s.clockRate === 48_000 ? 960 : 3000)) * 1000) / s.clockRate;
}

/**
 * Every block of the file is one of the frames sent, byte for byte, at its time (after the first
 * block, which sits at 0); after frames missing, the next block is a key frame. Returns how many
 * frames were written and how many times writing resumed after a hole.
 */
function expectIntact(written: { ms: number; key: boolean; data: Uint8Array }[], s: RtpStream): { written: number; resumed: number } {
  const first = s.frames.findIndex((f) => Buffer.from(f.data).equals(Buffer.from(written[0]!.data)));
  expect(first).toBeGreaterThanOrEqual(0);
  const byMs = new Map<number, number>();
  s.frames.forEach((f, i) => byMs.set(Math.round(((f.ts - s.frames[first]!.ts) * 1000) / s.clockRate), i));
  let previous = -1;
  let resumed = 0;
  for (const b of written) {
    const i = byMs.get(b.ms);
    expect(i, `a block at ${b.ms} ms that was not sent`).toBeDefined();
    const frame: EncodedFrame = s.frames[i!]!;
    expect(Buffer.from(b.data).equals(Buffer.from(frame.data)), `block at ${b.ms} ms differs from the frame sent`).toBe(true);
    expect(b.key).toBe(frame.key);
    if (previous >= 0 && i !== previous + 1) {
      expect(frame.key, `block at ${b.ms} ms follows missing frames but is not a key frame`).toBe(true);
      resumed++;
    }
    previous = i!;
  }
  return { written: written.length, resumed };
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The network: `loss` of the packets dropped, `late` of them delayed 20–150 ms (as a NACK
 * retransmission is), `duplicate` of them sent twice; in arrival order.
 */
function impair(s: Packets, opts: { loss: number; late: number; duplicate: number; seed: number }): Packets & { dropped: number } {
  const rnd = random(opts.seed);
  const arrivals: { packet: Buffer; time: number; n: number }[] = [];
  let dropped = 0;
  s.packets.forEach((packet, n) => {
    if (rnd() < opts.loss) {
      dropped++;
      return;
    }
    const time = s.times[n]! + (rnd() < opts.late ? 20 + rnd() * 130 : 0);
    arrivals.push({ packet, time, n });
    if (rnd() < opts.duplicate) arrivals.push({ packet, time: time + 5, n });
  });
  arrivals.sort((a, b) => a.time - b.time || a.n - b.n);
  return { packets: arrivals.map((a) => a.packet), times: arrivals.map((a) => a.time), dropped };
}

/**
 * Removes the packets of media time [fromMs, toMs) and renumbers the rest: a paused track sends
 * nothing, and its sequence numbers continue (RFC 3550 §5.1) while its timestamps jump.
 */
function pause(s: RtpStream, fromMs: number, toMs: number): Packets {
  const base = s.packets[0]!.readUInt32BE(4);
  const keep = s.packets.map((p, i) => i).filter((i) => {
    const ms = (((s.packets[i]!.readUInt32BE(4) - base) >>> 0) * 1000) / s.clockRate;
    return ms < fromMs || ms >= toMs;
  });
  const seq0 = s.packets[0]!.readUInt16BE(2);
  const packets = keep.map((i, n) => {
    const p = Buffer.from(s.packets[i]!);
    p.writeUInt16BE((seq0 + n) & 0xffff, 2);
    return p;
  });
  return { packets, times: keep.map((i) => s.times[i]!) };
}

describe('clean streams', () => {
  test.each(['opus', 'vp8', 'h264'] as const)('%s: every frame, the right codec and duration, decodes cleanly', async (kind) => {
    const s = await rtpStream(kind, 5, { startMs: 1_000_000 });
    const { path, writer, result } = await record(kind, s);
    const probe = ffprobe(path);
    expect(probe.codec).toBe(FFPROBE_CODEC[kind]);
    if (kind === 'opus') expect([probe.channels, probe.sampleRate]).toEqual([2, 48_000]);
    else expect([probe.width, probe.height]).toEqual([320, 240]);
    expect(Math.abs(probe.duration * 1000 - truthMs(s))).toBeLessThan(100);
    expect(Math.abs(result.durationMs - truthMs(s))).toBeLessThan(100);
    expect(result.size).toBe(statSync(path).size);
    expect(writer.startedAt).toBe(1_000_000);
    expect(writer.wantsKeyFrame).toBe(false);
    expect(decodeErrors(path)).toBe('');
    const written = await blocks(path);
    expect(expectIntact(written, s)).toEqual({ written: s.frames.length, resumed: 0 });
    expect(written[0]!.ms).toBe(0);
    expect(writer.stats).toMatchObject({ packets: s.packets.length, malformed: 0, late: 0, lost: 0, framesDropped: 0 });
  });

  test('video written before its first key frame starts at the first key frame', async () => {
    const s = await rtpStream('vp8', 3);
    const from = s.packets.findIndex((_, i) => s.times[i]! >= 500);
    const { path, writer } = await record('vp8', { packets: s.packets.slice(from), times: s.times.slice(from) });
    const written = await blocks(path);
    expect(written[0]!.key).toBe(true);
    expect(Buffer.from(written[0]!.data).equals(Buffer.from(s.frames[30]!.data))).toBe(true); // -g 30: key frame at 1 s
    expect(writer.startedAt).toBe(1000);
    expectIntact(written, s);
    expect(decodeErrors(path)).toBe('');
  });
});

describe('a network that reorders, loses and duplicates', () => {
  test.each(['opus', 'vp8', 'h264'] as const)('%s: late packets (as NACK retransmissions) within 150 ms are waited for: nothing lost', async (kind) => {
    const s = await rtpStream(kind, 4);
    const { path, writer } = await record(kind, impair(s, { loss: 0, late: 0.1, duplicate: 0.03, seed: 7 }));
    expect(expectIntact(await blocks(path), s)).toEqual({ written: s.frames.length, resumed: 0 });
    expect(writer.stats.lost).toBe(0);
    expect(writer.stats.late).toBeGreaterThan(0); // the duplicates
    expect(decodeErrors(path)).toBe('');
  });

  test.each(['vp8', 'h264'] as const)('%s: one packet in twenty lost: broken frames are never written, video resumes at key frames', async (kind) => {
    const s = await rtpStream(kind, 8);
    const impaired = impair(s, { loss: 0.05, late: 0.05, duplicate: 0.01, seed: 11 });
    const wanted: boolean[] = [];
    const { path, writer, result } = await record(kind, impaired, (w) => wanted.push(w.wantsKeyFrame));
    expect(impaired.dropped).toBeGreaterThan(10);
    const written = await blocks(path);
    const { resumed } = expectIntact(written, s);
    expect(resumed).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(s.frames.length);
    expect(written.length).toBeGreaterThan(10);
    // Asked for a key frame after a loss, and got out of it.
    expect(wanted.indexOf(true, wanted.indexOf(false))).toBeGreaterThan(0);
    expect(writer.stats.lost).toBeGreaterThan(0);
    expect(decodeErrors(path)).toBe('');
    const probe = ffprobe(path);
    expect(probe.codec).toBe(FFPROBE_CODEC[kind]);
    // The file spans from the first key frame written to the last frame written.
    expect(Math.abs(probe.duration * 1000 - result.durationMs)).toBeLessThan(50);
    expect(result.durationMs).toBeGreaterThan(written.at(-1)!.ms);
  });

  test('opus: one packet in twenty lost is gaps in time, the duration stays right', async () => {
    const s = await rtpStream('opus', 8);
    const { path, result } = await record('opus', impair(s, { loss: 0.05, late: 0.05, duplicate: 0.01, seed: 3 }));
    const written = await blocks(path);
    expectIntact(written, s);
    expect(written.length).toBeLessThan(s.frames.length);
    expect(Math.abs(ffprobe(path).duration * 1000 - truthMs(s))).toBeLessThan(1000);
    expect(Math.abs(result.durationMs - truthMs(s))).toBeLessThan(1000);
    expect(decodeErrors(path)).toBe('');
  });
});

describe('timelines', () => {
  test.each(['opus', 'vp8'] as const)('%s: a 3 s pause mid-stream is a gap: the duration includes it', async (kind) => {
    const s = await rtpStream(kind, 8);
    const paused = pause(s, 2000, 5000);
    // Arrival after the pause is 60 ms later than RTP time says (the network's delay changed): times come from RTP.
    const times = paused.times.map((t) => (t >= 5000 ? t + 60 : t));
    const { path, result } = await record(kind, { packets: paused.packets, times });
    const written = await blocks(path);
    expect(Math.abs(ffprobe(path).duration * 1000 - truthMs(s))).toBeLessThan(100);
    expect(Math.abs(result.durationMs - truthMs(s))).toBeLessThan(100);
    const gap = Math.max(...written.slice(1).map((b, i) => b.ms - written[i]!.ms));
    expect(gap).toBeGreaterThan(2900);
    expect(gap).toBeLessThan(3100);
    expectIntact(written, s);
    expect(decodeErrors(path)).toBe('');
  });

  test.each(['opus', 'vp8', 'h264'] as const)('%s: RTP timestamp and sequence number wraps go unnoticed', async (kind) => {
    const clock = kind === 'opus' ? 48_000 : 90_000;
    const s = await rtpStream(kind, 4, { timestamp: 2 ** 32 - clock, seq: 0x10000 - 40 });
    // The network's delay steps up by 60 ms right at the wrap: times must still come from RTP, not arrival.
    const wrap = s.packets.findIndex((p) => p.readUInt32BE(4) < clock);
    const times = s.times.map((t, i) => (i >= wrap ? t + 60 : t));
    const { path, result } = await record(kind, { packets: s.packets, times });
    expect(expectIntact(await blocks(path), s)).toEqual({ written: s.frames.length, resumed: 0 });
    expect(Math.abs(result.durationMs - truthMs(s))).toBeLessThan(10);
    expect(Math.abs(ffprobe(path).duration * 1000 - truthMs(s))).toBeLessThan(10);
  });

  test.each(['opus', 'vp8', 'h264'] as const)('%s: an SSRC change continues the timeline on arrival time', async (kind) => {
    const clock = kind === 'opus' ? 48_000 : 90_000;
    const a = await rtpStream(kind, 3, { startMs: 10_000, timestamp: 1_000_000 });
    // Another encoder (SSRC, sequence) after 0.5 s of nothing, whose RTP timestamps happen to
    // continue A's as if only 0.2 s had passed: its timeline must come from arrival, not RTP.
    const b = await rtpStream(kind, 3, { startMs: 13_500, timestamp: 1_000_000 + 3.2 * clock });
    const wanted: boolean[] = [];
    const { path, writer, result } = await record(kind, { packets: [...a.packets, ...b.packets], times: [...a.times, ...b.times] }, (w) => wanted.push(w.wantsKeyFrame));
    const written = await blocks(path);
    expect(written).toHaveLength(a.frames.length + b.frames.length);
    const second = written[a.frames.length]!;
    expect(Math.abs(second.ms - 3500)).toBeLessThan(50);
    expect(second.key).toBe(true);
    expect(Buffer.from(second.data).equals(Buffer.from(b.frames[0]!.data))).toBe(true);
    expect(Math.abs(result.durationMs - 6500)).toBeLessThan(100);
    expect(Math.abs(ffprobe(path).duration * 1000 - 6500)).toBeLessThan(100);
    expect(writer.startedAt).toBe(10_000);
    if (kind !== 'opus') expect(wanted[a.packets.length]).toBe(true); // the new SSRC's first packet: waiting for its key frame
    expect(decodeErrors(path)).toBe('');
  });
});

describe('bad input', () => {
  test('malformed packets are dropped and counted, never thrown', async () => {
    const s = await rtpStream('vp8', 2);
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0x80, 0x60]),
      Buffer.from('not an RTP packet at all, just some bytes'),
      Buffer.from([0x80, 0xc8, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1]), // RTCP sender report
      Buffer.concat([Buffer.from([0x90]), s.packets[3]!.subarray(1, 14)]), // extension cut off
    ];
    const packets = [...s.packets.slice(0, 40), ...junk, ...s.packets.slice(40)];
    const times = [...s.times.slice(0, 40), ...junk.map(() => s.times[40]!), ...s.times.slice(40)];
    const { path, writer } = await record('vp8', { packets, times });
    expect(writer.stats.malformed).toBe(junk.length);
    expect(expectIntact(await blocks(path), s)).toEqual({ written: s.frames.length, resumed: 0 });
  });

  test('finish with nothing written, and finish/abort twice', async () => {
    const path = join(dir, 'empty.mkv');
    const writer = await TrackWriter.open({ path, kind: 'video', codec: 'VP8' });
    expect(writer.wantsKeyFrame).toBe(true);
    expect(writer.startedAt).toBeNull();
    const first = await writer.finish();
    expect(await writer.finish()).toEqual(first);
    await writer.abort();
    expect(first.durationMs).toBe(0);
    await expect(finalizePartial(path, join(dir, 'empty-fixed.mkv'))).rejects.toThrow();
  });

  test('a folder that does not exist fails open', async () => {
    await expect(TrackWriter.open({ path: join(dir, 'nope', 'x.mka'), kind: 'audio', codec: 'opus' })).rejects.toThrow();
  });
});

describe('a writer never finished (the process died)', () => {
  test.each(['opus', 'vp8', 'h264'] as const)('%s: written as it goes; the cut file is repaired by finalizePartial', async (kind) => {
    const s = await rtpStream(kind, 6);
    const path = join(dir, `${++files}-partial-${kind}.mkv`);
    const writer = await TrackWriter.open({ path, ...OPTIONS[kind] });
    const half = s.packets.length >> 1;
    s.packets.slice(0, half).forEach((p, i) => writer.push(p, s.times[i]!));
    // Progressive: what was pushed reaches the disk without finish().
    await waitFor('the first half on disk', () => statSync(path).size > 0.4 * s.frames.slice(0, s.frames.length >> 1).reduce((n, f) => n + f.data.length, 0));
    s.packets.slice(half).forEach((p, i) => writer.push(p, s.times[half + i]!));
    await writer.abort();
    await sleep(10);

    // As left: every frame pushed is recovered, including the last cluster's.
    const fixed = join(dir, `${files}-fixed-${kind}.mkv`);
    const repaired = await finalizePartial(path, fixed);
    expect(repaired.size).toBe(statSync(fixed).size);
    expect(Math.abs(repaired.durationMs - truthMs(s))).toBeLessThan(100);
    const probe = ffprobe(fixed);
    expect(probe.codec).toBe(FFPROBE_CODEC[kind]);
    expect(Math.abs(probe.duration * 1000 - truthMs(s))).toBeLessThan(100);
    expect(decodeErrors(fixed)).toBe('');
    expect(expectIntact(await blocks(fixed), s)).toEqual({ written: s.frames.length, resumed: 0 });

    // Cut mid-block, as a crash during a write leaves it: what is whole is kept.
    const cut = join(dir, `${files}-cut-${kind}.mkv`);
    copyFileSync(path, cut);
    truncateSync(cut, Math.floor(statSync(path).size * 0.6) + 3);
    const fixedCut = join(dir, `${files}-cut-fixed-${kind}.mkv`);
    const { durationMs } = await finalizePartial(cut, fixedCut);
    expect(durationMs).toBeGreaterThan(truthMs(s) * 0.4);
    expect(durationMs).toBeLessThan(truthMs(s) * 0.8);
    expect(Math.abs(ffprobe(fixedCut).duration * 1000 - durationMs)).toBeLessThan(100);
    expect(decodeErrors(fixedCut)).toBe('');
    expectIntact(await blocks(fixedCut), s);
  });

  test('a file with nothing usable in it throws', async () => {
    const junk = join(dir, 'junk.mkv');
    writeFileSync(junk, Buffer.from('definitely not matroska'));
    await expect(finalizePartial(junk, join(dir, 'junk-fixed.mkv'))).rejects.toThrow();
  });
});
