import { open, stat, type FileHandle } from 'node:fs/promises';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, FilePathTarget, MkvOutputFormat, Output } from 'mediabunny';
import { opusPacketSamples, OPUS_CLOCK_RATE } from './opus-frames';

/** Matroska element IDs (RFC 9559 §5.1) this reader looks at. */
const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** Bytes read from the file at a time: the file is streamed, never held whole. */
const WINDOW = 1 << 20;
/** Video blocks carry no duration; the last frame is given the interval before it, else this. */
const DEFAULT_FRAME_MS = 1000 / 30;

interface Track {
  number: number;
  codecId: string;
  codecPrivate: Uint8Array | null;
  width: number;
  height: number;
  sampleRate: number;
  channels: number;
}

interface Block {
  ms: number;
  key: boolean;
  data: Uint8Array;
}

/**
 * A spooled file cut by a crash, written again as a finalized file at `outPath` (duration, cues,
 * seek head), packets copied as they are. Throws when it holds no track or no frame.
 *
 * Why not mediabunny's reader: a file TrackWriter was writing has a Segment size that covers only
 * its header and a last Cluster whose size covers only its Timestamp (mediabunny patches both in
 * place later), and mediabunny's demuxer trusts those sizes and misses the last cluster, which for
 * WebRTC video (rare key frames, so clusters up to 32 s) can be long. This reader ignores Segment
 * and Cluster sizes: it walks the elements in order, reads every complete SimpleBlock, and stops
 * at the first element that is cut or does not parse (the tail the crash left half-written).
 */
export async function finalizePartial(path: string, outPath: string): Promise<{ durationMs: number; size: number }> {
  const file = await open(path, 'r');
  try {
    const reader = new ElementReader(file, (await file.stat()).size);
    const blocks = scan(reader);
    const first = await blocks.next();
    if (first.done) throw new Error('partial recording holds no track or no frame');
    const { track } = first.value;
    const durationMs = await remux(track, first.value.block, blocks, outPath);
    return { durationMs, size: (await stat(outPath)).size };
  } finally {
    await file.close();
  }
}

/** Writes the blocks of `track` into a new Matroska file; returns its media duration (ms). */
async function remux(track: Track, firstBlock: Block, rest: AsyncGenerator<{ track: Track; block: Block }>, outPath: string): Promise<number> {
  const output = new Output({ format: new MkvOutputFormat(), target: new FilePathTarget(outPath) });
  const audio = track.codecId === 'A_OPUS';
  const source = audio ? new EncodedAudioPacketSource('opus') : new EncodedVideoPacketSource(track.codecId === 'V_VP8' ? 'vp8' : 'avc');
  if (source instanceof EncodedAudioPacketSource) output.addAudioTrack(source);
  else output.addVideoTrack(source);
  await output.start();
  let pending: Block = firstBlock;
  let frameMs = DEFAULT_FRAME_MS;
  let first = true;
  let endMs = 0;
  const add = async (block: Block, durationMs: number) => {
    const packet = new EncodedPacket(block.data, block.key ? 'key' : 'delta', block.ms / 1000, durationMs / 1000);
    endMs = Math.max(endMs, block.ms + durationMs);
    if (source instanceof EncodedAudioPacketSource) await source.add(packet, first ? { decoderConfig: audioConfig(track) } : undefined);
    else await source.add(packet, first ? { decoderConfig: videoConfig(track) } : undefined);
    first = false;
  };
  const duration = (block: Block, next: Block | null): number => {
    if (audio) return ((opusPacketSamples(block.data) ?? 960) * 1000) / OPUS_CLOCK_RATE;
    if (next && next.ms > block.ms) frameMs = next.ms - block.ms;
    return frameMs;
  };
  for await (const { track: t, block } of rest) {
    if (t.number !== track.number) continue;
    await add(pending, duration(pending, block));
    pending = block;
  }
  await add(pending, duration(pending, null));
  await output.finalize();
  return Math.round(endMs);
}

