/**
 * Real encoded media as a browser would send it over RTP, for tests: ffmpeg (/usr/bin/ffmpeg)
 * encodes a test pattern or a tone (VP8 in IVF, H.264 baseline as an Annex B stream, Opus in Ogg),
 * the simple container is parsed here, and the frames are packetized as WebRTC does: VP8 with the
 * RFC 7741 payload descriptor, H.264 as single NAL units, STAP-A and FU-A (RFC 6184), Opus one
 * packet per RTP packet (RFC 7587), at most 1200 bytes per packet, each with a one-byte header
 * extension (RFC 8285) like the transport-wide sequence number browsers add.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toAvcc } from '../../src/recording/h264-frames';
import { opusPacketSamples } from '../../src/recording/opus-frames';

export type MediaKind = 'opus' | 'vp8' | 'h264';

/** One encoded frame as a Matroska block holds it (H.264 as AVCC), at its RTP timestamp. */
export interface EncodedFrame {
  ts: number;
  key: boolean;
  data: Uint8Array;
}

/**
 * The RTP packets of a stream in send order (the array itself, so it can be played as is), with
 * `packets` (the same array), each packet's send time `times` (ms from 0, at the media clock), the
 * clock rate and the frames they carry.
 */
export type RtpStream = Buffer[] & { packets: Buffer[]; times: number[]; clockRate: number; frames: EncodedFrame[] };

export interface RtpStreamOptions {
  ssrc?: number;
  /** First sequence number and RTP timestamp (random by default, RFC 3550 §5.1). */
  seq?: number;
  timestamp?: number;
  /** Send time of the first packet, ms. */
  startMs?: number;
}

const MTU = 1200;
const RTP_HEADER = 12;
const EXTENSION = 8; // 0xBEDE profile, length 1, one 2-byte element + 1 byte padding
const MAX_PAYLOAD = MTU - RTP_HEADER - EXTENSION;
const PAYLOAD_TYPES: Record<MediaKind, number> = { opus: 111, vp8: 96, h264: 102 };
const TRANSPORT_CC_ID = 3;

const run = promisify(execFile);
const encodeDir = mkdtempSync(join(tmpdir(), 'atrium-encoded-'));
const encoded = new Map<string, Promise<EncodedFrame[]>>();

/**
 * `seconds` of real encoded media as RTP. 'audio' is Opus, 'video' is VP8. Encodings are made once
 * per process and kind/length; each call packetizes afresh with its own (random) SSRC, sequence
 * and timestamp origins unless given.
 */
export async function rtpStream(kind: MediaKind | 'audio' | 'video', seconds: number, opts: RtpStreamOptions = {}): Promise<RtpStream> {
  const codec: MediaKind = kind === 'audio' ? 'opus' : kind === 'video' ? 'vp8' : kind;
  const key = `${codec}/${seconds}`;
  if (!encoded.has(key)) encoded.set(key, encode(codec, seconds));
  const frames = await encoded.get(key)!;
  return packetize(codec, frames, opts);
}

/** Encodes and parses: frames with timestamps from 0 at the RTP clock (48 kHz audio, 90 kHz video). */
async function encode(kind: MediaKind, seconds: number): Promise<EncodedFrame[]> {
  const out = join(encodeDir, `${kind}-${seconds}.${kind === 'opus' ? 'ogg' : kind === 'vp8' ? 'ivf' : 'h264'}`);
  const video = ['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=30`, '-t', String(seconds), '-g', '30', '-pix_fmt', 'yuv420p'];
  const args: Record<MediaKind, string[]> = {
    // Real-time VP8 as WebRTC encodes it: no alternate reference (invisible) frames, no lookahead.
    vp8: [...video, '-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8', '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf'],
    // Constrained baseline, no B-frames; libx264 repeats SPS/PPS before each IDR in Annex B output.
    h264: [...video, '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-bf', '0', '-f', 'h264'],
    opus: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds), '-ac', '1', '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', '-application', 'voip', '-f', 'ogg'],
  };
  await run('/usr/bin/ffmpeg', ['-v', 'error', '-y', ...args[kind], out]);
  const bytes = readFileSync(out);
  return kind === 'vp8' ? parseIvf(bytes) : kind === 'h264' ? parseAnnexB(bytes) : parseOgg(bytes);
}

