/**
 * A synthetic participant: one node-datachannel peer connection that behaves toward the media
 * server like a twilio-video browser client. By default it is driven through the control API the
 * way the Room object drives it (durable-objects/room/media/sfu/sfu-media.ts):
 *
 *   PUT    /v1/sessions/{session}                {room, participant, pc, features?, profile?}
 *   POST   /v1/sessions/{session}/signal         {entries: [{id: pc, description: {type, revision, sdp}} | {id: pc, ice}]}
 *   PUT    /v1/sessions/{session}/subscriptions  {tracks}
 *   DELETE /v1/sessions/{session}
 *
 * What the server answers (its answers and offers) is fed straight back, as the Room object relays
 * it to the client. The negotiation's entries can go another way instead (`transport`): through
 * Atrium's signaling, for instance (test/node/support/signaling-participant.ts), where the server's
 * entries arrive later, in messages, and are handed to `receive()`. Revisions follow twilio-video:
 * the first offer is revision 1, a server offer is answered with its own revision, and the
 * client's later offers take the highest revision seen + 1.
 * On glare (a server offer while the client's own is outstanding) the client rolls its offer back,
 * answers, and offers again.
 *
 * It publishes sendrecv Opus audio and VP8 video (payload types configurable, `a=msid:<stream>
 * <track>` lines) and optionally an in-band data channel labelled with its data track id; it sends
 * synthetic RTP (audio every 20 ms, video at `videoPps` with VP8 payload descriptors, a key frame
 * every `keyFrameInterval` packets and after every PLI or FIR), sender reports, and retransmits
 * what it is NACKed for. It counts what it receives per mid and SSRC, and records the RTCP and data
 * channel messages it gets, on the channels the server opens too (media-signaling features' among
 * them, which `sendOnRemoteChannel` writes to). Every payload it sends carries a tag (its SSRC and
 * sequence number), so a receiver can tell which packet of which publisher arrived, whatever the
 * server rewrote.
 *
 * node-datachannel quirks handled here (see media-server/src/session/peer.ts): every Track and
 * DataChannel object is retained (a collected wrapper closes the native track); negotiation is manual
 * (`disableAutoNegotiation`: setLocalDescription, then wait for gathering before reading the
 * description when it must carry candidates); the local track description decides the answer, so a
 * line the server offers gets a local track (receive-only, the server's payload type) before the
 * answer is made, and a line whose direction must change is described again. Two limits of
 * libdatachannel as a *client* shape the defaults: as an offerer it fails the DTLS fingerprint check
 * if the server completes DTLS before the answer is applied (so candidates are trickled after the
 * answer, see `ice`), and as an answerer it cannot take an application section a re-offer adds (see
 * `receiveData`). Browsers have neither problem; the server is not affected by either.
 *
 * Reusable beyond the tests: the benchmark puts tens of these in one room. Usage:
 *
 *   const control = controlClient(url, secret);
 *   const a = new SyntheticParticipant({ control, room: 'RM1', participant: 'PA1', data: true });
 *   const b = new SyntheticParticipant({ control, room: 'RM1', participant: 'PA2', videoPayloadType: 120 });
 *   await a.join(); await b.join();
 *   a.startMedia();
 *   await b.subscribe(a.tracksToSubscribe());   // the server's offer is answered on the way
 *   ... b.packetsOf(a.videoTrackId!), b.messages, a.rtcpOf('pli') ...
 *   a.close(); b.close();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import ndc from 'node-datachannel';
import type { Audio, DataChannel, Direction, PeerConnection, Track, Video } from 'node-datachannel';
import type { PeerConnectionEntry, TrackRef } from '../../src/types';
import { ControlCallError, type ControlClient, type ControlResponse } from './control';
import { waitFor } from './wait';

// ---- Options and records ----

export interface SyntheticParticipantOptions {
  /** The media server's control API: sessions, subscriptions, and negotiation unless `transport` is given. */
  control?: ControlClient;
  /** Where negotiation entries go instead of the control API (then the control-only methods are unavailable). */
  transport?: EntryTransport;
  room: string;
  /** Participant sid (PA…), also the name of the peer connection in logs. */
  participant: string;
  /** The media session id; `<participant>.1` by default, as the Room object names first sessions. */
  session?: string;
  /** The peer connection id twilio-video would choose (a UUID by default). */
  pc?: string;
  /** Publish an audio track (default true). */
  audio?: boolean;
  /** Publish a video track (default true). */
  video?: boolean;
  /** Publish a data track: true for `<participant>-data`, or the label to use (default none). */
  data?: boolean | string;
  /**
   * Negotiate an SCTP association from the first offer even without a data track of its own, so
   * that data tracks it subscribes to later can be opened (default false). libdatachannel, as the
   * answerer, cannot take an application section added by a re-offer once DTLS is up ("Starting
   * SCTP transport without local application description"), which browsers can; so a synthetic
   * participant that publishes no data opens a pre-negotiated channel (no DCEP: the server never
   * sees it) to have one.
   */
  receiveData?: boolean;
  /**
   * The `a=msid` track ids (and stream id) to publish with, instead of fresh ones: a participant that
   * comes back on a new connection (a new session) publishes the same tracks.
   */
  trackIds?: { stream?: string; audio?: string; video?: string };
  /** Opus payload type (default 111, Chrome's; Firefox uses 109). */
  audioPayloadType?: number;
  /** VP8 payload type (default 96, Chrome's; Firefox uses 120). */
  videoPayloadType?: number;
  /** Audio packets per second while media runs (default 50: one per 20 ms). */
  audioPps?: number;
  /** Video packets per second while media runs, one packet per frame (default 30). */
  videoPps?: number;
  /** Size of each video packet, bytes (default 300). */
  videoPacketBytes?: number;
  /** Audio payload size, bytes, drawn evenly from [min, max] per packet (default [51, 51]); with the header and extensions, 20 more. */
  audioPayloadBytes?: [number, number];
  /** A key frame every this many video packets (default 100); 0: only the first and on PLI/FIR. */
  keyFrameInterval?: number;
  /** How long its "encoder" takes to produce a key frame after a PLI or FIR, ms (default 0: the next packet). */
  keyFrameDelayMs?: number;
  /** RTP header extensions on what it sends, declared with `a=extmap` (default true). */
  headerExtensions?: boolean;
  /** A sender report per stream every second while media runs (default true). */
  senderReports?: boolean;
  /** Retransmit packets the server NACKs (default true). */
  retransmit?: boolean;
  /**
   * 'trickle' (default): descriptions carry no candidates; once the answer to the first offer is
   * applied, the gathered candidates follow as one `ice` entry (twilio-video trickles too).
   * 'sdp': the descriptions carry them (gathering completes first). With a libdatachannel offerer
   * that is a race: the server can complete ICE and DTLS before the client has applied its answer,
   * and libdatachannel then fails the DTLS fingerprint check and closes the connection. Use it only
   * where the test can afford that.
   */
  ice?: 'sdp' | 'trickle';
  /** Address the peer's ICE sockets bind to (default 127.0.0.1: one host candidate, on loopback). */
  bindAddress?: string;
  /** Packets kept per received mid for inspection (default 4000; 0 keeps only the counters, for benchmarks). */
  keepPackets?: number;
  /** The RFC 6464 audio level (0 loudest – 127 silence, -dBov) its audio packets carry (default 30: speech); `audioLevel` changes it later. */
  audioLevel?: number;
  /** Media-signaling features asked for when the session is opened (`features` of PUT /v1/sessions; default none sent). */
  features?: string[];
  /** The video bandwidth profile sent with the session (`profile` of PUT /v1/sessions; default none sent). */
  profile?: Record<string, unknown>;
}