function audioConfig(track: Track): AudioDecoderConfig {
  return { codec: 'opus', numberOfChannels: track.channels, sampleRate: track.sampleRate, ...(track.codecPrivate ? { description: track.codecPrivate } : {}) };
}

function videoConfig(track: Track): VideoDecoderConfig {
  if (track.codecId === 'V_VP8') return { codec: 'vp8', codedWidth: track.width, codedHeight: track.height };
  const p = track.codecPrivate;
  if (!p || p.length < 7) throw new Error('H.264 track without its avcC');
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return { codec: `avc1.${hex(p[1]!)}${hex(p[2]!)}${hex(p[3]!)}`, codedWidth: track.width, codedHeight: track.height, description: p };
}

/**
 * The blocks of the file in order, each with its track. Cluster and Segment sizes are not trusted
 * (see finalizePartial): their children are read as they come.
 */
async function* scan(r: ElementReader): AsyncGenerator<{ track: Track; block: Block }> {
  const header = await r.element(0);
  if (!header || header.id !== ID.EBML || header.size === null) return;
  const segment = await r.element(header.dataStart + header.size);
  if (!segment || segment.id !== ID.Segment) return;
  const tracks = new Map<number, Track>();
  let scale = 1_000_000; // ns per timestamp tick (TimestampScale default)
  let clusterTs: number | null = null;
  let pos = segment.dataStart;
  for (;;) {
    const e = await r.element(pos);
    if (!e) return;
    if (e.id === ID.Cluster) {
      clusterTs = null;
      pos = e.dataStart;
      continue;
    }
    if (e.size === null || e.dataStart + e.size > r.size) return;
    const end = e.dataStart + e.size;
    if (e.id === ID.Info) scale = (await r.children(e.dataStart, end)).get(ID.TimestampScale)?.uint() ?? scale;
    else if (e.id === ID.Tracks) for (const t of await readTracks(r, e.dataStart, end)) tracks.set(t.number, t);
    else if (e.id === ID.Timestamp) clusterTs = (await r.bytes(e.dataStart, e.size)).uint();
    else if (e.id === ID.SimpleBlock && clusterTs !== null) {
      const block = parseSimpleBlock(await r.bytes(e.dataStart, e.size), clusterTs, scale);
      const track = block && tracks.get(block.track);
      if (track && block) yield { track, block };
    }
    pos = end;
  }
}

async function readTracks(r: ElementReader, start: number, end: number): Promise<Track[]> {
  const tracks: Track[] = [];
  for (let pos = start; pos < end; ) {
    const e = await r.element(pos);
    if (!e || e.size === null) break;
    if (e.id === ID.TrackEntry) {
      const c = await r.children(e.dataStart, e.dataStart + e.size);
      const video = c.get(ID.Video);
      const audio = c.get(ID.Audio);
      const v = video ? await r.children(video.start, video.start + video.bytes.length) : new Map<number, Field>();
      const a = audio ? await r.children(audio.start, audio.start + audio.bytes.length) : new Map<number, Field>();
      const codecId = c.get(ID.CodecID)?.text();
      const number = c.get(ID.TrackNumber)?.uint();
      if (codecId && number !== undefined && ['V_VP8', 'V_MPEG4/ISO/AVC', 'A_OPUS'].includes(codecId)) {
        tracks.push({
          number,
          codecId,
          codecPrivate: c.get(ID.CodecPrivate)?.bytes.slice() ?? null,
          width: v.get(ID.PixelWidth)?.uint() ?? 0,
          height: v.get(ID.PixelHeight)?.uint() ?? 0,
          sampleRate: a.get(ID.SamplingFrequency)?.float() ?? OPUS_CLOCK_RATE,
          channels: a.get(ID.Channels)?.uint() ?? 1,
        });
      }
    }
    pos = e.dataStart + e.size;
  }
  return tracks;
}

