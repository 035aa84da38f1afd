import { senderReport } from '../rtp/rtcp';
import { rewriteHeader, seqDiff } from '../rtp/rtp';

/** Sequence numbers remembered for comparing receiver reports with what was sent (a few seconds of video). */
const SENT_HISTORY = 512;

/** Where a forwarder's packets go: one line of a subscriber's peer connection. */
export interface ForwarderOutput {
  send(packet: Buffer): boolean;
}

/**
 * One published track as one subscriber receives it. Packets keep their payload; the header is
 * rewritten to the subscriber's line: its SSRC and payload type, and sequence numbers and
 * timestamps that continue without a jump when the source changes (another simulcast layer, or a
 * publisher that reconnected on a new connection). Video starts at a key frame.
 */
export class Forwarder {
  /** The source SSRC whose numbering the offsets map; null before the first packet. */
  private sourceSsrc: number | null = null;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq = 0;
  private lastTs = 0;
  private lastAt = 0;
  private started = false;
  /** The first sequence number sent (what a subscriber's extended highest sequence number counts from). */
  private firstSeq: number | null = null;
  /**
   * How many packets had been sent once each of the last SENT_HISTORY sequence numbers went out:
   * a receiver report's highest sequence number then says exactly how many it could have received.
   */
  private readonly sentCount = new Uint32Array(SENT_HISTORY);
  private readonly sentSeq = new Int32Array(SENT_HISTORY).fill(-1);
  /** Counts for sender reports. */
  private packets = 0;
  private octets = 0;

  constructor(
    readonly ssrc: number,
    readonly payloadType: number,
    private readonly clockRate: number,
    private readonly video: boolean,
    private readonly out: ForwarderOutput,
  ) {}

  /** The highest simulcast layer (0 the lowest) this subscriber is to get: its bandwidth and render size decide. */
  maxLayer = Infinity;

  /** The SSRC of the publisher's stream it forwards now (with simulcast, its layer's); null before the first or while paused. */
  get source(): number | null {
    return this.sourceSsrc;
  }

  /** Whether it still waits for a key frame before forwarding anything. */
  get waitingForKeyFrame(): boolean {
    return this.video && !this.started;
  }

  /**
   * Forwards one packet (already stripped of the publisher's header extensions; rewritten in place,
   * the output copies it). `switchable`: a key frame, where a video forwarder may start or change source.
   */
  forward(packet: Buffer, srcSsrc: number, seq: number, ts: number, switchable: boolean, payloadBytes: number): void {
    if (srcSsrc !== this.sourceSsrc) {
      if (this.video && !switchable) return;
      this.rebase(srcSsrc, seq, ts);
    }
    if (!this.started) {
      if (this.video && !switchable) return;
      this.started = true;
    }
    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (ts + this.tsOffset) >>> 0;
    rewriteHeader(packet, this.payloadType, outSeq, outTs, this.ssrc);
    if (!this.out.send(packet)) return;
    this.firstSeq ??= outSeq;
    this.sentSeq[outSeq % SENT_HISTORY] = outSeq;
    this.sentCount[outSeq % SENT_HISTORY] = this.packets + 1;
    if (seqDiff(outSeq, this.lastSeq) > 0 || this.packets === 0) {
      this.lastSeq = outSeq;
      this.lastTs = outTs;
      this.lastAt = Date.now();
    }
    this.packets++;
    this.octets += payloadBytes;
  }

  /**
   * Stops until the next key frame (the track was switched off). The stream's numbering goes on
   * from where it stopped when it resumes, so the subscriber sees a pause, not loss.
   */
  pause(): void {
    this.sourceSsrc = null;
    this.started = false;
  }

  /** The first sequence number sent, or null before anything was. */
  get first(): number | null {
    return this.firstSeq;
  }

  /** How many packets had been sent up to and including `seq` (16-bit), if it is recent and was sent. */
  sentThrough(seq: number): number | null {
    const i = seq % SENT_HISTORY;
    return this.sentSeq[i] === seq ? this.sentCount[i]! : null;
  }

  /** Maps a sender report of the current source to this stream (lip sync and RTT for the subscriber). */
  senderReport(srcSsrc: number, ntp: bigint, rtpTimestamp: number): void {
    if (srcSsrc !== this.sourceSsrc || !this.started) return;
    this.out.send(senderReport(this.ssrc, ntp, (rtpTimestamp + this.tsOffset) >>> 0, this.packets, this.octets));
  }

  /** Continues this stream's numbering from where it stopped, at the new source's packet. */
  private rebase(srcSsrc: number, seq: number, ts: number): void {
    if (this.sourceSsrc === null && this.packets === 0) {
      // First source: start at random-looking numbers, as any sender does.
      this.seqOffset = (Math.floor(Math.random() * 0x8000) - seq) & 0xffff;
      this.tsOffset = (Math.floor(Math.random() * 0x7fffffff) - ts) >>> 0;
    } else {
      const elapsed = Math.max(1, Math.round(((Date.now() - this.lastAt) * this.clockRate) / 1000));
      this.seqOffset = (this.lastSeq + 1 - seq) & 0xffff;
      this.tsOffset = (this.lastTs + elapsed - ts) >>> 0;
    }
    this.sourceSsrc = srcSsrc;
  }
}
