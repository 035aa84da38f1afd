import { open as openFile, stat } from 'node:fs/promises';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, FilePathTarget, MkvOutputFormat, Output } from 'mediabunny';
import { isRtp, marker, payloadLength, payloadOffset, sequenceNumber, ssrc as ssrcOf, timestamp } from '../rtp/rtp';
import { finalizePartial } from './finalize-partial';
import { avcConfig, h264Nalus, isH264KeyFrameNalus, nalType, NAL_PPS, NAL_SPS, toAvcc } from './h264-frames';
import { OPUS_CHANNELS, OPUS_CLOCK_RATE, opusHead, opusPacketSamples } from './opus-frames';
import { ReorderBuffer } from './reorder-buffer';
import { isVp8KeyFrameData, vp8Frame, vp8FrameSize } from './vp8-frames';

export { finalizePartial };

/** What to record and where: the track's kind and its negotiated codec (the file is .mka for audio, .mkv for video). */
export interface TrackWriterOptions {
  path: string;
  kind: 'audio' | 'video';
  codec: 'opus' | 'VP8' | 'H264';
}

/** Frames waiting for the disk beyond these are dropped (video then waits for a key frame): memory stays bounded. */
const MAX_QUEUED_FRAMES = 2000;
const MAX_QUEUED_BYTES = 8 << 20;
/**
 * mediabunny keeps one cue point per cluster in memory until the end (~1 KB each): clusters of at
 * least 5 s (video ones start at key frames anyway) keep that near 1 MB per hour of recording.
 */
const MIN_CLUSTER_SECONDS = 5;
/** After an SSRC change, stray (reordered) packets of the previous SSRC are ignored this long. */
const RETIRED_SSRC_MS = 500;
/**
 * RTP time running ahead of arrival time by more than this is not trusted (a sender that restarted
 * its timestamps without changing SSRC): the timeline is rebased on arrival time, as for an SSRC change.
 */
const MAX_RTP_LEAD_MS = 10_000;
/** RTP clock of video: 90 kHz (RFC 7741 §6.1 for VP8, RFC 6184 §8.2.1 for H.264). */
const VIDEO_CLOCK_RATE = 90_000;
/** Video frames carry no duration; each is given the last frame interval seen, within these bounds. */
const DEFAULT_FRAME_MS = 1000 / 30;
const MAX_FRAME_MS = 200;

/** One RTP packet as held in the reorder buffer: a copy of its payload, so the caller may reuse its buffer. */
interface RtpItem {
  ts: number;
  marker: boolean;
  payload: Uint8Array;
}

/** Where the current SSRC's RTP time sits on the file's timeline (ms from the first frame). */
interface Anchor {
  ssrc: number;
  /** Extended RTP timestamp at `ms`. */
  rtp: number;
  ms: number;
  /** The last timestamp seen and its extended value, to unwrap the next (RFC 3550 §5.1: 32 bits, wrapping). */
  lastTs: number;
  lastExt: number;
}

type DecoderMeta = { decoderConfig: VideoDecoderConfig } | { decoderConfig: AudioDecoderConfig };

/**
 * Records one published track into a Matroska file as it arrives, without transcoding: audio as
 * .mka (A_OPUS), video as .mkv (V_VP8, or V_MPEG4/ISO/AVC for H.264). RTP packets go through a
 * reorder buffer (late NACK retransmissions), are grouped into frames by timestamp up to the
 * marker bit, and written with timestamps derived from the RTP timestamps. A video frame that lost
 * a packet is never written: video then waits for the next key frame (`wantsKeyFrame`, for the
 * owner to send a PLI). Missing audio is a gap in timestamps, which Matroska plays as silence.
 * mediabunny writes the file progressively (each block as it comes, cluster sizes patched in
 * place), so a killed process leaves a file `finalizePartial` can repair.
 */