/** IVF: a 32-byte header (timebase at 16/20), then frames behind a 12-byte header (size, 64-bit pts). */
function parseIvf(b: Buffer): EncodedFrame[] {
  const rate = b.readUInt32LE(16);
  const scale = b.readUInt32LE(20);
  const frames: EncodedFrame[] = [];
  for (let i = b.readUInt16LE(6); i + 12 <= b.length; ) {
    const size = b.readUInt32LE(i);
    const pts = Number(b.readBigUInt64LE(i + 4));
    const data = new Uint8Array(b.subarray(i + 12, i + 12 + size));
    frames.push({ ts: Math.round((pts * scale * 90_000) / rate), key: (data[0]! & 1) === 0, data });
    i += 12 + size;
  }
  return frames;
}

/**
 * Annex B: NAL units behind 00 00 01 start codes, grouped into access units (H.264 §7.4.1.2.3: an
 * AUD, SEI, SPS or PPS after a slice, or a slice whose first_mb_in_slice is 0, starts a new one).
 * 30 frames per second.
 */
function parseAnnexB(b: Buffer): EncodedFrame[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) starts.push(i + 3);
  const nalus = starts.map((s, n) => {
    let end = n + 1 < starts.length ? starts[n + 1]! - 3 : b.length;
    while (end > s && b[end - 1] === 0) end--; // the zero_byte of a 4-byte start code, trailing zeros
    return new Uint8Array(b.subarray(s, end));
  });
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let hasSlice = false;
  for (const nalu of nalus) {
    const type = nalu[0]! & 0x1f;
    const slice = type === 1 || type === 5;
    const startsUnit = hasSlice && ((slice && (nalu[1]! & 0x80) !== 0) || [6, 7, 8, 9].includes(type));
    if (startsUnit) {
      units.push(current);
      current = [];
      hasSlice = false;
    }
    current.push(nalu);
    hasSlice ||= slice;
  }
  if (current.length) units.push(current);
  return units.map((unit, i) => ({ ts: i * 3000, key: unit.some((n) => (n[0]! & 0x1f) === 5), data: toAvcc(unit) }));
}

/** Ogg (RFC 3533): pages of lacing-value-delimited packets; an Opus stream's first two are its headers (RFC 7845 §3). */
function parseOgg(b: Buffer): EncodedFrame[] {
  const packets: Uint8Array[] = [];
  let partial: Buffer[] = [];
  for (let i = 0; i + 27 <= b.length; ) {
    if (b.toString('latin1', i, i + 4) !== 'OggS') throw new Error('not an Ogg page');
    const segments = b[i + 26]!;
    let body = i + 27 + segments;
    for (let s = 0; s < segments; s++) {
      const lace = b[i + 27 + s]!;
      partial.push(b.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(new Uint8Array(Buffer.concat(partial)));
        partial = [];
      }
    }
    i = body;
  }
  const frames: EncodedFrame[] = [];
  let ts = 0;
  for (const data of packets.slice(2)) {
    frames.push({ ts, key: true, data });
    ts += opusPacketSamples(data) ?? 960;
  }
  return frames;
}

