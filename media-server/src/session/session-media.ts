import type { DataChannel } from 'node-datachannel';
import { DataSink, DataSource } from '../data/data-relay';
import { Forwarder } from '../media/forwarder';
import { Publication } from '../media/publication';
import { readRtcp } from '../rtp/rtcp';
import { isRtcp, ssrc as ssrcOf } from '../rtp/rtp';
import type { SessionDescription } from '../sdp/sdp';
import type { MspRoom, ReceivedVideo } from '../msp/session-signaling';
import type { PathStats } from '../msp/network-quality';
import type { TrackRef } from '../types';
import type { Line, LineCodec } from './lines';
import type { Peer } from './peer';

/** Fewest packets sent between two receiver reports that a downstream loss figure is taken from. */
const MIN_REPORT_PACKETS = 50;

/** Bits per second Opus speech needs (twilio-video's default audio is about 32 kbit/s). */
const AUDIO_NEEDED = 24_000;

/** Bits per second VP8 needs for a picture this size to look right at 30 fps (unknown size: as VGA). */
export function videoNeeded(width: number, height: number): number {
  const pixels = width * height || 640 * 480;
  return pixels <= 320 * 240 ? 150_000 : pixels <= 640 * 480 ? 300_000 : pixels <= 1280 * 720 ? 600_000 : 1_200_000;
}

/** What a session needs of its room: the tracks the others publish, its dominant speaker and the others' quality. */
export interface SessionRoom extends MspRoom {
  readonly videoCodec: string;
  publication(key: string): Publication | undefined;
  dataSource(key: string): DataSource | undefined;
  publish(p: Publication): void;
  unpublish(key: string): void;
  publishData(source: DataSource): void;
  unpublishData(key: string): void;
}

/** `<publisher session>/<track id>`: how the room names a published track. */
export const trackKey = (session: string, id: string): string => `${session}/${id}`;

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** Session ids are `<participant sid>.<generation>`: the participant a session is of. */
export const participantOf = (session: string): string => session.split('.')[0]!;

const randomSsrc = (): number => (Math.floor(Math.random() * 0xfffffff0) + 1) >>> 0;

/**
 * What flows on one session's connection, once negotiation has put it there: the tracks its
 * participant publishes (one Publication per sending line, published to the room), the forwarders
 * that feed its downstream lines from other participants' publications, its own data channels
 * (sources) and the channels the server opened toward it (sinks), and the RTCP each line carries.
 */
export class SessionMedia {
  private readonly published = new Map<string, { p: Publication; mid: string }>();
  private readonly forwarders = new Map<string, Forwarder>();
  private readonly dataSinks = new Map<string, DataSink>();
  private readonly ownData = new Map<string, DataSource>();
  /** Our SSRC for the RTCP we send publishers (receiver reports, NACK, PLI, REMB). */
  private readonly rtcpSsrc = randomSsrc();
  /** Received video tracks (by sid) switched off: their lines stay, nothing is forwarded on them. */
  private switchedOff = new Set<string>();
  /** The highest simulcast layer each received video (by sid) may get. */
  private maxLayers = new Map<string, number>();
  /**
   * What the subscriber's receiver reports say of each downstream line (mid): loss on the way from
   * the server (0–1, smoothed), jitter in seconds, and the counts the next report is compared with.
   */
  private readonly downstreamReports = new Map<string, { fractionLost: number; jitter: number; sent: number; received: number }>();
  private closed = false;

  constructor(
    private readonly sessionId: string,
    private readonly room: SessionRoom,
    private readonly peer: Peer,
  ) {}

  /** Publications follow the client's sending lines: a new msid publishes, a line that stops sending unpublishes. */
  updatePublications(lines: Iterable<Line>, desc: SessionDescription, codecOf: (line: Line) => LineCodec): void {
    const live = new Map<string, Line>();
    for (const line of lines) if (line.upstream && !line.dead) live.set(trackKey(this.sessionId, line.upstream.trackId), line);
    for (const [key, { mid }] of [...this.published]) {
      if (live.get(key)?.mid === mid) continue;
      this.published.delete(key);
      this.room.unpublish(key);
    }
    for (const [key, line] of live) {
      let entry = this.published.get(key);
      if (!entry) {
        const mid = line.mid;
        const p = new Publication(key, line.kind, codecOf(line).name, this.rtcpSsrc, { sendRtcp: (packet) => void this.peer.send(mid, packet) });
        entry = { p, mid };
        this.published.set(key, entry);
        this.room.publish(p);
      }
      entry.p.setLayers(desc.media.find((m) => m.mid === line.mid)?.simulcast ?? null);
      entry.p.setAudioLevelExtension(line.extensions.find(([, uri]) => uri === AUDIO_LEVEL_URI)?.[0] ?? null);
    }
  }