export class TrackWriter {
  private readonly clockRate: number;
  private ssrc: number | null = null;
  private reorder: ReorderBuffer<RtpItem> | null = null;
  private retired: { ssrc: number; until: number } | null = null;
  private anchor: Anchor | null = null;
  /**
   * The frame being gathered (video): its timestamp, payloads so far, last arrival, and whether
   * its first packet is known to be the frame's first (see `lostBefore`).
   */
  private current: { ts: number; payloads: Uint8Array[]; arrival: number; whole: boolean } | null = null;
  /**
   * Packets were lost after the last frame began. The next frame's start is then unknown for H.264:
   * nothing in RFC 6184 marks an access unit's first packet, and the lost one may have been it (its
   * SPS/PPS, or the first slice). VP8 marks it (S=1, PID=0), which vp8Frame checks.
   */
  private lostBefore = false;
  private waitingForKey = true;
  private sps: Uint8Array | null = null;
  private pps: Uint8Array | null = null;
  /** The last frame written: its media time, end and arrival. */
  private last: { ms: number; endMs: number; arrival: number } | null = null;
  private frameMs = DEFAULT_FRAME_MS;
  private firstArrival: number | null = null;
  private queue: Promise<void> = Promise.resolve();
  private queuedFrames = 0;
  private queuedBytes = 0;
  private error: unknown = null;
  private closed = false;
  private finishing: Promise<{ durationMs: number; size: number }> | null = null;
  private aborting: Promise<void> | null = null;
  private readonly counters = { packets: 0, malformed: 0, late: 0, lost: 0, framesWritten: 0, framesDropped: 0 };

  /** A spooled file cut by a crash, finalized into `outPath` (see finalize-partial.ts); also exported as a function. */
  static readonly finalizePartial = finalizePartial;


  private constructor(
    private readonly opts: TrackWriterOptions,
    private readonly output: Output,
    private readonly source: EncodedAudioPacketSource | EncodedVideoPacketSource,
  ) {
    this.clockRate = opts.kind === 'audio' ? OPUS_CLOCK_RATE : VIDEO_CLOCK_RATE;
  }

  /** Creates (truncates) the file and writes the Matroska header; rejects when the file cannot be created. */
  static async open(opts: TrackWriterOptions): Promise<TrackWriter> {
    // mediabunny opens the file lazily and reports a failure only at a later write: fail here instead.
    await (await openFile(opts.path, 'w')).close();
    const output = new Output({
      format: new MkvOutputFormat({ minimumClusterDuration: MIN_CLUSTER_SECONDS }),
      // Not chunked: each block reaches the file as it is muxed, not in 16 MiB chunks.
      target: new FilePathTarget(opts.path, { chunked: false }),
    });
    let source: EncodedAudioPacketSource | EncodedVideoPacketSource;
    if (opts.kind === 'audio') {
      source = new EncodedAudioPacketSource('opus');
      output.addAudioTrack(source);
    } else {
      source = new EncodedVideoPacketSource(opts.codec === 'H264' ? 'avc' : 'vp8');
      output.addVideoTrack(source);
    }
    await output.start();
    return new TrackWriter(opts, output, source);
  }

  /** Video: true while waiting for a key frame (at start, after a loss that broke a frame, after an SSRC change). */
  get wantsKeyFrame(): boolean {
    return this.opts.kind === 'video' && !this.closed && this.waitingForKey;
  }

  /** Wall clock (ms) of the first frame written (its arrival); null before. */
  get startedAt(): number | null {
    return this.firstArrival;
  }

  /** Media time written, ms (the first frame is at 0). */
  get durationMs(): number {
    return this.last ? Math.round(this.last.endMs) : 0;
  }

  /** Packets seen, refused (malformed, late or duplicate), lost, and frames written or dropped. */
  get stats(): Readonly<typeof this.counters> {
    return { ...this.counters };
  }

  /**
   * An RTP packet of the track (header extensions may be present), with its arrival time (ms).
   * Synchronous; writes are queued in order; a malformed packet is dropped and counted.
   */
  push(packet: Buffer, now: number): void {
    if (this.closed || this.error) return;
    this.counters.packets++;
    try {
      const offset = payloadOffset(packet);
      const length = payloadLength(packet);
      if (!isRtp(packet) || offset < 0 || length < 0) {
        this.counters.malformed++;
        return;
      }
      // Padding-only packets (bandwidth probes, RFC 3550 §5.1 P bit) carry no media.
      if (length === 0) return;
      const ssrc = ssrcOf(packet);
      if (ssrc !== this.ssrc) {
        if (this.retired && this.retired.ssrc === ssrc && now < this.retired.until) {
          this.counters.late++;
          return;
        }
        this.switchSsrc(ssrc, now);
      }
      const item = { ts: timestamp(packet), marker: marker(packet), payload: new Uint8Array(packet.subarray(offset, offset + length)) };
      if (!this.reorder!.push(sequenceNumber(packet), item, now)) this.counters.late++;
    } catch {
      this.counters.malformed++;
    }
  }