/** The frames as RTP packets, in order, each frame's packets sent at its capture time. */
function packetize(kind: MediaKind, frames: EncodedFrame[], opts: RtpStreamOptions): RtpStream {
  const clockRate = kind === 'opus' ? 48_000 : 90_000;
  const ssrc = opts.ssrc ?? randomInt(1, 2 ** 32 - 1);
  let seq = opts.seq ?? randomInt(0, 0x10000);
  const base = opts.timestamp ?? randomInt(0, 2 ** 32 - 1);
  const startMs = opts.startMs ?? 0;
  const packets: Buffer[] = [];
  const times: number[] = [];
  let pictureId = randomInt(0, 0x8000);
  let transportSeq = 0;
  for (const frame of frames) {
    const payloads = kind === 'vp8' ? vp8Payloads(frame.data, pictureId++ & 0x7fff) : kind === 'h264' ? h264Payloads(frame.data) : [frame.data];
    for (const [i, payload] of payloads.entries()) {
      const header = Buffer.alloc(RTP_HEADER + EXTENSION);
      header[0] = 0x90; // V=2, X=1
      // Marker: last packet of a video frame (RFC 7741 §4.1, RFC 6184 §5.1); audio marks only the first (talkspurt).
      const mark = kind === 'opus' ? packets.length === 0 : i === payloads.length - 1;
      header[1] = (mark ? 0x80 : 0) | PAYLOAD_TYPES[kind];
      header.writeUInt16BE(seq, 2);
      header.writeUInt32BE((base + frame.ts) >>> 0, 4);
      header.writeUInt32BE(ssrc >>> 0, 8);
      header.writeUInt16BE(0xbede, 12);
      header.writeUInt16BE(1, 14);
      header[16] = (TRANSPORT_CC_ID << 4) | 1;
      header.writeUInt16BE(transportSeq++ & 0xffff, 17);
      packets.push(Buffer.concat([header, payload]));
      times.push(startMs + (frame.ts * 1000) / clockRate);
      seq = (seq + 1) & 0xffff;
    }
  }
  return Object.assign(packets, { packets, times, clockRate, frames });
}

/**
 * VP8 payloads (RFC 7741 §4.2): each behind a 4-byte descriptor (X=1, S on the first, PID 0;
 * I=1 with a 15-bit PictureID), the frame split in near-equal parts as libwebrtc does.
 */
function vp8Payloads(frame: Uint8Array, pictureId: number): Uint8Array[] {
  const room = MAX_PAYLOAD - 4;
  const count = Math.ceil(frame.length / room);
  const size = Math.ceil(frame.length / count);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * size, (i + 1) * size);
    out.push(Buffer.concat([Uint8Array.of(i === 0 ? 0x90 : 0x80, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff), part]));
  }
  return out;
}

/**
 * H.264 payloads (RFC 6184): runs of small NAL units (SPS, PPS) aggregated in a STAP-A (§5.7.1),
 * a NAL unit that fits sent alone (§5.6), a bigger one in FU-A fragments (§5.8).
 */
function h264Payloads(avcc: Uint8Array): Uint8Array[] {
  const nalus: Uint8Array[] = [];
  for (let i = 0; i + 4 <= avcc.length; ) {
    const size = new DataView(avcc.buffer, avcc.byteOffset + i).getUint32(0);
    nalus.push(avcc.subarray(i + 4, i + 4 + size));
    i += 4 + size;
  }
  const out: Uint8Array[] = [];
  let stap: Uint8Array[] = [];
  const flushStap = () => {
    if (stap.length === 1) out.push(stap[0]!);
    else if (stap.length > 1) {
      const nri = Math.max(...stap.map((n) => n[0]! & 0x60));
      out.push(Buffer.concat([Uint8Array.of(nri | 24), ...stap.flatMap((n) => [Uint8Array.of(n.length >> 8, n.length & 0xff), n])]));
    }
    stap = [];
  };
  for (const nalu of nalus) {
    const stapSize = 1 + stap.reduce((n, s) => n + 2 + s.length, 0) + 2 + nalu.length;
    if (nalu.length <= 200 && stapSize <= MAX_PAYLOAD) {
      stap.push(nalu);
      continue;
    }
    flushStap();
    if (nalu.length <= MAX_PAYLOAD) {
      out.push(nalu);
      continue;
    }
    const room = MAX_PAYLOAD - 2;
    for (let i = 1; i < nalu.length; i += room) {
      const start = i === 1 ? 0x80 : 0;
      const end = i + room >= nalu.length ? 0x40 : 0;
      out.push(Buffer.concat([Uint8Array.of((nalu[0]! & 0xe0) | 28, start | end | (nalu[0]! & 0x1f)), nalu.subarray(i, i + room)]));
    }
  }
  flushStap();
  return out;
}