/**
 * Where a participant's negotiation entries (its offers, answers and ICE) go.
 * `send` resolves with the entries the server answered with at once (the control API's response
 * body); a transport whose replies arrive later (the signaling's `update` messages) resolves with
 * none, and its owner hands them to `SyntheticParticipant.receive()` as they come.
 */
export interface EntryTransport {
  send(entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]>;
}

/** One RTP packet as a participant received it. */
export interface PacketRecord {
  at: number;
  ssrc: number;
  payloadType: number;
  seq: number;
  timestamp: number;
  marker: boolean;
  /** The X bit: the packet carried header extensions. */
  extension: boolean;
  /** A VP8 payload starting a key frame (video lines only). */
  keyFrame: boolean;
  /** The tag the sending synthetic participant put in the payload: its SSRC and sequence number. */
  origin: { ssrc: number; seq: number } | null;
  size: number;
}

/** What a participant received on one of its lines (mid). */
export interface ReceivedStream {
  mid: string;
  kind: string;
  packets: number;
  bytes: number;
  bySsrc: Map<number, number>;
  payloadTypes: Set<number>;
  keyFrames: number;
  /** The latest packets (`keepPackets` of them). */
  log: PacketRecord[];
  firstAt: number;
  lastAt: number;
  /** The line's first sequence number, and its highest so far extended past wraparound: packets expected = highest − first + 1, so loss = expected − packets (RFC 3550's count). */
  firstSeq: number;
  highestSeq: number;
}

export type RtcpItem =
  | { type: 'sr'; ssrc: number; ntp: bigint; rtpTimestamp: number; packets: number; octets: number }
  | { type: 'rr'; sender: number; blocks: { ssrc: number; fractionLost: number; cumulativeLost: number; highestSeq: number }[] }
  | { type: 'pli'; sender: number; media: number }
  | { type: 'fir'; sender: number; media: number[] }
  | { type: 'nack'; sender: number; media: number; seqs: number[] }
  | { type: 'remb'; sender: number; bitrate: number; ssrcs: number[] }
  | { type: 'other'; packetType: number; fmt: number };

export interface RtcpRecord {
  at: number;
  mid: string;
  item: RtcpItem;
}

export interface DataMessage {
  at: number;
  /** The label of the channel it arrived on. */
  label: string;
  /** 'own': the channel this participant opened (its data track); 'remote': one the server opened. */
  channel: 'own' | 'remote';
  data: string | Buffer;
}

/** A line the server offered: what it carries, from the `a=msid` and `a=ssrc` of its offer. */
export interface OfferedLine {
  mid: string;
  kind: string;
  direction: string;
  payloadType: number | null;
  ssrc: number | null;
  msid: { stream: string; track: string } | null;
}

// ---- The participant ----

const TAG_MAGIC = 0x53594e50; // 'SYNP'
const AUDIO_LEVEL_EXT = 1;
const ABS_SEND_TIME_EXT = 2;
const MID_EXT = 4;
const HISTORY = 1024;

let counter = 0;

export class SyntheticParticipant {
  readonly room: string;
  readonly participant: string;
  readonly session: string;
  readonly pcId: string;
  readonly stream: string;
  readonly audioTrackId: string | null;
  readonly videoTrackId: string | null;
  readonly dataTrackId: string | null;
  readonly audioSsrc = randomSsrc();
  readonly videoSsrc = randomSsrc();
  /** Sender SSRC of the RTCP it sends about what it receives. */
  readonly rtcpSsrc = randomSsrc();
  readonly audioPayloadType: number;
  readonly videoPayloadType: number;
  readonly audioMid: string | null;
  readonly videoMid: string | null;

  /** Per mid, what arrived. */
  readonly received = new Map<string, ReceivedStream>();
  readonly rtcp: RtcpRecord[] = [];
  readonly messages: DataMessage[] = [];
  /** Lines the server offered, by mid (its latest offer). */
  readonly offered = new Map<string, OfferedLine>();
  /** Every description and ICE entry exchanged, oldest first (for failure reports). */
  readonly transcript: { dir: 'sent' | 'received'; entry: PeerConnectionEntry }[] = [];
  readonly sent = { audio: 0, video: 0, keyFrames: 0, retransmissions: 0, senderReports: 0, skipped: [] as number[], nacked: [] as number[] };
  /** Server offers that met an offer of ours (glare). */
  glares = 0;
  /** Date.now() when the connection first reached `connected` (ICE and DTLS done); null until then. */
  connectedAt: number | null = null;
  /** Every state the connection went through, with Date.now() (failure reports). */
  readonly states: { at: number; state: string }[] = [];
  /** The audio level (RFC 6464, 0–127) put in each audio packet from now on. */
  audioLevel: number;

  private readonly control: ControlClient | null;
  private readonly transport: EntryTransport;
  /** Negotiating through the control API (whose calls log themselves in the transcript). */
  private readonly viaControl: boolean;
  private readonly opts: Required<Omit<SyntheticParticipantOptions, 'control' | 'transport' | 'room' | 'participant' | 'session' | 'pc' | 'data' | 'receiveData' | 'trackIds' | 'audioLevel' | 'features' | 'profile'>>;
  /** What PUT /v1/sessions carries besides room, participant and pc. */
  private readonly sessionExtras: Record<string, unknown>;
  private readonly pc: PeerConnection;
  private readonly retained: (Track | DataChannel)[] = [];
  private readonly tracks = new Map<string, Track>();
  /** What each line was last described with, to describe it again only when that changes. */
  private readonly described = new Map<string, string>();
  private readonly ownChannel: DataChannel | null = null;
  private readonly remoteChannels: DataChannel[] = [];
  private readonly candidates: { candidate: string; mid: string }[] = [];
  private maxRevisionSeen = 0;
  private pendingOfferRevision: number | null = null;
  private iceRevision = 0;
  private iceSent = false;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  // media
  private audioTimer: NodeJS.Timeout | null = null;
  private videoTimer: NodeJS.Timeout | null = null;
  private srTimer: NodeJS.Timeout | null = null;
  private audioSeq = Math.floor(Math.random() * 0x10000);
  private videoSeq = Math.floor(Math.random() * 0x10000);
  private audioTs = Math.floor(Math.random() * 0x7fffffff);
  private readonly videoTsBase = Math.floor(Math.random() * 0x7fffffff);
  private readonly videoStartedAt = Date.now();
  private videoTs = 0;
  private videoPackets = 0;
  private pictureId = Math.floor(Math.random() * 0x7fff);
  private keyFramePending = true;
  /** When a requested key frame is due (keyFrameDelayMs after the request). */
  private keyFrameDueAt: number | null = null;
  private readonly skip = new Set<number>();
  private readonly history = new Map<number, Buffer>();
  private readonly octets = { audio: 0, video: 0 };

