import { nack, pli, readRtcp, receiverReport, remb } from '../rtp/rtcp';
import { SpeechActivity } from '../msp/dominant-speaker';
import { extension, isKeyFrame, payloadLength, seqDiff, sequenceNumber, ssrc as ssrcOf, timestamp, vp8KeyFrameSize, withoutExtensions } from '../rtp/rtp';
import type { Forwarder } from './forwarder';

/** Where a publication's feedback goes: the publisher's line, as RTCP. */
export interface PublicationUpstream {
  sendRtcp(packet: Buffer): void;
}

/** Key frame requests toward a publisher are at most this frequent. */
const PLI_INTERVAL_MS = 300;
/** A missing packet is asked for again after this long, at most NACK_TRIES times. */
const NACK_RETRY_MS = 100;
const NACK_TRIES = 3;
/** A simulcast layer is flowing if it sent within this long. */
const LAYER_ACTIVE_MS = 1_000;
/** Bounds of the bitrate the publisher is told it may send (REMB), bits/s. */
const REMB_MIN = 150_000;
const REMB_MAX = 2_500_000;
const REMB_START = 1_000_000;

/** What the server knows of one SSRC the publisher sends. */
interface StreamState {
  ssrc: number;
  /** Highest sequence number seen, extended with a cycle count. */
  highest: number;
  base: number;
  received: number;
  /** For the fraction lost of the next report. */
  expectedPrior: number;
  receivedPrior: number;
  lastSr: number;
  lastSrAt: number;
  lastPacketAt: number;
  /** Missing sequence numbers (extended) → times asked and when last. */
  missing: Map<number, { tries: number; at: number }>;
  /** Interarrival jitter (RFC 3550 §6.4.1), in RTP clock units, and the last packet's transit time. */
  jitter: number;
  transit: number | null;
  /** Bytes received, at the last tick, and the bitrate over the last tick. */
  bytes: number;
  bytesPrior: number;
  bitrate: number;
  /** Picture height its last key frame carried (VP8), 0 before one. */
  height: number;
}

/**
 * One media track a participant publishes, as the media server receives it: its packets fanned out
 * to every subscriber's forwarder, and what a receiver owes a sender sent back upstream: receiver
 * reports, NACKs for packets lost on the way in, key frame requests (from subscribers, throttled),
 * and a bitrate estimate (REMB) that backs off when the publisher's uplink or a subscriber's
 * downlink loses packets. With simulcast, each subscriber gets one layer: the highest that is
 * flowing, up to the highest its forwarder allows (Forwarder.maxLayer: its bandwidth and render
 * size), switched at a key frame of the new layer.
 */
export class Publication {
  readonly sinks = new Set<Forwarder>();
  private readonly streams = new Map<number, StreamState>();
  /** Simulcast layers (lowest first) when the publisher sends several; empty otherwise. */
  private layers: number[] = [];
  /** When a key frame was last asked for, per SSRC. */
  private readonly lastPliAt = new Map<number, number>();
  private bitrate = REMB_START;
  /** Worst fraction lost a subscriber reported since the last estimate. */
  private downstreamLoss = 0;
  private readonly counters = { packets: 0, bytes: 0, forwarded: 0, nacksSent: 0, plisSent: 0 };
  /** Bytes of the stream forwarded (the chosen layer), and the count at the last tick. */
  private streamBytes = 0;
  private streamBytesPrior = 0;
  private lastTickAt = 0;
  private readonly clockRate: number;
  private audioLevelId: number | null = null;
  /** Recent speech, from the audio level each packet carries (audio with the extension only). */
  readonly speech = new SpeechActivity();
  /** What the publisher sends, as measured here at the last tick (network quality, switch-off). */
  readonly measured = { bitrate: 0, fractionLost: 0, jitterSeconds: 0, width: 0, height: 0 };

  /** Counters, and for simulcast the layers signaled, those flowing now, and the ones forwarded (the highest, and each subscriber's). */
  get stats() {
    const flowing = this.flowing(Date.now());
    const forwarded = [...this.sinks].map((f) => (f.source === null ? null : this.layers.indexOf(f.source))).filter((i): i is number => i !== null && i >= 0);
    return {
      ...this.counters,
      ...this.measured,
      layers: this.layers.length,
      flowingLayers: flowing,
      layerBitrates: this.layerBitrates(),
      forwardedLayer: forwarded.length ? Math.max(...forwarded) : null,
      forwardedLayers: forwarded,
    };
  }

