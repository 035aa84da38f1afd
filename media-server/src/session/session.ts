import type { MediaSignalingFeature, VideoBandwidthProfile } from '../../../core/media-signaling';
import { ControlError } from '../control/errors';
import type { DataSource } from '../data/data-relay';
import type { ClientReport } from '../msp/session-signaling';
import { SessionSignaling } from '../msp/session-signaling';
import type { QualityInputs } from '../msp/network-quality';
import type { Publication } from '../media/publication';
import { ADDED_APPLICATION_MID, announceCandidates, unifySetup, withApplication, withoutSection } from '../sdp/munge';
import type { SessionDescription } from '../sdp/sdp';
import { parseSdp, receives, SdpError, sends } from '../sdp/sdp';
import type { PeerConnectionEntry, SessionInfo, TrackRef } from '../types';
import type { ClientCodecs, Line, LineCodec } from './lines';
import { clientCodecs, describe, sectionCodec, upstreamExtensions } from './lines';
import type { PeerOptions } from './peer';
import { Peer } from './peer';
import { RemoteCandidates } from './remote-candidates';
import type { SessionRoom } from './session-media';
import { participantOf, SessionMedia, trackKey } from './session-media';

export type { SessionRoom } from './session-media';
export { trackKey } from './session-media';

export interface SessionOptions extends PeerOptions {
  announcedAddresses: string[];
}