  constructor(options: SyntheticParticipantOptions) {
    this.control = options.control ?? null;
    if (!options.transport && !options.control) throw new Error('a synthetic participant needs a control client or a transport');
    this.transport = options.transport ?? { send: (entries) => this.postOrThrow(entries) };
    this.viaControl = !options.transport;
    this.room = options.room;
    this.participant = options.participant;
    this.session = options.session ?? `${options.participant}.1`;
    this.pcId = options.pc ?? randomUUID();
    this.opts = {
      audio: options.audio ?? true,
      video: options.video ?? true,
      audioPayloadType: options.audioPayloadType ?? 111,
      videoPayloadType: options.videoPayloadType ?? 96,
      audioPps: options.audioPps ?? 50,
      videoPps: options.videoPps ?? 30,
      videoPacketBytes: options.videoPacketBytes ?? 300,
      audioPayloadBytes: options.audioPayloadBytes ?? [51, 51],
      keyFrameInterval: options.keyFrameInterval ?? 100,
      keyFrameDelayMs: options.keyFrameDelayMs ?? 0,
      headerExtensions: options.headerExtensions ?? true,
      senderReports: options.senderReports ?? true,
      retransmit: options.retransmit ?? true,
      ice: options.ice ?? 'trickle',
      bindAddress: options.bindAddress ?? '127.0.0.1',
      keepPackets: options.keepPackets ?? 4000,
    };
    this.audioPayloadType = this.opts.audioPayloadType;
    this.videoPayloadType = this.opts.videoPayloadType;
    this.audioLevel = options.audioLevel ?? 30;
    this.sessionExtras = { ...(options.features ? { features: options.features } : {}), ...(options.profile ? { profile: options.profile } : {}) };
    const tag = `${options.participant}-${++counter}`;
    this.stream = options.trackIds?.stream ?? `stream-${tag}`;
    this.audioTrackId = this.opts.audio ? (options.trackIds?.audio ?? `audio-${tag}`) : null;
    this.videoTrackId = this.opts.video ? (options.trackIds?.video ?? `video-${tag}`) : null;
    this.dataTrackId = options.data ? (typeof options.data === 'string' ? options.data : `data-${tag}`) : null;
    let mid = 0;
    this.audioMid = this.opts.audio ? String(mid++) : null;
    this.videoMid = this.opts.video ? String(mid++) : null;
    if (!this.audioMid && !this.videoMid && !this.dataTrackId && !options.receiveData) throw new Error('a synthetic participant must publish audio, video or data, or receive data');

    this.pc = new ndc.PeerConnection(this.participant, { iceServers: [], disableAutoNegotiation: true, bindAddress: this.opts.bindAddress });
    this.pc.onLocalCandidate((candidate, m) => this.candidates.push({ candidate, mid: m }));
    this.pc.onStateChange((state) => {
      this.states.push({ at: Date.now(), state });
      if (state === 'connected' && this.connectedAt === null) this.connectedAt = Date.now();
    });
    // Lines the server adds are described before each answer (prepareLine); keep anything the library makes itself.
    this.pc.onTrack((track) => {
      this.retained.push(track);
      const m = track.mid();
      if (!this.tracks.has(m)) {
        this.tracks.set(m, track);
        track.onMessage((msg) => this.onTrackMessage(m, msg));
      }
    });
    this.pc.onDataChannel((channel) => {
      this.retained.push(channel);
      this.remoteChannels.push(channel);
      const label = channel.getLabel();
      channel.onMessage((msg) => this.onDataMessage(label, 'remote', msg));
    });
    if (this.audioMid) this.describeOwn('audio', 'SendRecv');
    if (this.videoMid) this.describeOwn('video', 'SendRecv');
    if (this.dataTrackId) {
      const channel = this.pc.createDataChannel(this.dataTrackId, {});
      this.retained.push(channel);
      channel.onMessage((msg) => this.onDataMessage(this.dataTrackId!, 'own', msg));
      this.ownChannel = channel;
    } else if (options.receiveData) {
      this.retained.push(this.pc.createDataChannel('synthetic-sctp', { negotiated: true, id: 1023 }));
    }
  }

  // ---- What others subscribe to ----

  /** This participant's tracks as another's subscriptions name them. */
  tracksToSubscribe(kinds: ('audio' | 'video' | 'data')[] = ['audio', 'video', 'data']): TrackRef[] {
    const out: TrackRef[] = [];
    if (this.audioTrackId && kinds.includes('audio')) out.push({ session: this.session, id: this.audioTrackId, kind: 'audio', sid: `MT${this.audioTrackId}` });
    if (this.videoTrackId && kinds.includes('video')) out.push({ session: this.session, id: this.videoTrackId, kind: 'video', sid: `MT${this.videoTrackId}` });
    if (this.dataTrackId && kinds.includes('data')) out.push({ session: this.session, id: this.dataTrackId, kind: 'data', sid: `MT${this.dataTrackId}` });
    return out;
  }

  // ---- Negotiation through the control API ----

  get maxRevision(): number {
    return this.maxRevisionSeen;
  }

  get pendingOffer(): number | null {
    return this.pendingOfferRevision;
  }

  /** The connection's state (new, connecting, connected, disconnected, failed, closed). */
  get state(): string {
    if (this.closed) return 'closed';
    try {
      return this.pc.state();
    } catch {
      return 'closed';
    }
  }

  get signalingState(): string {
    return this.closed ? 'closed' : this.pc.signalingState();
  }

  /** PUT /v1/sessions/{session}: creates the session (or finds it). Throws on anything but 200. */
  openSession(): Promise<{ id: string; pc: string; state: string }> {
    return this.serialize(() => this.expect('PUT', this.path(), { room: this.room, participant: this.participant, pc: this.pcId, ...this.sessionExtras }));
  }

  /** Opens the session and makes the first offer (revision 1); resolves once the answer is applied. */
  async join(): Promise<PeerConnectionEntry[]> {
    await this.openSession();
    return this.offer();
  }

  /** Makes an offer (revision: highest seen + 1), sends it through the transport, and handles what comes back. */
  offer(): Promise<PeerConnectionEntry[]> {
    return this.serialize(async () => this.deliverNow([await this.createOfferNow()]));
  }

  /**
   * Creates and applies a local offer without sending it: the entry to send. `mutate` edits its SDP
   * (a test's malformed or ICE-restarting offer).
   */
  createOffer(mutate?: (sdp: string) => string): Promise<PeerConnectionEntry> {
    return this.serialize(() => this.createOfferNow(mutate));
  }

  /** POSTs entries to the control API and hands back the raw response, handling nothing. */
  send(entries: PeerConnectionEntry[]): Promise<ControlResponse<{ entries: PeerConnectionEntry[] }>> {
    return this.serialize(() => this.post(entries));
  }

  /** Sends entries through the transport (the control API: throws unless 200) and handles what comes back at once; resolves with it. */
  deliver(entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]> {
    return this.serialize(() => this.deliverNow(entries));
  }

  /** Handles entries the server sent (answers, offers, close), as if the Room object relayed them. */
  handle(entries: PeerConnectionEntry[]): Promise<void> {
    return this.serialize(() => this.handleNow(entries));
  }