  constructor(
    readonly key: string,
    readonly kind: 'audio' | 'video',
    readonly codec: string,
    private readonly serverSsrc: number,
    private readonly upstream: PublicationUpstream,
  ) {
    this.clockRate = kind === 'audio' ? 48_000 : 90_000;
  }

  /** The id the publisher's audio level header extension (RFC 6464) has on its line, if negotiated. */
  setAudioLevelExtension(id: number | null): void {
    this.audioLevelId = this.kind === 'audio' ? id : null;
  }

  /** The simulcast SSRCs (lowest layer first), from the publisher's description. */
  setLayers(ssrcs: number[] | null): void {
    this.layers = ssrcs && ssrcs.length > 1 ? ssrcs : [];
  }

  /** An RTP packet the publisher sent on this track's line. */
  onRtp(packet: Buffer, now: number): void {
    const ssrc = ssrcOf(packet);
    const seq = sequenceNumber(packet);
    const stream = this.stream(ssrc, seq, now);
    this.track(stream, seq, now);
    this.arrival(stream, timestamp(packet), now);
    this.counters.packets++;
    this.counters.bytes += packet.length;
    const video = this.kind === 'video';
    const key = video && isKeyFrame(packet, this.codec);
    stream.bytes += packet.length;
    // The track's bitrate and picture size are its best layer's (with simulcast, the highest flowing).
    const flowing = this.layers.length ? this.flowing(now) : [];
    const best = !this.layers.length || ssrc === this.layerFor(Infinity, flowing);
    if (best) this.streamBytes += packet.length;
    const size = key && this.codec === 'VP8' ? vp8KeyFrameSize(packet) : null;
    if (size) {
      stream.height = size.height;
      if (best) {
        this.measured.width = size.width;
        this.measured.height = size.height;
      }
    }
    if (this.layers.length) return this.forwardLayer(packet, ssrc, seq, key, flowing, now);
    if (this.audioLevelId !== null) {
      const level = extension(packet, this.audioLevelId);
      if (level && level.length > 0) this.speech.record(level[0]! & 0x7f, now);
    }
    if (this.sinks.size === 0) return;
    const bytes = payloadLength(packet);
    if (bytes < 0) return;
    // One copy without the publisher's header extensions, rewritten per subscriber (each send copies it).
    const out = withoutExtensions(packet);
    const ts = timestamp(packet);
    let waiting = false;
    for (const sink of this.sinks) {
      sink.forward(out, ssrc, seq, ts, key, bytes);
      waiting ||= sink.waitingForKeyFrame;
    }
    this.counters.forwarded += this.sinks.size;
    if (waiting) this.requestKeyFrame(now);
  }

  /** RTCP the publisher sent: sender reports are passed on to every subscriber, mapped. */
  onRtcp(packet: Buffer, now: number): void {
    for (const item of readRtcp(packet)) {
      if (item.type !== 'sr') continue;
      const stream = this.streams.get(item.ssrc);
      if (stream) {
        stream.lastSr = Number((item.ntp >> 16n) & 0xffffffffn);
        stream.lastSrAt = now;
      }
      for (const sink of this.sinks) sink.senderReport(item.ssrc, item.ntp, item.rtpTimestamp);
    }
  }

  /**
   * A subscriber lost a key frame (PLI/FIR), or has just started: ask the publisher for one, of
   * `ssrc` (the layer that subscriber gets), else of the layer most wanted.
   */
  requestKeyFrame(now = Date.now(), ssrc: number | null = null): void {
    if (this.kind !== 'video') return;
    const flowing = this.flowing(now);
    const target = ssrc ?? (this.layers.length ? this.layers[flowing[flowing.length - 1] ?? 0] : [...this.streams.keys()][0]);
    // Nothing received yet: nothing to ask, and the next request must not wait for this one.
    if (target === undefined) return;
    if (now - (this.lastPliAt.get(target) ?? 0) < PLI_INTERVAL_MS) return;
    this.lastPliAt.set(target, now);
    if (this.lastPliAt.size > 8) this.lastPliAt.delete(this.lastPliAt.keys().next().value!);
    this.counters.plisSent++;
    this.upstream.sendRtcp(pli(this.serverSsrc, target));
  }

