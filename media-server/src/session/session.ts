import type { DataChannel } from 'node-datachannel';
import { ControlError } from '../control/errors';
import { DataSink, DataSource } from '../data/data-relay';
import { Forwarder } from '../media/forwarder';
import { Publication } from '../media/publication';
import { readRtcp } from '../rtp/rtcp';
import { isRtcp, ssrc as ssrcOf } from '../rtp/rtp';
import { announceCandidates, unifySetup } from '../sdp/munge';
import type { SessionDescription } from '../sdp/sdp';
import { parseSdp, receives, SdpError, sends } from '../sdp/sdp';
import type { IceCandidate, PeerConnectionEntry, SessionInfo, TrackRef } from '../types';
import type { ClientCodecs, Line, LineCodec } from './lines';
import { clientCodecs, describe, sectionCodec, upstreamExtensions } from './lines';
import type { PeerOptions } from './peer';
import { Peer } from './peer';

/** What a session needs of its room: the tracks the others publish. */
export interface SessionRoom {
  readonly videoCodec: string;
  publication(key: string): Publication | undefined;
  dataSource(key: string): DataSource | undefined;
  publish(p: Publication): void;
  unpublish(key: string): void;
  publishData(source: DataSource): void;
  unpublishData(key: string): void;
}

export interface SessionOptions extends PeerOptions {
  announcedAddresses: string[];
}

/** `<publisher session>/<track id>`: how the room names a published track. */
export const trackKey = (session: string, id: string): string => `${session}/${id}`;

/** Session ids are `<participant sid>.<generation>`: the participant a session is of. */
const participantOf = (session: string): string => session.split('.')[0]!;

const randomSsrc = (): number => (Math.floor(Math.random() * 0xfffffff0) + 1) >>> 0;

/**
 * One participant's peer connection at the media server, and the negotiation on it.
 *
 * The client offers (its first offer, publishing, unpublishing); the server answers with the same
 * revision. The server offers when what the participant receives changes, with the revision after
 * the highest it has seen or sent; it never offers before it has answered the client's first offer,
 * has at most one offer out, and while it does, ignores the client's offers (the impolite peer: the
 * client rolls back, answers, and offers again). A repeated request gets the same answer again.
 * Everything that happens to a session happens one step at a time (`serialize`).
 */
export class Session {
  readonly peer: Peer;
  private readonly lines = new Map<string, Line>();
  private readonly forwarders = new Map<string, Forwarder>();
  private readonly published = new Map<string, Publication>();
  /** The line each publication arrives on. */
  private readonly publishedMid = new Map<string, string>();
  private readonly dataSinks = new Map<string, DataSink>();
  private readonly ownData = new Map<string, DataSource>();
  private wanted = new Map<string, TrackRef>();
  private codecs: ClientCodecs = { audio: null, video: null };
  private lastStable = 0;
  private maxRevision = 0;
  private pendingOffer: number | null = null;
  private lastAnswer: PeerConnectionEntry | null = null;
  private dirty = false;
  private remoteUfrag: string | null = null;
  private hasApplication = false;
  private readonly candidates = new Set<string>();
  private queuedCandidates: IceCandidate[] = [];
  private nextMid = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Our SSRC for RTCP we send (receiver reports, NACK, PLI, REMB). */
  private readonly rtcpSsrc = randomSsrc();
  readonly createdAt = Date.now();
  connectedAt: number | null = null;

  constructor(
    readonly id: string,
    readonly roomSid: string,
    readonly participant: string,
    readonly pc: string,
    private readonly room: SessionRoom,
    private readonly options: SessionOptions,
    private readonly onClosed: (s: Session) => void,
  ) {
    this.peer = new Peer(id, options, {
      media: (mid, packet) => this.onMedia(mid, packet),
      dataChannel: (channel) => this.onDataChannel(channel),
      state: (state) => this.onState(state),
    });
  }