  /**
   * What a transport whose replies come later hands over as they arrive: handles the entries like
   * `handle`, and once the first exchange is complete trickles the candidates, as `deliver` does
   * after a response.
   */
  receive(entries: PeerConnectionEntry[]): Promise<void> {
    return this.serialize(async () => {
      this.log('received', entries);
      await this.handleNow(entries);
      if (this.signalingState === 'stable') await this.sendIceIfTrickling();
    });
  }

  /** PUT …/subscriptions: what this participant receives; handles the offer that may come back. */
  subscribe(tracks: TrackRef[]): Promise<PeerConnectionEntry[]> {
    return this.serialize(async () => {
      const body = await this.expect<{ entries: PeerConnectionEntry[] }>('PUT', `${this.path()}/subscriptions`, { tracks });
      this.log('received', body.entries);
      await this.handleNow(body.entries);
      return body.entries;
    });
  }

  /** PUT …/subscriptions without handling the result (a test holds the server's offer back). */
  subscribeRaw(tracks: TrackRef[]): Promise<ControlResponse<{ entries: PeerConnectionEntry[] }>> {
    return this.serialize(async () => {
      const res = await this.controlApi().call<{ entries: PeerConnectionEntry[] }>('PUT', `${this.path()}/subscriptions`, { tracks });
      if (res.status === 200) this.log('received', res.body.entries);
      return res;
    });
  }

  /** DELETE the session, then close the connection. */
  async leave(): Promise<void> {
    try {
      await this.controlApi().call('DELETE', this.path());
    } finally {
      this.close();
    }
  }

  /** Waits until `n` more packets of `publisher`'s audio or video have arrived here than had when called. */
  async waitForMedia(publisher: SyntheticParticipant, kind: 'audio' | 'video', n = 10, timeoutMs = 8_000): Promise<void> {
    const track = kind === 'audio' ? publisher.audioTrackId : publisher.videoTrackId;
    if (!track) throw new Error(`${publisher.participant} publishes no ${kind}`);
    const before = this.packetsOf(track);
    await waitFor(`${this.participant} to receive ${n} ${kind} packets of ${publisher.participant}`, () => this.packetsOf(track) >= before + n, {
      timeoutMs,
      detail: () => ({ subscriber: this.summary(), publisher: publisher.summary() }),
    });
  }

  waitConnected(timeoutMs = 10_000): Promise<unknown> {
    return waitFor(`${this.participant}'s peer connection to connect`, () => this.state === 'connected', {
      timeoutMs,
      detail: () => ({ state: this.state, signaling: this.signalingState, transcript: this.transcript.map((t) => `${t.dir} ${t.entry.description?.type ?? 'ice'} ${t.entry.description?.revision ?? ''}`) }),
    });
  }

  // ---- Media ----

  /** Starts sending audio and video at the configured rates, and sender reports. */
  startMedia(): void {
    if (this.closed) return;
    if (this.audioMid && !this.audioTimer) this.audioTimer = setInterval(() => this.sendAudio(), Math.round(1000 / this.opts.audioPps));
    if (this.videoMid && !this.videoTimer) this.videoTimer = setInterval(() => this.sendVideo(), Math.round(1000 / this.opts.videoPps));
    if (this.opts.senderReports && !this.srTimer) this.srTimer = setInterval(() => this.sendSenderReports(), 1000);
  }

  stopMedia(): void {
    for (const t of [this.audioTimer, this.videoTimer, this.srTimer]) if (t) clearInterval(t);
    this.audioTimer = this.videoTimer = this.srTimer = null;
  }

  /** Sends one audio packet now. */
  sendAudio(): boolean {
    if (!this.audioMid) return false;
    const seq = this.audioSeq;
    this.audioSeq = (seq + 1) & 0xffff;
    this.audioTs = (this.audioTs + 960) >>> 0;
    const [min, max] = this.opts.audioPayloadBytes;
    const size = min + Math.floor(Math.random() * (max - min + 1));
    const payload = Buffer.concat([Buffer.from([0x78]), tag(this.audioSsrc, seq), filler(Math.max(0, size - 11))]);
    const ext = this.opts.headerExtensions ? oneByteExtensions([[AUDIO_LEVEL_EXT, Buffer.from([0x80 | (this.audioLevel & 0x7f)])], [MID_EXT, Buffer.from(this.audioMid)]]) : null;
    const packet = rtpPacket({ payloadType: this.audioPayloadType, seq, timestamp: this.audioTs, ssrc: this.audioSsrc, marker: false, extension: ext, payload });
    const ok = this.sendOn(this.audioMid, packet);
    if (ok) {
      this.sent.audio++;
      this.octets.audio += payload.length;
    }
    return ok;
  }

  /** Sends one video packet (a whole frame) now; a key frame if asked, due, or requested by PLI/FIR. */
  sendVideo(opts: { keyFrame?: boolean } = {}): boolean {
    if (!this.videoMid) return false;
    const seq = this.videoSeq;
    this.videoSeq = (seq + 1) & 0xffff;
    if (this.keyFrameDueAt !== null && Date.now() >= this.keyFrameDueAt) {
      this.keyFrameDueAt = null;
      this.keyFramePending = true;
    }
    const interval = this.opts.keyFrameInterval;
    const key = !!opts.keyFrame || this.keyFramePending || (interval > 0 && this.videoPackets % interval === 0);
    this.videoPackets++;
    this.videoTs = (this.videoTsBase + Math.round((Date.now() - this.videoStartedAt) * 90)) >>> 0;
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    const payload = vp8Payload({ keyFrame: key, pictureId: this.pictureId, tag: tag(this.videoSsrc, seq), size: this.opts.videoPacketBytes });
    const ext = this.opts.headerExtensions
      ? oneByteExtensions([
          [ABS_SEND_TIME_EXT, Buffer.from([1, 2, 3])],
          [MID_EXT, Buffer.from(this.videoMid)],
        ])
      : null;
    const packet = rtpPacket({ payloadType: this.videoPayloadType, seq, timestamp: this.videoTs, ssrc: this.videoSsrc, marker: true, extension: ext, payload });
    this.history.set(seq, packet);
    if (this.history.size > HISTORY) this.history.delete(this.history.keys().next().value!);
    if (this.skip.delete(seq)) {
      // Lost on the way: kept for a retransmission, not sent.
      this.sent.skipped.push(seq);
      return false;
    }
    const ok = this.sendOn(this.videoMid, packet);
    if (ok) {
      this.sent.video++;
      this.octets.video += payload.length;
      if (key) {
        this.sent.keyFrames++;
        this.keyFramePending = false;
      }
    }
    return ok;
  }

  /** The next video packet is "lost": built and kept (for a NACK), not sent. Returns its sequence number. */
  skipNextVideoPacket(): number {
    const seq = this.videoSeq;
    this.skip.add(seq);
    return seq;
  }

  /** Sends an RTCP packet (e.g. a PLI of a received stream) on line `mid`. */
  sendRtcp(mid: string, packet: Buffer): boolean {
    return this.sendOn(mid, packet);
  }