  /** Bits per second of each simulcast layer (lowest first) over the last tick; empty without simulcast. */
  layerBitrates(): number[] {
    return this.layers.map((ssrc) => this.streams.get(ssrc)?.bitrate ?? 0);
  }

  /** Picture height of each simulcast layer (lowest first), 0 where no key frame said yet. */
  layerHeights(): number[] {
    return this.layers.map((ssrc) => this.streams.get(ssrc)?.height ?? 0);
  }

  /** Indexes of the simulcast layers flowing now (lowest first). */
  private flowing(now: number): number[] {
    return this.layers.flatMap((ssrc, i) => {
      const s = this.streams.get(ssrc);
      return s && now - s.lastPacketAt < LAYER_ACTIVE_MS ? [i] : [];
    });
  }

  /** A subscriber's receiver report on its copy of this track. */
  subscriberLoss(fractionLost: number): void {
    this.downstreamLoss = Math.max(this.downstreamLoss, fractionLost);
  }

  /**
   * Runs about once a second: receiver reports for each stream, NACKs still due, and the bitrate
   * estimate, loss-based (RFC 8698's idea): over 10 % lost up- or downstream backs off by 15 %, under
   * 2 % grows by 8 %.
   */
  tick(now: number): void {
    const elapsed = this.lastTickAt ? (now - this.lastTickAt) / 1000 : 0;
    this.lastTickAt = now;
    if (elapsed > 0) this.measured.bitrate = Math.round(((this.streamBytes - this.streamBytesPrior) * 8) / elapsed);
    this.streamBytesPrior = this.streamBytes;
    let upstreamLoss = 0;
    let jitter = 0;
    let worst = this.downstreamLoss;
    for (const s of this.streams.values()) {
      if (elapsed > 0) s.bitrate = Math.round(((s.bytes - s.bytesPrior) * 8) / elapsed);
      s.bytesPrior = s.bytes;
      if (now - s.lastPacketAt > 5_000) continue;
      const expected = s.highest - s.base + 1;
      const expectedInterval = expected - s.expectedPrior;
      const receivedInterval = s.received - s.receivedPrior;
      const fraction = expectedInterval > 0 ? Math.max(0, (expectedInterval - receivedInterval) / expectedInterval) : 0;
      s.expectedPrior = expected;
      s.receivedPrior = s.received;
      worst = Math.max(worst, fraction);
      upstreamLoss = Math.max(upstreamLoss, fraction);
      jitter = Math.max(jitter, s.jitter / this.clockRate);
      this.upstream.sendRtcp(
        receiverReport(this.serverSsrc, {
          ssrc: s.ssrc,
          fractionLost: fraction,
          cumulativeLost: expected - s.received,
          highestSeq: s.highest,
          jitter: Math.round(s.jitter),
          lastSr: s.lastSr,
          delaySinceLastSr: s.lastSrAt ? Math.round(((now - s.lastSrAt) / 1000) * 65536) : 0,
        }),
      );
    }
    this.downstreamLoss = 0;
    // Smoothed: one packet in 50 is 2 %, and one lost packet should not look like a bad network.
    this.measured.fractionLost = this.measured.fractionLost * 0.5 + upstreamLoss * 0.5;
    this.measured.jitterSeconds = jitter;
    if (this.kind !== 'video' || this.streams.size === 0) return;
    if (worst > 0.1) this.bitrate *= 0.85;
    else if (worst < 0.02) this.bitrate *= 1.08;
    this.bitrate = Math.min(REMB_MAX, Math.max(REMB_MIN, this.bitrate));
    this.upstream.sendRtcp(remb(this.serverSsrc, this.bitrate, [...this.streams.keys()]));
    this.retryNacks(now);
  }

