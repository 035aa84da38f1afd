import ndc from 'node-datachannel';
import type { Audio, DataChannel, DataChannelInitConfig, Direction, PeerConnection, RtcConfig, Track, Video } from 'node-datachannel';

/** What a line's local media description is made of (see lines.ts). */
export interface TrackDescription {
  mid: string;
  kind: 'audio' | 'video';
  direction: Direction;
  payloadType: number;
  /** The codec's name, upper-cased: OPUS for audio; VP8 (or H264) for video. Others only on inactive lines. */
  codec: string;
  /** `a=fmtp` parameters to offer or answer with, if any. */
  fmtp?: string;
  /** `a=extmap` lines to include (id and URI). */
  extensions: [number, string][];
  /** What this side sends on the line: its SSRC and the `a=msid` that names the track. */
  send?: { ssrc: number; cname: string; stream: string; track: string };
}

export interface PeerOptions {
  portRange: [number, number] | null;
  bindAddress: string;
}

/** How long the first local description may wait for ICE gathering. */
const GATHER_TIMEOUT_MS = 5_000;

/**
 * One node-datachannel (libdatachannel) peer connection and the quirks of its Node binding,
 * handled in one place:
 * - A Track or DataChannel object that is garbage-collected closes the native track or channel,
 *   so every object the binding hands out is kept here until the connection closes.
 * - `addTrack` with a mid that exists replaces that track's local description (direction, codecs,
 *   SSRC, msid) and returns a new object for the same native track. The local description, not the
 *   remote offer, decides the answer, so a line's description is (re)set before every answer.
 * - Only one `onMessage` callback exists per native track: the newest object's.
 * - Negotiation is manual (disableAutoNegotiation); the first local description waits for ICE
 *   gathering, so every description sent carries its candidates and the server never trickles.
 */
export class Peer {
  private readonly pc: PeerConnection;
  private readonly tracks = new Map<string, Track>();
  private readonly retained: (Track | DataChannel)[] = [];
  private readonly nackResponders = new Set<string>();
  private closed = false;

  constructor(
    name: string,
    options: PeerOptions,
    private readonly events: {
      media(mid: string, packet: Buffer): void;
      dataChannel(channel: DataChannel): void;
      state(state: string): void;
    },
  ) {
    const config: RtcConfig = { iceServers: [], disableAutoNegotiation: true };
    if (options.bindAddress && options.bindAddress !== '0.0.0.0') config.bindAddress = options.bindAddress;
    if (options.portRange) {
      config.portRangeBegin = options.portRange[0];
      config.portRangeEnd = options.portRange[1];
      // One port for every connection: libjuice demultiplexes by ICE username.
      if (options.portRange[0] === options.portRange[1]) config.enableIceUdpMux = true;
    }
    this.pc = new ndc.PeerConnection(name, config);
    this.pc.onStateChange((state) => this.events.state(state));
    this.pc.onDataChannel((channel) => {
      this.retained.push(channel);
      this.events.dataChannel(channel);
    });
    // Tracks are created by setTrack() before each description; keep any the library makes itself.
    this.pc.onTrack((track) => this.retained.push(track));
  }

  get state(): string {
    return this.closed ? 'closed' : this.pc.state();
  }

  /** Creates or re-describes the line `mid`. */
  setTrack(d: TrackDescription): Track {
    const media = d.kind === 'audio' ? new ndc.Audio(d.mid, d.direction) : new ndc.Video(d.mid, d.direction);
    if (d.kind === 'audio') {
      if (d.codec === 'OPUS') (media as Audio).addOpusCodec(d.payloadType, d.fmtp);
      else (media as Audio).addAudioCodec(d.payloadType, d.codec.toLowerCase() + '/8000');
    } else if (d.codec === 'VP8') (media as Video).addVP8Codec(d.payloadType);
    else if (d.codec === 'H264') (media as Video).addH264Codec(d.payloadType, d.fmtp);
    else (media as Video).addVideoCodec(d.payloadType, d.codec);
    for (const [id, uri] of d.extensions) media.parseSdpLine(`a=extmap:${id} ${uri}`);
    if (d.send) media.addSSRC(d.send.ssrc, d.send.cname, d.send.stream, d.send.track);
    const track = this.pc.addTrack(media);
    this.retained.push(track);
    this.tracks.set(d.mid, track);
    track.onMessage((packet) => this.events.media(d.mid, packet));
    // Answers the subscriber's NACKs from what was sent on the line (a native history of packets).
    if (d.send && !this.nackResponders.has(d.mid)) {
      track.setMediaHandler(new ndc.RtcpNackResponder(1024));
      this.nackResponders.add(d.mid);
    }
    return track;
  }

  /** Sends an RTP or RTCP packet on line `mid`; false when it is not open (yet, or any more). */
  send(mid: string, packet: Buffer): boolean {
    const track = this.tracks.get(mid);
    if (!track || this.closed) return false;
    try {
      return track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  setRemoteDescription(sdp: string, type: 'offer' | 'answer'): void {
    this.pc.setRemoteDescription(sdp, type);
  }

  /** Creates and applies the local offer or answer; resolves with it, ICE candidates included. */
  async localDescription(type: 'offer' | 'answer'): Promise<string> {
    // libdatachannel closes a connection whose ICE or DTLS fails or disconnects, then ignores remote
    // descriptions; setLocalDescription would then throw a C++ exception the binding does not catch,
    // which aborts the process. Refused here instead, as an error of this one session.
    const state = this.pc.signalingState();
    if ((type === 'answer' && state === 'stable') || (type === 'offer' && state === 'have-remote-offer')) {
      throw new Error(`no local ${type} in signaling state ${state} (connection ${this.pc.state()})`);
    }
    this.pc.setLocalDescription(type);
    await this.gathered();
    const local = this.pc.localDescription();
    if (!local) throw new Error('no local description after setLocalDescription');
    return local.sdp;
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.pc.addRemoteCandidate(candidate, mid);
  }

  createDataChannel(label: string, init: DataChannelInitConfig): DataChannel {
    const channel = this.pc.createDataChannel(label, init);
    this.retained.push(channel);
    return channel;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.pc.close();
    } catch {
      // Already closed by the library.
    }
    this.tracks.clear();
    this.retained.length = 0;
  }

  private gathered(): Promise<void> {
    if (this.pc.gatheringState() === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      this.pc.onGatheringStateChange((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
}