  /** Asks for a key frame of what arrives on `mid` (a PLI for the SSRC the server offered there). */
  requestKeyFrame(mid: string): boolean {
    const ssrc = this.offered.get(mid)?.ssrc ?? [...(this.received.get(mid)?.bySsrc.keys() ?? [])][0];
    if (ssrc === undefined || ssrc === null) throw new Error(`${this.participant}: no SSRC known on line ${mid}`);
    return this.sendOn(mid, pliPacket(this.rtcpSsrc, ssrc));
  }

  /** Sends a message on this participant's data track channel; false if it is not open. */
  sendData(message: string | Buffer): boolean {
    const channel = this.ownChannel;
    if (!channel || this.closed || !channel.isOpen()) return false;
    try {
      return typeof message === 'string' ? channel.sendMessage(message) : channel.sendMessageBinary(message);
    } catch {
      return false;
    }
  }

  /** The ICE candidates gathered so far, as an `ice` entry carries them. */
  get localCandidates(): { candidate: string; sdpMid: string; sdpMLineIndex: number }[] {
    return this.candidates.map((c) => ({ candidate: c.candidate.replace(/^a=/, ''), sdpMid: c.mid, sdpMLineIndex: 0 }));
  }

  /** The ICE ufrag of the local description, if there is one. */
  get localUfrag(): string | undefined {
    return this.closed ? undefined : /a=ice-ufrag:(\S+)/.exec(this.pc.localDescription()?.sdp ?? '')?.[1];
  }

  get dataChannelOpen(): boolean {
    return !!this.ownChannel && !this.closed && this.ownChannel.isOpen();
  }

  /** Labels of the channels the server opened toward this participant. */
  get remoteChannelLabels(): string[] {
    return this.remoteChannels.map((c) => c.getLabel());
  }

  /** Sends a message on the (newest) channel the server opened with `label`; false if there is none open. */
  sendOnRemoteChannel(label: string, message: string | Buffer): boolean {
    const channel = this.remoteChannels.filter((c) => c.getLabel() === label).pop();
    if (!channel || this.closed || !channel.isOpen()) return false;
    try {
      return typeof message === 'string' ? channel.sendMessage(message) : channel.sendMessageBinary(message);
    } catch {
      return false;
    }
  }

  // ---- What arrived ----

  /** The line (mid) the server offered for another participant's track id, if any. */
  lineFor(trackId: string): OfferedLine | undefined {
    return [...this.offered.values()].find((l) => l.msid?.track === trackId);
  }

  /** Packets received on the line carrying `trackId`, or on mid `mid`. */
  packetsOf(trackIdOrMid: string): number {
    const mid = this.lineFor(trackIdOrMid)?.mid ?? trackIdOrMid;
    return this.received.get(mid)?.packets ?? 0;
  }

  /** Packets received from the publisher SSRC `ssrc` (by the tags in their payloads), on any line. */
  packetsFrom(ssrc: number): PacketRecord[] {
    const out: PacketRecord[] = [];
    for (const s of this.received.values()) for (const p of s.log) if (p.origin?.ssrc === ssrc) out.push(p);
    return out;
  }

  rtcpOf<T extends RtcpItem['type']>(type: T, since = 0): Extract<RtcpItem, { type: T }>[] {
    return this.rtcp.filter((r) => r.at >= since && r.item.type === type).map((r) => r.item as Extract<RtcpItem, { type: T }>);
  }

  /** PLIs and FIRs received for this participant's own video. */
  keyFrameRequests(since = 0): number {
    return this.rtcp.filter((r) => r.at >= since && ((r.item.type === 'pli' && r.item.media === this.videoSsrc) || (r.item.type === 'fir' && r.item.media.includes(this.videoSsrc)))).length;
  }