  /** Sequence bookkeeping of one SSRC; NACKs for what went missing (video). */
  private track(s: StreamState, seq: number, now: number): void {
    s.received++;
    s.lastPacketAt = now;
    const d = seqDiff(seq, s.highest & 0xffff);
    if (d > 0) {
      const from = s.highest + 1;
      s.highest += d;
      if (this.kind === 'video' && d > 1 && d <= 100) {
        const lost: number[] = [];
        for (let x = from; x < s.highest; x++) {
          s.missing.set(x, { tries: 1, at: now });
          lost.push(x & 0xffff);
        }
        this.sendNack(s.ssrc, lost);
      }
    } else if (d < 0) {
      // A late or retransmitted packet: no longer missing.
      s.missing.delete(s.highest + d);
    }
    if (s.missing.size > 512) s.missing.clear();
  }

  private retryNacks(now: number): void {
    for (const s of this.streams.values()) {
      const again: number[] = [];
      for (const [x, m] of s.missing) {
        if (m.tries >= NACK_TRIES || s.highest - x > 500) s.missing.delete(x);
        else if (now - m.at >= NACK_RETRY_MS) {
          m.tries++;
          m.at = now;
          again.push(x & 0xffff);
        }
      }
      if (again.length) this.sendNack(s.ssrc, again);
    }
  }

  private sendNack(ssrc: number, seqs: number[]): void {
    this.counters.nacksSent++;
    this.upstream.sendRtcp(nack(this.serverSsrc, ssrc, seqs));
  }

  /** RFC 3550's interarrival jitter: how much transit times vary, smoothed over 16 packets. */
  private arrival(s: StreamState, ts: number, now: number): void {
    const transit = ((now * this.clockRate) / 1000 - ts) % 0x100000000;
    if (s.transit !== null) {
      let d = Math.abs(transit - s.transit);
      if (d > 0x80000000) d = 0x100000000 - d;
      // Packets of one frame share a timestamp and arrive together; a gap of seconds is a pause, not jitter.
      if (d < this.clockRate) s.jitter += (d - s.jitter) / 16;
    }
    s.transit = transit;
  }

  private stream(ssrc: number, seq: number, now: number): StreamState {
    let s = this.streams.get(ssrc);
    if (!s) {
      s = { ssrc, highest: seq, base: seq, received: 0, expectedPrior: 0, receivedPrior: 0, lastSr: 0, lastSrAt: 0, lastPacketAt: now, missing: new Map(), jitter: 0, transit: null, bytes: 0, bytesPrior: 0, bitrate: 0, height: 0 };
      s.highest = seq - 1;
      this.streams.set(ssrc, s);
      if (this.streams.size > 8) this.streams.delete(this.streams.keys().next().value!);
    }
    return s;
  }

  /**
   * Simulcast: a packet of one layer goes to the subscribers whose forwarder is on that layer, or
   * wants it and this is a key frame to switch at. Each forwarder wants the highest flowing layer
   * its maxLayer allows (the lowest flowing one if none is that low); one that waits for a switch
   * keeps its current layer meanwhile, and a key frame of the wanted layer is asked for.
   */
  private forwardLayer(packet: Buffer, ssrc: number, seq: number, key: boolean, flowing: number[], now: number): void {
    if (this.sinks.size === 0) return;
    const bytes = payloadLength(packet);
    if (bytes < 0) return;
    const ts = timestamp(packet);
    let out: Buffer | null = null;
    let forwarded = 0;
    for (const sink of this.sinks) {
      const want = this.layerFor(sink.maxLayer, flowing);
      const current = sink.source;
      if (ssrc !== current && !(ssrc === want && (key || current === null))) continue;
      if (ssrc === current && want !== undefined && want !== current) this.requestKeyFrame(now, want);
      out ??= withoutExtensions(packet);
      sink.forward(out, ssrc, seq, ts, key, bytes);
      if (sink.waitingForKeyFrame) this.requestKeyFrame(now, ssrc);
      forwarded++;
    }
    this.counters.forwarded += forwarded;
  }

  /** The SSRC of the highest flowing layer at or under `maxLayer`, else of the lowest flowing one. */
  private layerFor(maxLayer: number, flowing: number[]): number | undefined {
    let chosen: number | undefined;
    for (const i of flowing) if (i <= maxLayer) chosen = i;
    return this.layers[chosen ?? flowing[0] ?? 0];
  }

}