  /** Starts (or resumes) feeding a downstream line from its publication, with a key frame first. */
  startForwarding(line: Line, codec: LineCodec): void {
    const ref = line.downstream?.ref;
    if (!ref || this.closed) return;
    let f = this.forwarders.get(line.mid);
    if (!f) {
      const mid = line.mid;
      f = new Forwarder(line.downstream!.ssrc, codec.payloadType, line.kind === 'audio' ? 48_000 : 90_000, line.kind === 'video', {
        send: (packet) => this.peer.send(mid, packet),
      });
      this.forwarders.set(line.mid, f);
    }
    f.maxLayer = this.maxLayers.get(ref.sid) ?? Infinity;
    if (this.switchedOff.has(ref.sid)) return;
    const p = this.room.publication(trackKey(ref.session, ref.id));
    if (p) {
      p.sinks.add(f);
      p.requestKeyFrame();
    }
  }

  /**
   * Forwards the received videos in `on` (by sid), each up to its simulcast layer, and switches
   * the others off: a switched-off line stays negotiated but nothing is forwarded on it; switched
   * on, it resumes at a key frame, its numbering continuing where it stopped.
   */
  setAllocation(on: ReadonlyMap<string, number>, lines: Iterable<Line>, codecOf: (line: Line) => LineCodec): void {
    const before = this.switchedOff;
    this.switchedOff = new Set();
    this.maxLayers = new Map(on);
    for (const line of lines) {
      const ref = line.downstream?.ref;
      if (!ref || ref.kind !== 'video') continue;
      if (!on.has(ref.sid)) this.switchedOff.add(ref.sid);
      const f = this.forwarders.get(line.mid);
      if (f) f.maxLayer = on.get(ref.sid) ?? Infinity;
      if (line.state !== 'active') continue;
      const wasOff = before.has(ref.sid);
      const isOff = this.switchedOff.has(ref.sid);
      if (isOff && !wasOff) {
        const f = this.forwarders.get(line.mid);
        if (f) {
          this.room.publication(trackKey(ref.session, ref.id))?.sinks.delete(f);
          f.pause();
        }
      } else if (!isOff && wasOff) {
        this.startForwarding(line, codecOf(line));
      }
    }
  }

  /** The video the participant receives (lines that carry it), in the order it was offered. */
  receivedVideo(lines: Iterable<Line>): ReceivedVideo[] {
    const out: ReceivedVideo[] = [];
    for (const line of lines) {
      const ref = line.downstream?.ref;
      if (!ref || ref.kind !== 'video' || (line.state !== 'active' && line.state !== 'offered')) continue;
      const p = this.room.publication(trackKey(ref.session, ref.id));
      out.push({
        sid: ref.sid,
        publisherPriority: ref.priority ?? 'standard',
        publisher: participantOf(ref.session),
        bitrate: p?.measured.bitrate ?? 0,
        layers: p?.layerBitrates() ?? [],
        layerHeights: p?.layerHeights() ?? [],
        layer: this.maxLayers.get(ref.sid) ?? Infinity,
      });
    }
    return out;
  }

  /** What this participant sends, per kind, as measured here (network quality). */
  sendStats(kind: 'audio' | 'video'): PathStats | null {
    const mine = [...this.published.values()].map(({ p }) => p).filter((p) => p.kind === kind);
    if (mine.length === 0) return null;
    let bitrate = 0;
    let fractionLost = 0;
    let jitter = 0;
    let needed = 0;
    for (const p of mine) {
      bitrate += p.measured.bitrate;
      fractionLost = Math.max(fractionLost, p.measured.fractionLost);
      jitter = Math.max(jitter, p.measured.jitterSeconds);
      needed += kind === 'audio' ? AUDIO_NEEDED : videoNeeded(p.measured.width, p.measured.height);
    }
    return { bitrate, needed, available: null, fractionLost, jitter: kind === 'audio' ? jitter : null, rtt: null };
  }