  /** A summary for failure messages and benchmark tables. */
  summary(): Record<string, unknown> {
    const rtcp: Record<string, number> = {};
    for (const r of this.rtcp) rtcp[r.item.type] = (rtcp[r.item.type] ?? 0) + 1;
    return {
      participant: this.participant,
      state: this.state,
      signaling: this.signalingState,
      sent: { ...this.sent, skipped: this.sent.skipped.length, nacked: this.sent.nacked.length },
      received: [...this.received.values()].map((s) => ({ mid: s.mid, kind: s.kind, packets: s.packets, keyFrames: s.keyFrames, ssrcs: [...s.bySsrc.keys()], pts: [...s.payloadTypes] })),
      rtcp,
      messages: this.messages.length,
      offered: [...this.offered.values()],
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopMedia();
    try {
      this.pc.close();
    } catch {
      // closed already
    }
    this.tracks.clear();
    this.retained.length = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- Internals: negotiation ----

  private path(): string {
    return `/v1/sessions/${encodeURIComponent(this.session)}`;
  }

  private async createOfferNow(mutate?: (sdp: string) => string): Promise<PeerConnectionEntry> {
    this.assertOpen();
    const revision = this.maxRevisionSeen + 1;
    this.assertCanDescribe('offer');
    this.pc.setLocalDescription('offer');
    let sdp = await this.localSdp();
    if (mutate) sdp = mutate(sdp);
    this.maxRevisionSeen = revision;
    this.pendingOfferRevision = revision;
    return { id: this.pcId, description: { type: 'offer', revision, sdp } };
  }

  private async deliverNow(entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]> {
    if (!this.viaControl) this.log('sent', entries);
    const replies = await this.transport.send(entries);
    await this.handleNow(replies);
    // Only now, with the server's answer applied: see the `ice` option. (A transport whose replies
    // come later gets here before the answer; receive() sends the candidates then.)
    if (this.signalingState === 'stable') await this.sendIceIfTrickling();
    return replies;
  }

  private async post(entries: PeerConnectionEntry[]): Promise<ControlResponse<{ entries: PeerConnectionEntry[] }>> {
    this.log('sent', entries);
    const res = await this.controlApi().call<{ entries: PeerConnectionEntry[] }>('POST', `${this.path()}/signal`, { entries });
    if (res.status === 200) this.log('received', res.body.entries);
    return res;
  }

  /** The control API as a transport: POST …/signal, throwing unless 200. */
  private async postOrThrow(entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]> {
    const res = await this.post(entries);
    if (res.status !== 200) throw new ControlCallError('POST', `${this.path()}/signal`, res.status, res.body);
    return res.body.entries;
  }

  private controlApi(): ControlClient {
    if (!this.control) throw new Error(`${this.participant}: no control client (its negotiation goes through a transport)`);
    return this.control;
  }

  private async handleNow(entries: PeerConnectionEntry[]): Promise<void> {
    for (const e of entries) {
      if (e.id !== this.pcId || this.closed) continue;
      const d = e.description;
      if (!d) continue;
      this.maxRevisionSeen = Math.max(this.maxRevisionSeen, d.revision);
      if (d.type === 'answer') {
        // An answer to anything but our outstanding offer is stale.
        if (this.pendingOfferRevision !== d.revision || this.pc.signalingState() !== 'have-local-offer') continue;
        this.readOffered(d.sdp!);
        this.pc.setRemoteDescription(d.sdp!, 'answer');
        this.pendingOfferRevision = null;
      } else if (d.type === 'offer') {
        await this.answerNow(d.revision, d.sdp!);
      } else if (d.type === 'create-offer') {
        await this.deliverNow([await this.createOfferNow()]);
      } else if (d.type === 'close') {
        this.close();
      }
    }
  }

  private async answerNow(revision: number, sdp: string): Promise<void> {
    this.assertOpen();
    let offerAgain = false;
    if (this.pc.signalingState() === 'have-local-offer') {
      // Glare: the server's offer stands; ours is rolled back and made again after answering.
      this.glares++;
      this.pc.setLocalDescription('rollback');
      this.pendingOfferRevision = null;
      offerAgain = true;
    }
    for (const line of this.readOffered(sdp)) this.prepareLine(line);
    this.pc.setRemoteDescription(sdp, 'offer');
    this.assertCanDescribe('answer');
    this.pc.setLocalDescription('answer');
    const answer = await this.localSdp();
    await this.deliverNow([{ id: this.pcId, description: { type: 'answer', revision, sdp: answer } }]);
    if (offerAgain && !this.closed) await this.deliverNow([await this.createOfferNow()]);
  }

  /** Remembers what the server's description says about each of its lines (msid, SSRC, payload type). */
  private readOffered(sdp: string): OfferedLine[] {
    const lines = readSections(sdp);
    for (const l of lines) if (l.kind === 'audio' || l.kind === 'video') this.offered.set(l.mid, l);
    return lines;
  }

  /**
   * Describes our side of a line the server offers, before the answer is made: our own lines send
   * (and receive), the server's lines receive the server's payload type, or go inactive.
   */
  private prepareLine(line: OfferedLine & { port?: number }): void {
    if (line.kind !== 'audio' && line.kind !== 'video') return;
    const own = line.mid === this.audioMid || line.mid === this.videoMid;
    const direction = answerDirection(line.direction, own, true);
    if (own) {
      this.describeOwn(line.mid === this.audioMid ? 'audio' : 'video', direction);
      return;
    }
    const pt = line.payloadType ?? (line.kind === 'audio' ? this.audioPayloadType : this.videoPayloadType);
    const key = `${line.kind}|${direction}|${pt}`;
    if (this.described.get(line.mid) === key && this.tracks.has(line.mid)) return;
    const media = line.kind === 'audio' ? new ndc.Audio(line.mid, direction) : new ndc.Video(line.mid, direction);
    if (line.kind === 'audio') (media as Audio).addOpusCodec(pt, 'minptime=10;useinbandfec=1');
    else (media as Video).addVP8Codec(pt);
    this.addTrack(line.mid, media, key);
  }

  private describeOwn(kind: 'audio' | 'video', direction: Direction): void {
    const mid = kind === 'audio' ? this.audioMid! : this.videoMid!;
    const key = `${kind}|${direction}|own`;
    if (this.described.get(mid) === key) return;
    const ext = this.opts.headerExtensions;
    let media: Audio | Video;
    if (kind === 'audio') {
      const a = new ndc.Audio(mid, direction);
      a.addOpusCodec(this.audioPayloadType, 'minptime=10;useinbandfec=1');
      if (ext) {
        a.parseSdpLine(`a=extmap:${AUDIO_LEVEL_EXT} urn:ietf:params:rtp-hdrext:ssrc-audio-level`);
        a.parseSdpLine(`a=extmap:${MID_EXT} urn:ietf:params:rtp-hdrext:sdes:mid`);
      }
      a.addSSRC(this.audioSsrc, this.participant, this.stream, this.audioTrackId!);
      media = a;
    } else {
      const v = new ndc.Video(mid, direction);
      v.addVP8Codec(this.videoPayloadType);
      if (ext) {
        v.parseSdpLine(`a=extmap:${ABS_SEND_TIME_EXT} http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`);
        v.parseSdpLine(`a=extmap:${MID_EXT} urn:ietf:params:rtp-hdrext:sdes:mid`);
      }
      v.addSSRC(this.videoSsrc, this.participant, this.stream, this.videoTrackId!);
      media = v;
    }
    this.addTrack(mid, media, key);
  }

  /** Adds or re-describes line `mid`: a new wrapper of the same native track, which gets the message callback. */
  private addTrack(mid: string, media: Audio | Video, key: string): void {
    const track = this.pc.addTrack(media);
    this.retained.push(track);
    this.tracks.set(mid, track);
    this.described.set(mid, key);
    track.onMessage((msg) => this.onTrackMessage(mid, msg));
  }

  /** The local description, ICE candidates included unless they are trickled. */
  private async localSdp(): Promise<string> {
    if (this.opts.ice === 'sdp') await this.gathered();
    const local = this.pc.localDescription();
    if (!local) throw new Error(`${this.participant}: no local description`);
    if (this.opts.ice === 'sdp') return local.sdp;
    return local.sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
      .join('\r\n');
  }

  /** Trickle mode: once the first exchange is complete, the gathered candidates follow as one `ice` entry. */
  private async sendIceIfTrickling(): Promise<void> {
    if (this.opts.ice !== 'trickle' || this.iceSent || this.closed) return;
    await this.gathered();
    this.iceSent = true;
    const entries = [{ id: this.pcId, ice: { revision: ++this.iceRevision, ufrag: this.localUfrag, candidates: this.localCandidates, complete: true } }];
    if (!this.viaControl) this.log('sent', entries);
    await this.transport.send(entries);
  }

  private gathered(): Promise<unknown> {
    if (this.pc.gatheringState() === 'complete') return Promise.resolve();
    return waitFor(`${this.participant}'s ICE gathering`, () => this.closed || this.pc.gatheringState() === 'complete', { timeoutMs: 5_000, intervalMs: 5 });
  }

  private async expect<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.controlApi().call<T>(method, path, body);
    if (res.status !== 200) throw new ControlCallError(method, path, res.status, res.body);
    return res.body;
  }

  private log(dir: 'sent' | 'received', entries: PeerConnectionEntry[]): void {
    for (const entry of entries) this.transcript.push({ dir, entry });
    if (this.transcript.length > 200) this.transcript.splice(0, this.transcript.length - 200);
  }

  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const next = this.chain.then(job, job);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * libdatachannel closes a connection whose ICE or DTLS fails or disconnects and then ignores
   * remote descriptions, so an offer can leave it stable; setLocalDescription would then throw a C++
   * exception the binding does not catch, aborting the process. An error of this participant instead.
   */
  private assertCanDescribe(type: 'offer' | 'answer'): void {
    const state = this.pc.signalingState();
    if ((type === 'answer' && state === 'stable') || (type === 'offer' && state === 'have-remote-offer')) {
      throw new Error(`${this.participant}: no local ${type} in signaling state ${state} (connection ${this.pc.state()})`);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.participant}: peer connection is closed`);
  }

  // ---- Internals: media ----

  private sendOn(mid: string, packet: Buffer): boolean {
    const track = this.tracks.get(mid);
    if (!track || this.closed) return false;
    try {
      return track.isOpen() && track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  /** Sends a sender report for each stream that has sent something (startMedia does, every second). */
  sendSenderReports(): void {
    const ntp = ntpNow();
    if (this.audioMid && this.sent.audio > 0 && this.sendOn(this.audioMid, senderReportPacket(this.audioSsrc, ntp, this.audioTs, this.sent.audio, this.octets.audio))) this.sent.senderReports++;
    if (this.videoMid && this.sent.video > 0 && this.sendOn(this.videoMid, senderReportPacket(this.videoSsrc, ntp, this.videoTs, this.sent.video, this.octets.video))) this.sent.senderReports++;
  }

  private onTrackMessage(mid: string, msg: Buffer): void {
    if (this.closed || msg.length < 4) return;
    const now = Date.now();
    const pt = msg[1]! & 0x7f;
    if (pt >= 64 && pt <= 95) {
      for (const item of readRtcpItems(msg)) {
        this.rtcp.push({ at: now, mid, item });
        if ((item.type === 'pli' && item.media === this.videoSsrc) || (item.type === 'fir' && item.media.includes(this.videoSsrc))) this.keyFrameRequested(now);
        else if (item.type === 'nack' && item.media === this.videoSsrc) this.onNack(item.seqs);
      }
      if (this.rtcp.length > 20_000) this.rtcp.splice(0, 10_000);
      return;
    }
    const p = readRtp(msg);
    if (!p) return;
    let s = this.received.get(mid);
    if (!s) {
      s = { mid, kind: this.offered.get(mid)?.kind ?? (mid === this.videoMid ? 'video' : mid === this.audioMid ? 'audio' : '?'), packets: 0, bytes: 0, bySsrc: new Map(), payloadTypes: new Set(), keyFrames: 0, log: [], firstAt: now, lastAt: now, firstSeq: p.seq, highestSeq: p.seq };
      this.received.set(mid, s);
    } else {
      // Ahead of the highest by less than half the sequence space: newer (wrapping past 65535 included).
      const ahead = (p.seq - (s.highestSeq & 0xffff) + 0x10000) & 0xffff;
      if (ahead > 0 && ahead < 0x8000) s.highestSeq += ahead;
    }
    const keyFrame = s.kind === 'video' && isVp8KeyFramePayload(p.payload);
    s.packets++;
    s.bytes += msg.length;
    s.lastAt = now;
    s.bySsrc.set(p.ssrc, (s.bySsrc.get(p.ssrc) ?? 0) + 1);
    s.payloadTypes.add(p.payloadType);
    if (keyFrame) s.keyFrames++;
    const keep = this.opts.keepPackets;
    if (keep > 0) {
      // Only when kept: a benchmark's thousands of packets a second skip building it.
      const record: PacketRecord = { at: now, ssrc: p.ssrc, payloadType: p.payloadType, seq: p.seq, timestamp: p.timestamp, marker: p.marker, extension: p.extension, keyFrame, origin: readTag(p.payload), size: msg.length };
      s.log.push(record);
      // Trimmed in batches: one splice per keep/4 packets, not one per packet.
      if (s.log.length > keep + (keep >> 2) + 16) s.log.splice(0, s.log.length - keep);
    }
  }

  private keyFrameRequested(now: number): void {
    if (this.opts.keyFrameDelayMs <= 0) this.keyFramePending = true;
    else this.keyFrameDueAt ??= now + this.opts.keyFrameDelayMs;
  }

  private onNack(seqs: number[]): void {
    for (const seq of seqs) {
      this.sent.nacked.push(seq);
      if (!this.opts.retransmit || !this.videoMid) continue;
      const packet = this.history.get(seq);
      if (packet && this.sendOn(this.videoMid, Buffer.from(packet))) this.sent.retransmissions++;
    }
  }

  private onDataMessage(label: string, channel: 'own' | 'remote', msg: string | Buffer | ArrayBuffer): void {
    if (this.closed) return;
    const data = typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? Buffer.from(msg) : Buffer.from(new Uint8Array(msg));
    this.messages.push({ at: Date.now(), label, channel, data });
    if (this.messages.length > 20_000) this.messages.splice(0, 10_000);
  }
}

// ---- SDP, read independently of the server's parser ----

/** The audio, video and application sections of an SDP: mid, direction, first payload type, first SSRC, msid. */
export function readSections(sdp: string): (OfferedLine & { port: number })[] {
  const out: (OfferedLine & { port: number })[] = [];
  let cur: (OfferedLine & { port: number; codecs: Map<number, string> }) | null = null;
  const finish = () => {
    if (!cur) return;
    const wanted = cur.kind === 'audio' ? 'OPUS' : 'VP8';
    const formats = cur.codecs;
    const pt = [...formats].find(([, name]) => name === wanted)?.[0] ?? [...formats.keys()][0] ?? null;
    const { codecs: _codecs, ...line } = cur;
    out.push({ ...line, payloadType: pt });
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const l = raw.trim();
    const m = /^m=(\S+) (\d+)/.exec(l);
    if (m) {
      finish();
      cur = { mid: '', kind: m[1]!, port: Number(m[2]), direction: 'sendrecv', payloadType: null, ssrc: null, msid: null, codecs: new Map() };
      continue;
    }
    if (!cur) continue;
    if (l.startsWith('a=mid:')) cur.mid = l.slice(6);
    else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)) cur.direction = l.slice(2);
    else if (l.startsWith('a=rtpmap:')) {
      const r = /^a=rtpmap:(\d+) ([^/]+)/.exec(l);
      if (r) cur.codecs.set(Number(r[1]), r[2]!.toUpperCase());
    } else if (l.startsWith('a=ssrc:') && cur.ssrc === null) cur.ssrc = Number(/^a=ssrc:(\d+)/.exec(l)?.[1]);
    else if (l.startsWith('a=msid:') && !cur.msid) {
      const [stream, track] = l.slice(7).split(/\s+/);
      cur.msid = { stream: stream ?? '', track: track ?? '' };
    }
  }
  finish();
  return out;
}

/** The direction we answer with: we send if we have something and the offerer receives; we receive if it sends and we want to. */
export function answerDirection(offered: string, send: boolean, receive: boolean): Direction {
  const offerSends = offered === 'sendrecv' || offered === 'sendonly';
  const offerReceives = offered === 'sendrecv' || offered === 'recvonly';
  const s = send && offerReceives;
  const r = receive && offerSends;
  return s && r ? 'SendRecv' : s ? 'SendOnly' : r ? 'RecvOnly' : 'Inactive';
}

// ---- RTP and RTCP, built and read independently of the server's code ----

export function randomSsrc(): number {
  return (randomBytes(4).readUInt32BE(0) | 1) >>> 0;
}

/** A one-byte-header extension block (RFC 8285), padded to a word. */
export function oneByteExtensions(items: [number, Buffer][]): Buffer {
  const body: number[] = [];
  for (const [id, value] of items) body.push((id << 4) | (value.length - 1), ...value);
  while (body.length % 4) body.push(0);
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt16BE(0xbede, 0);
  out.writeUInt16BE(body.length / 4, 2);
  Buffer.from(body).copy(out, 4);
  return out;
}

export function rtpPacket(p: { payloadType: number; seq: number; timestamp: number; ssrc: number; marker?: boolean; extension?: Buffer | null; payload: Buffer; csrcs?: number[] }): Buffer {
  const csrcs = p.csrcs ?? [];
  const header = Buffer.alloc(12 + 4 * csrcs.length);
  header[0] = 0x80 | (p.extension ? 0x10 : 0) | csrcs.length;
  header[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  header.writeUInt16BE(p.seq & 0xffff, 2);
  header.writeUInt32BE(p.timestamp >>> 0, 4);
  header.writeUInt32BE(p.ssrc >>> 0, 8);
  csrcs.forEach((c, i) => header.writeUInt32BE(c >>> 0, 12 + 4 * i));
  return Buffer.concat([header, p.extension ?? Buffer.alloc(0), p.payload]);
}

export function readRtp(buf: Buffer): { payloadType: number; seq: number; timestamp: number; ssrc: number; marker: boolean; extension: boolean; payload: Buffer } | null {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return null;
  let offset = 12 + 4 * (buf[0]! & 0x0f);
  const extension = (buf[0]! & 0x10) !== 0;
  if (extension) {
    if (buf.length < offset + 4) return null;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  if (offset > buf.length) return null;
  const padding = buf[0]! & 0x20 ? buf[buf.length - 1]! : 0;
  return {
    payloadType: buf[1]! & 0x7f,
    marker: (buf[1]! & 0x80) !== 0,
    seq: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    extension,
    payload: buf.subarray(offset, buf.length - padding),
  };
}

const FILLER = randomBytes(2048);
/** `n` random-looking bytes (a slice of one random block: random content costs nothing per packet). */
function filler(n: number): Buffer {
  return n <= FILLER.length ? FILLER.subarray(0, n) : randomBytes(n);
}

/** The 10-byte tag a synthetic participant puts in each payload: magic, its SSRC, the sequence number. */
function tag(ssrc: number, seq: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt32BE(TAG_MAGIC, 0);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.writeUInt16BE(seq & 0xffff, 8);
  return b;
}

function readTag(payload: Buffer): { ssrc: number; seq: number } | null {
  for (let i = 0; i + 10 <= payload.length && i < 40; i++) {
    if (payload.readUInt32BE(i) === TAG_MAGIC) return { ssrc: payload.readUInt32BE(i + 4), seq: payload.readUInt16BE(i + 8) };
  }
  return null;
}

/**
 * A VP8 RTP payload (RFC 7741) as browsers send it: the extended descriptor with a 15-bit
 * PictureID, S=1 and partition 0, then the frame header: P=0 (and the start code and size) for a
 * key frame, P=1 for an interframe; then the tag and filler.
 */
export function vp8Payload(p: { keyFrame: boolean; pictureId: number; tag?: Buffer; size?: number }): Buffer {
  const descriptor = Buffer.from([0x90, 0x80, 0x80 | ((p.pictureId >> 8) & 0x7f), p.pictureId & 0xff]);
  const header = p.keyFrame ? Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]) : Buffer.from([0x11, 0x02, 0x00]);
  const body = Buffer.concat([descriptor, header, p.tag ?? Buffer.alloc(0)]);
  const size = Math.max(p.size ?? body.length, body.length);
  return Buffer.concat([body, Buffer.alloc(size - body.length, 0xab)]);
}

/** Whether a VP8 payload starts a key frame: S=1, partition 0, P=0 in the frame header. */
export function isVp8KeyFramePayload(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  let i = 0;
  const first = payload[i++]!;
  if (!(first & 0x10) || (first & 0x07) !== 0) return false;
  if (first & 0x80) {
    const x = payload[i++] ?? 0;
    if (x & 0x80) i += (payload[i] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  return i < payload.length && (payload[i]! & 0x01) === 0;
}

export function pliPacket(sender: number, media: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x81;
  b[1] = 206;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 8);
  return b;
}

export function senderReportPacket(ssrc: number, ntp: bigint, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.writeBigUInt64BE(ntp, 8);
  b.writeUInt32BE(rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}

function ntpNow(): bigint {
  const ms = Date.now() + 2_208_988_800_000;
  const seconds = BigInt(Math.floor(ms / 1000));
  const fraction = BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
  return (seconds << 32n) | fraction;
}

/** Every RTCP item in a compound packet. */
export function readRtcpItems(buf: Buffer): RtcpItem[] {
  const out: RtcpItem[] = [];
  let i = 0;
  while (i + 4 <= buf.length) {
    if (buf[i]! >> 6 !== 2) break;
    const fmt = buf[i]! & 0x1f;
    const type = buf[i + 1]!;
    const length = (buf.readUInt16BE(i + 2) + 1) * 4;
    if (i + length > buf.length) break;
    const end = i + length;
    if (type === 200 && length >= 28) {
      out.push({ type: 'sr', ssrc: buf.readUInt32BE(i + 4), ntp: buf.readBigUInt64BE(i + 8), rtpTimestamp: buf.readUInt32BE(i + 16), packets: buf.readUInt32BE(i + 20), octets: buf.readUInt32BE(i + 24) });
    } else if (type === 201 && length >= 8) {
      const blocks: { ssrc: number; fractionLost: number; cumulativeLost: number; highestSeq: number }[] = [];
      for (let b = i + 8, n = 0; n < fmt && b + 24 <= end; n++, b += 24) {
        const lost = (buf[b + 5]! << 16) | buf.readUInt16BE(b + 6);
        blocks.push({ ssrc: buf.readUInt32BE(b), fractionLost: buf[b + 4]! / 256, cumulativeLost: lost & 0x800000 ? lost - 0x1000000 : lost, highestSeq: buf.readUInt32BE(b + 8) });
      }
      out.push({ type: 'rr', sender: buf.readUInt32BE(i + 4), blocks });
    } else if (type === 205 && fmt === 1 && length >= 12) {
      const seqs: number[] = [];
      for (let j = i + 12; j + 4 <= end; j += 4) {
        const pid = buf.readUInt16BE(j);
        const blp = buf.readUInt16BE(j + 2);
        seqs.push(pid);
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.push((pid + bit + 1) & 0xffff);
      }
      out.push({ type: 'nack', sender: buf.readUInt32BE(i + 4), media: buf.readUInt32BE(i + 8), seqs });
    } else if (type === 206 && fmt === 1 && length >= 12) {
      out.push({ type: 'pli', sender: buf.readUInt32BE(i + 4), media: buf.readUInt32BE(i + 8) });
    } else if (type === 206 && fmt === 4 && length >= 12) {
      const media: number[] = [];
      for (let j = i + 12; j + 8 <= end; j += 8) media.push(buf.readUInt32BE(j));
      out.push({ type: 'fir', sender: buf.readUInt32BE(i + 4), media });
    } else if (type === 206 && fmt === 15 && length >= 20 && buf.toString('ascii', i + 12, i + 16) === 'REMB') {
      const n = buf[i + 16]!;
      const exp = buf[i + 17]! >> 2;
      const mantissa = ((buf[i + 17]! & 0x03) << 16) | buf.readUInt16BE(i + 18);
      const ssrcs: number[] = [];
      for (let k = 0; k < n && i + 24 + 4 * k <= end; k++) ssrcs.push(buf.readUInt32BE(i + 20 + 4 * k));
      out.push({ type: 'remb', sender: buf.readUInt32BE(i + 4), bitrate: mantissa * 2 ** exp, ssrcs });
    } else {
      out.push({ type: 'other', packetType: type, fmt });
    }
    i = end;
  }
  return out;
}