/** What the participant's client asked of the room (its `connect`): media-signaling features, bandwidth profile. */
export interface ClientOptions {
  features: MediaSignalingFeature[];
  profile: VideoBandwidthProfile;
}


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
  private readonly media: SessionMedia;
  readonly signaling: SessionSignaling;
  private readonly candidates: RemoteCandidates;
  private readonly lines = new Map<string, Line>();
  private wanted = new Map<string, TrackRef>();
  private codecs: ClientCodecs = { audio: null, video: null };
  private lastStable = 0;
  private maxRevision = 0;
  private pendingOffer: number | null = null;
  private lastAnswer: PeerConnectionEntry | null = null;
  private dirty = false;
  private remoteUfrag: string | null = null;
  private hasApplication = false;
  /** The client answered the server's application section with port 0: it is not offered again. */
  private applicationRefused = false;
  private nextMid = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
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
    client: ClientOptions = { features: [], profile: {} },
  ) {
    this.peer = new Peer(id, options, {
      media: (mid, packet) => {
        const line = this.lines.get(mid);
        if (line && !this.closed) this.media.onPacket(line, packet, Date.now());
      },
      dataChannel: (channel) => this.media.onDataChannel(channel),
      state: (state) => this.onState(state),
    });
    this.media = new SessionMedia(id, room, this.peer);
    this.candidates = new RemoteCandidates(this.peer, () => [...this.lines.keys()][0] ?? '0');
    this.signaling = new SessionSignaling(participant, new Set(client.features), client.profile, {
      receivedVideo: () => this.media.receivedVideo(this.lines.values()),
      setAllocation: (on) => this.media.setAllocation(on, this.lines.values(), (line) => this.codecOf(line)),
      qualityInputs: (report) => this.qualityInputs(report),
    }, room);
  }

  /** A new bandwidth profile from the client (its `update`); the features are fixed at connect. */
  setProfile(profile: VideoBandwidthProfile): void {
    this.signaling.setProfile(profile);
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
        if (e.ice) this.candidates.add(e.ice, this.remoteUfrag, this.lastStable > 0 || this.pendingOffer !== null);
      }
      return out;
    });
  }

  /** Everything the participant receives from now on; resolves with an offer if its connection must change. */
  subscribe(tracks: TrackRef[]): Promise<PeerConnectionEntry[]> {
    return this.serialize(async () => {
      this.wanted = new Map(tracks.map((t) => [trackKey(t.session, t.id), t]));
      this.dirty = true;
      const out = await this.offer();
      // Publishers' priorities may have changed without anything to renegotiate.
      this.signaling.reallocate();
      return out;
    });
  }

  /** Ends the session: its connection closes, what it published stops, what it received is let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signaling.close();
    this.media.close(this.lines.values());
    this.peer.close();
    this.onClosed(this);
  }

  /** A track of another session was published (or came back): lines waiting for it start forwarding. */
  publicationAdded(p: Publication): void {
    this.media.publicationAdded(p, this.lines.values(), (line) => this.codecOf(line));
  }

  dataSourceAdded(source: DataSource): void {
    this.media.dataSourceAdded(source);
  }

  /** Runs about once a second. */
  tick(now: number): void {
    this.media.tick(now);
    // Bitrates moved: what fits a subscriber's budget may have changed.
    this.signaling.reallocate();
  }

  /** Network quality's figures: what the server measured on each path, and the client's own estimates. */
  private qualityInputs(report: ClientReport): QualityInputs {
    const audioSend = this.media.sendStats('audio');
    const videoSend = this.media.sendStats('video');
    // The client's send estimate covers everything it sends; audio's need comes out of it first.
    if (audioSend) audioSend.available = report.availableSend;
    if (videoSend) videoSend.available = report.availableSend === null ? null : Math.max(0, report.availableSend - (audioSend?.needed ?? 0));
    return {
      audio: { send: audioSend, recv: this.media.receiveStats('audio', this.lines.values()) },
      video: { send: videoSend, recv: this.media.receiveStats('video', this.lines.values()) },
      rtt: report.rtt,
    };
  }

  stats(): Record<string, unknown> {
    return {
      id: this.id,
      state: this.info().state,
      lines: [...this.lines.values()].map((l) => ({ mid: l.mid, kind: l.kind, up: l.upstream?.trackId ?? null, down: l.downstream?.ref.id ?? null, state: l.state })),
      ...this.media.stats(),
      signaling: this.signaling.stats(),
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
    }
    // Without an application section of its own, the client's offer gets one the client never sees
    // (withApplication explains why); the client is offered the real one right after this answer.
    const munged = withApplication(sdp);
    try {
      this.peer.setRemoteDescription(munged ?? sdp, 'offer');
    } catch (err) {
      throw new ControlError(400, 53403, `Server is unable to apply a remote media description: ${message(err)}`);
    }
    let answer = await this.localDescription('answer');
    if (munged) answer = withoutSection(answer, ADDED_APPLICATION_MID);
    this.remoteUfrag = ufrag;
    this.lastStable = revision;
    this.maxRevision = Math.max(this.maxRevision, revision);
    this.lastAnswer = { id: this.pc, description: { type: 'answer', revision, sdp: answer } };
    for (const line of this.lines.values()) if (line.state === 'retiring') line.state = 'idle';
    this.media.updatePublications(this.lines.values(), desc, (line) => this.codecOf(line));
    this.candidates.flush();
    // The features' channels are opened once the first answer is made (a channel created before it
    // leaves libdatachannel's ICE gathering for that answer unfinished).
    this.signaling.open(this.peer);
    // A client without an application section is offered one at once, before its SCTP could start
    // late (see withApplication), whether or not a channel needs it yet.
    if (this.needsApplication) this.dirty = true;
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
    else if (desc.media.some((m) => m.kind === 'application')) this.applicationRefused = true;
    for (const section of desc.media) {
      const line = section.mid ? this.lines.get(section.mid) : undefined;
      if (!line) continue;
      if (section.rejected) {
        line.dead = true;
        if (line.downstream) this.media.stopForwarding(line);
        continue;
      }
      if (line.state === 'retiring') line.state = 'idle';
      if (line.state === 'offered' && line.downstream) {
        line.state = 'active';
        if (receives(section.direction)) this.media.startForwarding(line, this.codecOf(line));
      }
    }
    this.candidates.flush();
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
    const samePublisherTrack = this.samePublisherTrack();
    for (const line of this.lines.values()) {
      const ref = line.downstream?.ref;
      if (!ref || (line.state !== 'active' && line.state !== 'offered')) continue;
      const key = trackKey(ref.session, ref.id);
      // A publisher that moved to a new session publishes the same track ids under a new session:
      // its lines switch source without renegotiating, so the subscriber's track goes on as it was
      // (a new line with the same track id would leave the client bound to the old one's receiver).
      const next = this.wanted.has(key) ? undefined : samePublisherTrack(key);
      if (next && next.kind === ref.kind) this.media.repoint(line, next, this.codecOf(line));
      const current = line.downstream!.ref;
      const still = this.wanted.get(trackKey(current.session, current.id));
      if (still) {
        // The same track; its publisher's priority may have changed.
        line.downstream!.ref = still;
        carried.add(trackKey(current.session, current.id));
        continue;
      }
      this.media.stopForwarding(line);
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
    this.media.planData(this.wanted, samePublisherTrack);
    if (changed) this.signaling.reallocate();
    return changed || this.needsApplication;
  }

  /** Finds the wanted track that is `key`'s (`<session>/<track id>`) under its publisher's newer session. */
  private samePublisherTrack(): (key: string) => TrackRef | undefined {
    const byPublisherTrack = new Map<string, TrackRef>();
    for (const ref of this.wanted.values()) byPublisherTrack.set(`${participantOf(ref.session)}/${ref.id}`, ref);
    return (key) => {
      const slash = key.indexOf('/');
      return byPublisherTrack.get(`${participantOf(key.slice(0, slash))}/${key.slice(slash + 1)}`);
    };
  }

  private async localDescription(type: 'offer' | 'answer'): Promise<string> {
    const sdp = await this.peer.localDescription(type);
    return announceCandidates(sdp, this.options.announcedAddresses);
  }

  // ---- Lines ----

  /** The codec a line carries: the one it was described with, or the client's for its kind. */
  private codecOf(line: Line): LineCodec {
    return line.codec ?? this.codecFor(line.kind);
  }

  private codecFor(kind: 'audio' | 'video'): LineCodec {
    return this.codecs[kind] ?? (kind === 'audio' ? { payloadType: 111, name: 'OPUS' } : { payloadType: 96, name: this.room.videoCodec });
  }

  /** Describes a line for our next offer: it receives what the client sends on it, sends what it carries. */
  private redescribe(line: Line): void {
    if (line.dead) return;
    const codec = this.codecFor(line.kind);
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

  private onState(state: string): void {
    if (state !== 'connected') return;
    this.connectedAt ??= Date.now();
    this.media.connected(this.lines.values());
  }

  /** Whether the client must be offered an application section (data tracks and features need one). */
  private get needsApplication(): boolean {
    return !this.hasApplication && !this.applicationRefused;
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