  /** What this participant receives, per kind, as its receiver reports say (network quality). */
  receiveStats(kind: 'audio' | 'video', lines: Iterable<Line>): PathStats | null {
    let any = false;
    let fractionLost = 0;
    let jitter = 0;
    let bitrate = 0;
    for (const line of lines) {
      const ref = line.downstream?.ref;
      if (!ref || ref.kind !== kind || line.state !== 'active' || this.switchedOff.has(ref.sid)) continue;
      any = true;
      const p = this.room.publication(trackKey(ref.session, ref.id));
      bitrate += p?.measured.bitrate ?? 0;
      const r = this.downstreamReports.get(line.mid);
      if (!r) continue;
      fractionLost = Math.max(fractionLost, r.fractionLost);
      // The publisher's own jitter (its uplink's) arrives with its packets; this path adds the rest.
      jitter = Math.max(jitter, r.jitter - (p?.measured.jitterSeconds ?? 0));
    }
    return any ? { bitrate, needed: null, available: null, fractionLost, jitter: kind === 'audio' ? jitter : null, rtt: null } : null;
  }

  /** Stops feeding a line (its track goes away); its forwarder is dropped. */
  stopForwarding(line: Line): void {
    const f = this.forwarders.get(line.mid);
    if (!f) return;
    this.forwarders.delete(line.mid);
    const ref = line.downstream?.ref;
    if (ref) this.room.publication(trackKey(ref.session, ref.id))?.sinks.delete(f);
  }

  /**
   * Points a line at the same track published from a new session (its publisher moved). The line
   * keeps its forwarder: same SSRC, numbering continued from the old source (a new forwarder would
   * restart it at random, and the subscriber's SRTP drops what looks replayed).
   */
  repoint(line: Line, next: TrackRef, codec: LineCodec): void {
    const ref = line.downstream!.ref;
    const f = this.forwarders.get(line.mid);
    if (f) this.room.publication(trackKey(ref.session, ref.id))?.sinks.delete(f);
    line.downstream = { ...line.downstream!, ref: next };
    if (line.state === 'active') this.startForwarding(line, codec);
  }

  /**
   * Opens, keeps or closes the server's channels toward the participant so that they are exactly
   * the wanted data tracks; channels of a publisher that moved sessions are kept and fed by its
   * new source. True when a channel was opened.
   */
  planData(wanted: ReadonlyMap<string, TrackRef>, samePublisherTrack: (key: string) => TrackRef | undefined): boolean {
    for (const [key, sink] of [...this.dataSinks]) {
      if (wanted.has(key)) continue;
      this.room.dataSource(key)?.sinks.delete(sink);
      this.dataSinks.delete(key);
      const next = samePublisherTrack(key);
      const nextKey = next && next.kind === 'data' ? trackKey(next.session, next.id) : null;
      if (nextKey && !this.dataSinks.has(nextKey)) {
        this.dataSinks.set(nextKey, sink);
        this.room.dataSource(nextKey)?.sinks.add(sink);
      } else {
        sink.close();
      }
    }
    let opened = false;
    for (const [key, ref] of wanted) {
      if (ref.kind !== 'data' || this.dataSinks.has(key)) continue;
      // In-band (DCEP), labelled with the publisher's track id, so the client makes it a RemoteDataTrack.
      const sink = new DataSink(this.peer.createDataChannel(ref.id, {}));
      this.dataSinks.set(key, sink);
      this.room.dataSource(key)?.sinks.add(sink);
      opened = true;
    }
    return opened;
  }

  /** A track of another session was published (or came back): lines waiting for it start. */
  publicationAdded(p: Publication, lines: Iterable<Line>, codecOf: (line: Line) => LineCodec): void {
    for (const line of lines) {
      const ref = line.downstream?.ref;
      if (ref && line.state === 'active' && trackKey(ref.session, ref.id) === p.key) this.startForwarding(line, codecOf(line));
    }
  }

  dataSourceAdded(source: DataSource): void {
    this.dataSinks.get(source.key) && source.sinks.add(this.dataSinks.get(source.key)!);
  }

  /** The connection came up: key frames asked for before it could receive them were lost. */
  connected(lines: Iterable<Line>): void {
    for (const line of lines) {
      const ref = line.downstream?.ref;
      if (ref && line.state === 'active') this.room.publication(trackKey(ref.session, ref.id))?.requestKeyFrame();
    }
  }