/** A SimpleBlock (RFC 9559 §10.2): track number (EBML varint), signed 16-bit relative timestamp, flags (0x80: key frame), no lacing. */
function parseSimpleBlock(f: Field, clusterTs: number, scale: number): (Block & { track: number }) | null {
  const b = f.bytes;
  const n = varintLength(b[0] ?? 0);
  if (n === 0 || n > 4 || b.length < n + 3) return null;
  let track = b[0]! & (0xff >> n);
  for (let i = 1; i < n; i++) track = track * 256 + b[i]!;
  const rel = (((b[n]! << 8) | b[n + 1]!) << 16) >> 16;
  const flags = b[n + 2]!;
  if (flags & 0x06) return null; // laced: never written by mediabunny
  return { track, ms: ((clusterTs + rel) * scale) / 1e6, key: (flags & 0x80) !== 0, data: b.subarray(n + 3) };
}

/** Length of an EBML variable-size integer from its first byte (RFC 8794 §4), 0 when invalid. */
function varintLength(first: number): number {
  for (let n = 1; n <= 8; n++) if (first & (0x80 >> (n - 1))) return n;
  return 0;
}

/** An element's value bytes, with its offset in the file. */
class Field {
  constructor(readonly start: number, readonly bytes: Uint8Array) {}

  uint(): number {
    let v = 0;
    for (const b of this.bytes) v = v * 256 + b;
    return v;
  }

  float(): number {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return this.bytes.length === 4 ? view.getFloat32(0) : this.bytes.length === 8 ? view.getFloat64(0) : 0;
  }

  text(): string {
    return new TextDecoder().decode(this.bytes).replace(/\0+$/, '');
  }
}

/** An element header: ID (marker bits kept), data size (null: unknown, RFC 8794 §6.2) and where its data starts. */
interface ElementHeader {
  id: number;
  size: number | null;
  dataStart: number;
}

/** Reads elements of a file through a sliding window. */
class ElementReader {
  private window = new Uint8Array(0);
  private windowStart = 0;

  constructor(private readonly file: FileHandle, readonly size: number) {}

  /** The header of the element at `pos`, or null when it is cut or not a valid header. */
  async element(pos: number): Promise<ElementHeader | null> {
    if (pos >= this.size) return null;
    const head = (await this.bytes(pos, Math.min(12, this.size - pos))).bytes;
    const idLength = varintLength(head[0] ?? 0);
    if (idLength === 0 || idLength > 4 || head.length < idLength + 1) return null;
    let id = 0;
    for (let i = 0; i < idLength; i++) id = id * 256 + head[i]!;
    const sizeLength = varintLength(head[idLength]!);
    if (sizeLength === 0 || head.length < idLength + sizeLength) return null;
    let size = head[idLength]! & (0xff >> sizeLength);
    let allOnes = size === 0xff >> sizeLength;
    for (let i = 1; i < sizeLength; i++) {
      const b = head[idLength + i]!;
      size = size * 256 + b;
      allOnes &&= b === 0xff;
    }
    return { id, size: allOnes ? null : size, dataStart: pos + idLength + sizeLength };
  }

  /** The child elements of a master element with a known size, by ID (first of each). */
  async children(start: number, end: number): Promise<Map<number, Field>> {
    const fields = new Map<number, Field>();
    for (let pos = start; pos < end; ) {
      const e = await this.element(pos);
      if (!e || e.size === null || e.dataStart + e.size > end) break;
      if (!fields.has(e.id)) fields.set(e.id, await this.bytes(e.dataStart, e.size));
      pos = e.dataStart + e.size;
    }
    return fields;
  }

  /** `length` bytes at `pos` (a copy when they span windows; callers keep them only briefly). */
  async bytes(pos: number, length: number): Promise<Field> {
    const offset = pos - this.windowStart;
    if (offset < 0 || offset + length > this.window.length) {
      this.window = new Uint8Array(Math.min(Math.max(length, WINDOW), this.size - pos));
      const { bytesRead } = await this.file.read(this.window, 0, this.window.length, pos);
      this.window = this.window.subarray(0, bytesRead);
      this.windowStart = pos;
    }
    const at = pos - this.windowStart;
    return new Field(pos, this.window.subarray(at, at + length));
  }
}