  info(): SessionInfo {
    return { id: this.id, pc: this.pc, state: this.closed ? 'closed' : this.peer.state };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The client's peer connection entries; resolves with what it must be sent back. */
  signal(entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]> {
    return this.serialize(async () => {
      const out: PeerConnectionEntry[] = [];
      for (const e of entries) {
        if (e.id !== this.pc || this.closed) continue;
        const d = e.description;
        if (d?.type === 'offer') out.push(...(await this.clientOffer(d.revision, d.sdp!)));
        else if (d?.type === 'answer') out.push(...(await this.clientAnswer(d.revision, d.sdp!)));
        else if (d?.type === 'close') this.close();
        if (e.ice) this.addIce(e.ice);
      }
      return out;
    });
  }

  /** Everything the participant receives from now on; resolves with an offer if its connection must change. */
  subscribe(tracks: TrackRef[]): Promise<PeerConnectionEntry[]> {
    return this.serialize(async () => {
      this.wanted = new Map(tracks.map((t) => [trackKey(t.session, t.id), t]));
      this.dirty = true;
      return this.offer();
    });
  }

  /** Ends the session: its connection closes, what it published stops, what it received is let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const key of this.published.keys()) this.room.unpublish(key);
    for (const key of this.ownData.keys()) this.room.unpublishData(key);
    for (const [mid, f] of this.forwarders) this.detach(mid, f);
    for (const sink of this.dataSinks.values()) sink.close();
    this.published.clear();
    this.ownData.clear();
    this.dataSinks.clear();
    this.peer.close();
    this.onClosed(this);
  }

  /** A track of another session was published (or came back): lines waiting for it start forwarding. */
  publicationAdded(p: Publication): void {
    for (const line of this.lines.values()) {
      const ref = line.downstream?.ref;
      if (ref && line.state === 'active' && trackKey(ref.session, ref.id) === p.key) this.startForwarding(line);
    }
  }

  dataSourceAdded(source: DataSource): void {
    const sink = this.dataSinks.get(source.key);
    if (sink) source.sinks.add(sink);
  }

  /** Runs about once a second. */
  tick(now: number): void {
    for (const p of this.published.values()) p.tick(now);
  }

  stats(): Record<string, unknown> {
    return {
      id: this.id,
      state: this.info().state,
      lines: [...this.lines.values()].map((l) => ({ mid: l.mid, kind: l.kind, up: l.upstream?.trackId ?? null, down: l.downstream?.ref.id ?? null, state: l.state })),
      published: [...this.published.values()].map((p) => ({ key: p.key, ...p.stats, sinks: p.sinks.size })),
      data: [...this.ownData.values()].map((d) => ({ key: d.key, ...d.stats, sinks: d.sinks.size })),
    };
  }

  // ---- Negotiation ----

  private async clientOffer(revision: number, sdp: string): Promise<PeerConnectionEntry[]> {
    if (revision <= this.lastStable) return this.lastAnswer?.description?.revision === revision ? [this.lastAnswer] : [];
    if (this.pendingOffer !== null) return []; // glare: ours stands; the client rolls back and answers it
    const desc = parseOrReject(sdp);
    const ufrag = desc.iceUfrag ?? desc.media[0]?.iceUfrag ?? null;
    if (this.remoteUfrag && ufrag && ufrag !== this.remoteUfrag) {
      // libdatachannel cannot restart ICE on a connection; the Room object moves the participant to
      // a new one instead (a fresh connection is what a restart is after, too).
      throw new ControlError(409, 53405, 'ICE restart: the participant is moved to a new peer connection');
    }
    this.codecs = clientCodecs(desc, this.room.videoCodec, this.codecs);
    for (const section of desc.media) {
      if (section.kind === 'application') {
        this.hasApplication ||= !section.rejected;
        continue;
      }
      if ((section.kind !== 'audio' && section.kind !== 'video') || !section.mid) continue;
      let line = this.lines.get(section.mid);
      if (!line) {
        line = { mid: section.mid, kind: section.kind, ours: false, upstream: null, downstream: null, state: 'idle', dead: false, codec: null, extensions: [], described: '' };
        this.lines.set(section.mid, line);
      }
      const codec = sectionCodec(section, this.room.videoCodec);
      if (section.rejected || !codec) {
        // Rejected by the client, or without the room's codec (nothing could be forwarded to or
        // from it): answered inactive, with a codec of its own so the answer is valid.
        const own = section.codecs[0];
        line.dead = section.rejected;
        line.upstream = null;
        if (own) this.describe(line, { payloadType: own.payloadType, name: own.name }, false, false);
        continue;
      }
      const clientSends = sends(section.direction) && !!section.msid && section.msid.track !== '-';
      line.upstream = clientSends ? { trackId: section.msid!.track, ssrcs: section.ssrcs } : null;
      line.extensions = clientSends ? upstreamExtensions(section) : [];
      const weSend = !!line.downstream && (line.state === 'active' || line.state === 'offered') && receives(section.direction);
      this.describe(line, codec, clientSends, weSend);
      this.simulcastOf(line, section.simulcast);
    }
    try {
      this.peer.setRemoteDescription(sdp, 'offer');
    } catch (err) {
      throw new ControlError(400, 53403, `Server is unable to apply a remote media description: ${message(err)}`);
    }
    const answer = await this.localDescription('answer');
    this.remoteUfrag = ufrag;
    this.lastStable = revision;
    this.maxRevision = Math.max(this.maxRevision, revision);
    this.lastAnswer = { id: this.pc, description: { type: 'answer', revision, sdp: answer } };
    for (const line of this.lines.values()) if (line.state === 'retiring') line.state = 'idle';
    this.updatePublications(desc);
    this.flushCandidates();
    const out = [this.lastAnswer];
    if (this.dirty) out.push(...(await this.offer()));
    return out;
  }

  private async clientAnswer(revision: number, sdp: string): Promise<PeerConnectionEntry[]> {
    if (this.pendingOffer === null || revision !== this.pendingOffer) return [];
    const fixed = unifySetup(sdp);
    const desc = parseOrReject(fixed);
    try {
      this.peer.setRemoteDescription(fixed, 'answer');
    } catch (err) {
      throw new ControlError(400, 53403, `Server is unable to apply a remote media description: ${message(err)}`);
    }
    this.pendingOffer = null;
    this.lastStable = revision;
    this.remoteUfrag ??= desc.iceUfrag ?? desc.media[0]?.iceUfrag ?? null;
    if (desc.media.some((m) => m.kind === 'application' && !m.rejected)) this.hasApplication = true;
    for (const section of desc.media) {
      const line = section.mid ? this.lines.get(section.mid) : undefined;
      if (!line) continue;
      if (section.rejected) {
        line.dead = true;
        if (line.downstream) this.stopForwarding(line);
        continue;
      }
      if (line.state === 'retiring') line.state = 'idle';
      if (line.state === 'offered' && line.downstream) {
        line.state = 'active';
        if (receives(section.direction)) this.startForwarding(line);
      }
    }
    this.flushCandidates();
    return this.dirty ? this.offer() : [];
  }

  /** Offers the changes the wanted tracks need, if the connection can take an offer now. */
  private async offer(): Promise<PeerConnectionEntry[]> {
    if (this.closed) return [];
    if (this.lastStable === 0 || this.pendingOffer !== null) {
      this.dirty = true;
      return [];
    }
    this.dirty = false;
    if (!this.plan()) return [];
    const revision = Math.max(this.maxRevision, this.lastStable) + 1;
    let sdp: string;
    try {
      sdp = await this.localDescription('offer');
    } catch (err) {
      throw new ControlError(500, 53401, `Server is unable to create or apply a local media description: ${message(err)}`);
    }
    this.maxRevision = revision;
    this.pendingOffer = revision;
    return [{ id: this.pc, description: { type: 'offer', revision, sdp } }];
  }

  /**
   * Brings the lines in line with the wanted tracks: lines of tracks no longer wanted retire, new
   * tracks take an idle line of their kind or a new one, data tracks get their channels. True when
   * the connection needs an offer.
   */
  private plan(): boolean {
    let changed = false;
    const carried = new Set<string>();
    this.repoint();
    for (const line of this.lines.values()) {
      const ref = line.downstream?.ref;
      if (!ref || (line.state !== 'active' && line.state !== 'offered')) continue;
      const key = trackKey(ref.session, ref.id);
      if (this.wanted.has(key)) {
        carried.add(key);
        continue;
      }
      this.stopForwarding(line);
      line.downstream = null;
      line.state = 'retiring';
      this.redescribe(line);
      changed = true;
    }
    for (const [key, ref] of this.wanted) {
      if (ref.kind === 'data' || carried.has(key)) continue;
      let line = [...this.lines.values()].find((l) => l.kind === ref.kind && l.state === 'idle' && !l.dead && !l.upstream && !l.downstream);
      if (!line) {
        line = { mid: `s${this.nextMid++}`, kind: ref.kind, ours: true, upstream: null, downstream: null, state: 'idle', dead: false, codec: null, extensions: [], described: '' };
        this.lines.set(line.mid, line);
      }
      line.downstream = { ref, ssrc: randomSsrc(), stream: participantOf(ref.session) };
      line.state = 'offered';
      this.redescribe(line);
      changed = true;
    }
    let needsApplication = false;
    for (const [key, sink] of this.dataSinks) {
      if (this.wanted.has(key)) continue;
      this.room.dataSource(key)?.sinks.delete(sink);
      sink.close();
      this.dataSinks.delete(key);
    }
    for (const [key, ref] of this.wanted) {
      if (ref.kind !== 'data' || this.dataSinks.has(key)) continue;
      // In-band (DCEP), labelled with the publisher's track id, so the client makes it a RemoteDataTrack.
      const sink = new DataSink(this.peer.createDataChannel(ref.id, {}));
      this.dataSinks.set(key, sink);
      this.room.dataSource(key)?.sinks.add(sink);
      needsApplication ||= !this.hasApplication;
    }
    return changed || needsApplication;
  }

  /**
   * A publisher that moved to a new session (its connection was replaced) publishes the same track
   * ids under a new session: lines carrying them switch source without renegotiating, so the
   * subscriber's track goes on as it was (a new line with the same track id would leave the client
   * bound to the old one's receiver).
   */
  private repoint(): void {
    const byPublisherTrack = new Map<string, TrackRef>();
    for (const ref of this.wanted.values()) byPublisherTrack.set(`${participantOf(ref.session)}/${ref.id}`, ref);
    for (const line of this.lines.values()) {
      const ref = line.downstream?.ref;
      if (!ref || (line.state !== 'active' && line.state !== 'offered') || this.wanted.has(trackKey(ref.session, ref.id))) continue;
      const next = byPublisherTrack.get(`${participantOf(ref.session)}/${ref.id}`);
      if (!next || next.kind !== ref.kind) continue;
      const active = line.state === 'active';
      // The line keeps its forwarder: same SSRC, numbering continued from the old source (a new
      // forwarder would restart it at random, and the subscriber's SRTP drops what looks replayed).
      const f = this.forwarders.get(line.mid);
      if (f) this.room.publication(trackKey(ref.session, ref.id))?.sinks.delete(f);
      line.downstream = { ...line.downstream!, ref: next };
      if (active) this.startForwarding(line);
    }
    // The same for data: the subscriber's channel stays, fed by the new source.
    for (const [key, sink] of [...this.dataSinks]) {
      if (this.wanted.has(key)) continue;
      const [session, ...rest] = key.split('/');
      const next = byPublisherTrack.get(`${participantOf(session!)}/${rest.join('/')}`);
      if (!next || next.kind !== 'data' || this.dataSinks.has(trackKey(next.session, next.id))) continue;
      this.room.dataSource(key)?.sinks.delete(sink);
      this.dataSinks.delete(key);
      const nextKey = trackKey(next.session, next.id);
      this.dataSinks.set(nextKey, sink);
      this.room.dataSource(nextKey)?.sinks.add(sink);
    }
  }

  private async localDescription(type: 'offer' | 'answer'): Promise<string> {
    const sdp = await this.peer.localDescription(type);
    return announceCandidates(sdp, this.options.announcedAddresses);
  }

  // ---- Lines ----

  private codecFor(kind: 'audio' | 'video'): LineCodec | null {
    return this.codecs[kind] ?? (kind === 'audio' ? { payloadType: 111, name: 'OPUS' } : { payloadType: 96, name: this.room.videoCodec });
  }

  /** Describes a line for our next offer: it receives what the client sends on it, sends what it carries. */
  private redescribe(line: Line): void {
    const codec = this.codecFor(line.kind);
    if (!codec || line.dead) return;
    const send = !!line.downstream && (line.state === 'active' || line.state === 'offered');
    this.describe(line, codec, !!line.upstream, send);
  }

  private describe(line: Line, codec: LineCodec, receive: boolean, send: boolean): void {
    const d = describe(line, codec, receive, send);
    const text = JSON.stringify(d);
    if (text === line.described) return;
    line.described = text;
    line.codec = codec;
    this.peer.setTrack(d);
  }

  private simulcastOf(line: Line, simulcast: number[] | null): void {
    const p = this.published.get(line.upstream ? trackKey(this.id, line.upstream.trackId) : '');
    p?.setLayers(simulcast);
  }

  /** Publications follow the client's sending lines: a new msid publishes, a line that stops sending unpublishes. */
  private updatePublications(desc: SessionDescription): void {
    const live = new Map<string, Line>();
    for (const line of this.lines.values()) if (line.upstream && !line.dead) live.set(trackKey(this.id, line.upstream.trackId), line);
    for (const key of [...this.published.keys()]) {
      if (!live.has(key)) {
        this.published.delete(key);
        this.room.unpublish(key);
      }
    }
    for (const [key, line] of live) {
      let p = this.published.get(key);
      const codec = line.codec ?? this.codecFor(line.kind)!;
      if (p && this.publishedMid.get(key) !== line.mid) {
        this.published.delete(key);
        this.room.unpublish(key);
        p = undefined;
      }
      if (!p) {
        const mid = line.mid;
        p = new Publication(key, line.kind, codec.name, this.rtcpSsrc, { sendRtcp: (packet) => void this.peer.send(mid, packet) });
        this.publishedMid.set(key, mid);
        this.published.set(key, p);
        this.room.publish(p);
      }
      const section = desc.media.find((m) => m.mid === line.mid);
      p.setLayers(section?.simulcast ?? null);
    }
  }

  private startForwarding(line: Line): void {
    const ref = line.downstream?.ref;
    if (!ref || this.closed) return;
    const codec = line.codec ?? this.codecFor(line.kind)!;
    let f = this.forwarders.get(line.mid);
    if (!f) {
      const mid = line.mid;
      f = new Forwarder(line.downstream!.ssrc, codec.payloadType, line.kind === 'audio' ? 48_000 : 90_000, line.kind === 'video', {
        send: (packet) => this.peer.send(mid, packet),
      });
      this.forwarders.set(line.mid, f);
    }
    const p = this.room.publication(trackKey(ref.session, ref.id));
    if (p) {
      p.sinks.add(f);
      p.requestKeyFrame();
    }
  }

  private stopForwarding(line: Line): void {
    const f = this.forwarders.get(line.mid);
    if (f) this.detach(line.mid, f);
  }

  private detach(mid: string, f: Forwarder): void {
    this.forwarders.delete(mid);
    const ref = this.lines.get(mid)?.downstream?.ref;
    if (ref) this.room.publication(trackKey(ref.session, ref.id))?.sinks.delete(f);
  }

  // ---- Media and data ----

  private onMedia(mid: string, packet: Buffer): void {
    if (this.closed || packet.length < 4) return;
    const line = this.lines.get(mid);
    if (!line) return;
    const now = Date.now();
    if (isRtcp(packet)) {
      if (line.upstream) this.published.get(trackKey(this.id, line.upstream.trackId))?.onRtcp(packet, now);
      if (line.downstream) this.subscriberFeedback(line, packet);
      return;
    }
    if (packet.length < 12 || !line.upstream) return;
    const p = this.published.get(trackKey(this.id, line.upstream.trackId));
    // Packets of the server's own SSRCs (a recycled line echoes nothing, but be sure) are not the client's media.
    if (p && ssrcOf(packet) !== line.downstream?.ssrc) p.onRtp(packet, now);
  }

  /** What a subscriber says about a track it receives: key frame requests and loss go to its publisher. */
  private subscriberFeedback(line: Line, packet: Buffer): void {
    const ref = line.downstream!.ref;
    const p = this.room.publication(trackKey(ref.session, ref.id));
    if (!p) return;
    const ssrc = line.downstream!.ssrc;
    for (const item of readRtcp(packet)) {
      if (item.type === 'pli' && item.mediaSsrc === ssrc) p.requestKeyFrame();
      else if (item.type === 'fir' && item.mediaSsrcs.includes(ssrc)) p.requestKeyFrame();
      else if (item.type === 'report' && item.ssrc === ssrc) p.subscriberLoss(item.fractionLost);
    }
  }

  private onDataChannel(channel: DataChannel): void {
    if (this.closed) return;
    const label = channel.getLabel();
    const key = trackKey(this.id, label);
    this.ownData.get(key) && this.room.unpublishData(key);
    const source = new DataSource(key, channel, () => {
      if (this.ownData.get(key) === source) {
        this.ownData.delete(key);
        this.room.unpublishData(key);
      }
    });
    this.ownData.set(key, source);
    this.room.publishData(source);
  }

  private onState(state: string): void {
    if (state === 'connected') {
      this.connectedAt ??= Date.now();
      // Key frames asked for before the connection was up were lost with it.
      for (const line of this.lines.values()) {
        const ref = line.downstream?.ref;
        if (ref && line.state === 'active') this.room.publication(trackKey(ref.session, ref.id))?.requestKeyFrame();
      }
    }
  }

  // ---- ICE ----

  private addIce(ice: NonNullable<PeerConnectionEntry['ice']>): void {
    if (ice.ufrag && this.remoteUfrag && ice.ufrag !== this.remoteUfrag) return; // for an older generation
    for (const c of ice.candidates) {
      if (!c.candidate || this.candidates.has(c.candidate)) continue;
      this.candidates.add(c.candidate);
      if (this.lastStable === 0 && this.pendingOffer === null) this.queuedCandidates.push(c);
      else this.addCandidate(c);
    }
  }

  private flushCandidates(): void {
    const queued = this.queuedCandidates;
    this.queuedCandidates = [];
    for (const c of queued) this.addCandidate(c);
  }

  private addCandidate(c: IceCandidate): void {
    // Host names (mDNS .local) cannot be resolved here and TCP is not offered: the client's
    // connectivity checks still find it (peer-reflexive), so nothing is lost by skipping them.
    const parts = c.candidate.replace(/^a=/, '').split(/\s+/);
    if (parts.length < 8 || parts[2]?.toLowerCase() !== 'udp' || parts[4]!.endsWith('.local')) return;
    const mid = c.sdpMid ?? [...this.lines.keys()][0] ?? '0';
    try {
      this.peer.addRemoteCandidate(c.candidate.replace(/^a=/, ''), mid);
    } catch {
      // A candidate the agent refuses is one path fewer, nothing more.
    }
  }

  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const next = this.chain.then(job, job);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function parseOrReject(sdp: string): SessionDescription {
  try {
    return parseSdp(sdp);
  } catch (err) {
    throw new ControlError(400, 53403, `Server is unable to apply a remote media description: ${err instanceof SdpError ? err.message : 'malformed SDP'}`);
  }
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^libdatachannel error while [^:]*: /, '').slice(0, 200);
}