  /** Finalizes the container (duration, cues, seek head) and closes the file. Idempotent. */
  finish(): Promise<{ durationMs: number; size: number }> {
    this.finishing ??= (async () => {
      this.closed = true;
      // What the reorder buffer still holds is written; a frame left without its last packet is not.
      this.reorder?.flush();
      await this.queue;
      if (this.error) {
        await this.output.cancel();
        throw this.error;
      }
      await this.output.finalize();
      return { durationMs: this.durationMs, size: (await stat(this.opts.path)).size };
    })();
    return this.finishing;
  }

  /** Closes without finalizing: the file stays as written so far (queued frames included). */
  abort(): Promise<void> {
    this.aborting ??= (async () => {
      this.closed = true;
      if (this.finishing) {
        await this.finishing.catch(() => undefined);
        return;
      }
      await this.queue;
      await this.output.cancel();
    })();
    return this.aborting;
  }

  /**
   * A new SSRC (the publisher's encoder restarted, or another simulcast layer): what the old one
   * still held is released, and its timeline continues on arrival time (see `mediaTime`).
   */
  private switchSsrc(ssrc: number, now: number): void {
    if (this.reorder) {
      this.reorder.flush();
      this.retired = { ssrc: this.ssrc!, until: now + RETIRED_SSRC_MS };
    }
    this.ssrc = ssrc;
    this.current = null;
    this.waitingForKey = true;
    this.reorder = new ReorderBuffer<RtpItem>(
      (item, arrival) => this.onPacket(item, arrival),
      (missing) => this.onLoss(missing),
    );
  }

  private onLoss(missing: number): void {
    this.counters.lost += missing;
    if (this.opts.kind !== 'video') return;
    // The frame in progress, or a whole frame later ones depend on, is gone.
    if (this.current) this.counters.framesDropped++;
    this.current = null;
    this.lostBefore = true;
    this.waitingForKey = true;
  }

  private onPacket(item: RtpItem, arrival: number): void {
    if (this.opts.kind === 'audio') return this.onAudio(item, arrival);
    // A frame is every packet of one timestamp, the marker bit on its last (RFC 7741 §4.1, RFC
    // 6184 §5.1). A new timestamp before a marker, with nothing lost, also ends the previous one.
    if (this.current && this.current.ts !== item.ts) this.completeFrame();
    if (!this.current) {
      this.current = { ts: item.ts, payloads: [], arrival, whole: this.opts.codec !== 'H264' || !this.lostBefore };
      this.lostBefore = false;
    }
    this.current.payloads.push(item.payload);
    this.current.arrival = arrival;
    if (item.marker) this.completeFrame();
  }

  private onAudio(item: RtpItem, arrival: number): void {
    const samples = opusPacketSamples(item.payload);
    if (samples === null) {
      this.counters.malformed++;
      return;
    }
    const meta = { decoderConfig: { codec: 'opus', numberOfChannels: OPUS_CHANNELS, sampleRate: OPUS_CLOCK_RATE, description: opusHead() } };
    this.write(item.ts, arrival, item.payload, true, (samples * 1000) / OPUS_CLOCK_RATE, meta);
  }

  private completeFrame(): void {
    const frame = this.current!;
    this.current = null;
    const decoded = !frame.whole ? null : this.opts.codec === 'H264' ? this.h264Frame(frame.payloads) : this.vp8Frame(frame.payloads);
    if (!decoded) {
      this.counters.framesDropped++;
      this.waitingForKey = true;
      return;
    }
    if (this.waitingForKey && !decoded.key) {
      this.counters.framesDropped++;
      return;
    }
    this.waitingForKey = false;
    this.write(frame.ts, frame.arrival, decoded.data, decoded.key, this.frameMs, decoded.meta);
  }