  /** An RTP or RTCP packet on `line`: the client's media goes to its publication, feedback to the publishers it concerns. */
  onPacket(line: Line, packet: Buffer, now: number): void {
    if (this.closed || packet.length < 4) return;
    const own = line.upstream ? this.published.get(trackKey(this.sessionId, line.upstream.trackId))?.p : undefined;
    if (isRtcp(packet)) {
      own?.onRtcp(packet, now);
      if (line.downstream) this.subscriberFeedback(line, packet);
      return;
    }
    // A recycled line carries both directions; packets of the server's own SSRC are not the client's.
    if (own && packet.length >= 12 && ssrcOf(packet) !== line.downstream?.ssrc) own.onRtp(packet, now);
  }

  /** A data channel the client opened: one of its data tracks (label = track id). */
  onDataChannel(channel: DataChannel): void {
    if (this.closed) return;
    const key = trackKey(this.sessionId, channel.getLabel());
    if (this.ownData.has(key)) this.room.unpublishData(key);
    const source = new DataSource(key, channel, () => {
      if (this.ownData.get(key) !== source) return;
      this.ownData.delete(key);
      this.room.unpublishData(key);
    });
    this.ownData.set(key, source);
    this.room.publishData(source);
  }

  tick(now: number): void {
    for (const { p } of this.published.values()) p.tick(now);
  }

  stats(): { published: Record<string, unknown>[]; data: Record<string, unknown>[] } {
    return {
      published: [...this.published.values()].map(({ p }) => ({ key: p.key, ...p.stats, sinks: p.sinks.size })),
      data: [...this.ownData.values()].map((d) => ({ key: d.key, ...d.stats, sinks: d.sinks.size })),
    };
  }

  /** Everything stops: what it published is unpublished, what it received is let go. */
  close(lines: Iterable<Line>): void {
    if (this.closed) return;
    for (const line of lines) this.stopForwarding(line);
    this.closed = true;
    for (const key of this.published.keys()) this.room.unpublish(key);
    for (const key of this.ownData.keys()) this.room.unpublishData(key);
    for (const sink of this.dataSinks.values()) sink.close();
    this.published.clear();
    this.ownData.clear();
    this.dataSinks.clear();
  }

  /**
   * Loss between the server and the subscriber on one line. The report's own fraction lost counts
   * the gaps the publisher's uplink left too (the server forwards what it got, numbering intact);
   * the server knows how many packets it had sent up to the report's highest sequence number, so
   * the path's loss is what was sent and not received between two reports at least
   * MIN_REPORT_PACKETS apart (reports come with every NACK, and a few packets say nothing).
   */
  private downstreamReport(line: Line, highestSeq: number, cumulativeLost: number, jitter: number): void {
    const f = this.forwarders.get(line.mid);
    const first = f?.first ?? null;
    const sent = f?.sentThrough(highestSeq & 0xffff) ?? null;
    const prior = this.downstreamReports.get(line.mid);
    const jitterSeconds = jitter / (line.kind === 'audio' ? 48_000 : 90_000);
    if (first === null || sent === null) {
      if (prior) prior.jitter = jitterSeconds;
      return;
    }
    // The extended highest sequence number counts cycles from the first one the subscriber got.
    const received = highestSeq - first + 1 - cumulativeLost;
    if (!prior) {
      this.downstreamReports.set(line.mid, { fractionLost: 0, jitter: jitterSeconds, sent, received });
      return;
    }
    prior.jitter = jitterSeconds;
    if (sent - prior.sent < MIN_REPORT_PACKETS) return;
    const lost = Math.min(1, Math.max(0, 1 - (received - prior.received) / (sent - prior.sent)));
    prior.fractionLost = prior.fractionLost * 0.5 + lost * 0.5;
    prior.sent = sent;
    prior.received = received;
  }

  /** What a subscriber says about a track it receives: key frame requests and loss go to its publisher. */
  private subscriberFeedback(line: Line, packet: Buffer): void {
    const ref = line.downstream!.ref;
    const p = this.room.publication(trackKey(ref.session, ref.id));
    if (!p) return;
    const ssrc = line.downstream!.ssrc;
    for (const item of readRtcp(packet)) {
      const layer = this.forwarders.get(line.mid)?.source ?? null;
      if (item.type === 'pli' && item.mediaSsrc === ssrc) p.requestKeyFrame(Date.now(), layer);
      else if (item.type === 'fir' && item.mediaSsrcs.includes(ssrc)) p.requestKeyFrame(Date.now(), layer);
      else if (item.type === 'report' && item.ssrc === ssrc) {
        p.subscriberLoss(item.fractionLost);
        this.downstreamReport(line, item.highestSeq, item.cumulativeLost, item.jitter);
      }
    }
  }
}