  /** A VP8 frame; the decoder configuration is its size, from a key frame. */
  private vp8Frame(payloads: Uint8Array[]): { data: Uint8Array; key: boolean; meta: DecoderMeta | null } | null {
    const data = vp8Frame(payloads);
    if (!data) return null;
    const key = isVp8KeyFrameData(data);
    const size = key ? vp8FrameSize(data) : null;
    if (key && !size) return null;
    return { data, key, meta: size ? { decoderConfig: { codec: 'vp8', codedWidth: size.width, codedHeight: size.height } } : null };
  }

  /** An H.264 access unit as AVCC; its decoder configuration from the latest SPS and PPS (a key frame needs both). */
  private h264Frame(payloads: Uint8Array[]): { data: Uint8Array; key: boolean; meta: DecoderMeta | null } | null {
    const nalus = h264Nalus(payloads);
    if (!nalus) return null;
    for (const nalu of nalus) {
      if (nalType(nalu) === NAL_SPS) this.sps = nalu;
      else if (nalType(nalu) === NAL_PPS) this.pps = nalu;
    }
    const key = isH264KeyFrameNalus(nalus);
    const config = key && this.sps && this.pps ? avcConfig(this.sps, this.pps) : null;
    if (key && !config) return null;
    const meta = config ? { decoderConfig: { codec: config.codec, codedWidth: config.width, codedHeight: config.height, description: config.description } } : null;
    return { data: toAvcc(nalus), key, meta };
  }

  /** Queues a frame for the file at its media time. `meta` is needed by mediabunny on the first frame only. */
  private write(ts: number, arrival: number, data: Uint8Array, key: boolean, durationMs: number, meta: DecoderMeta | null): void {
    const first = this.firstArrival === null;
    if (this.queuedFrames >= MAX_QUEUED_FRAMES || this.queuedBytes + data.length > MAX_QUEUED_BYTES || (first && !meta)) {
      this.counters.framesDropped++;
      this.waitingForKey = true;
      return;
    }
    const ms = this.mediaTime(ts, arrival);
    if (this.opts.kind === 'video' && this.last && ms > this.last.ms) this.frameMs = Math.min(ms - this.last.ms, MAX_FRAME_MS);
    if (this.opts.kind === 'video') durationMs = this.frameMs;
    this.last = { ms, endMs: Math.max(ms + durationMs, this.last?.endMs ?? 0), arrival };
    this.firstArrival ??= arrival;
    this.counters.framesWritten++;
    this.queuedFrames++;
    this.queuedBytes += data.length;
    const packet = new EncodedPacket(data, key ? 'key' : 'delta', ms / 1000, durationMs / 1000);
    this.queue = this.queue.then(async () => {
      try {
        if (this.error) return;
        if (this.source instanceof EncodedAudioPacketSource) await this.source.add(packet, first ? (meta as EncodedAudioChunkMetadata) : undefined);
        else await this.source.add(packet, first ? (meta as EncodedVideoChunkMetadata) : undefined);
      } catch (error) {
        this.error ??= error;
      } finally {
        this.queuedFrames--;
        this.queuedBytes -= data.length;
      }
    });
  }

  /**
   * A frame's time on the file's timeline (ms): the first frame is at 0, later ones follow their
   * RTP timestamps (unwrapped: the signed 32-bit difference from the previous one), so pauses and
   * losses stay gaps. A new SSRC, or RTP time that runs backwards or far ahead of the wall clock,
   * rebases on arrival time: the timeline continues from the last frame by the time that passed.
   */
  private mediaTime(ts: number, arrival: number): number {
    const a = this.anchor;
    const last = this.last;
    if (a && a.ssrc === this.ssrc && last) {
      const ext = a.lastExt + ((ts - a.lastTs) | 0);
      const ms = a.ms + ((ext - a.rtp) * 1000) / this.clockRate;
      if (ms >= last.ms && ms - last.ms <= Math.max(0, arrival - last.arrival) + MAX_RTP_LEAD_MS) {
        a.lastTs = ts;
        a.lastExt = ext;
        return ms;
      }
    }
    const ms = last ? Math.max(last.endMs, last.ms + (arrival - last.arrival)) : 0;
    this.anchor = { ssrc: this.ssrc!, rtp: ts, ms, lastTs: ts, lastExt: ts };
    return ms;
  }
}
