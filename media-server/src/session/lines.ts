import type { Direction } from 'node-datachannel';
import type { Codec, MediaSection, SessionDescription } from '../sdp/sdp';
import type { TrackRef } from '../types';
import type { TrackDescription } from './peer';

/** Header extensions kept on what a client publishes: routing by mid, and its audio level (dominant speaker). */
const UPSTREAM_EXTENSIONS: Record<'audio' | 'video', string[]> = {
  audio: ['urn:ietf:params:rtp-hdrext:sdes:mid', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
  video: ['urn:ietf:params:rtp-hdrext:sdes:mid'],
};

/** The codec a line carries: every participant of a room sends and receives the same one, so nothing is transcoded. */
export interface LineCodec {
  payloadType: number;
  name: string;
  fmtp?: string;
}

/**
 * One m-line of a participant's peer connection. Either direction may be in use, independently:
 * the client publishes on it (upstream: its own track, named by its `a=msid`), the server sends
 * another participant's track down it (downstream), or both when the client recycled a line that
 * was receiving (group-room-protocol.md §3).
 */
export interface Line {
  mid: string;
  kind: 'audio' | 'video';
  /** Created by the server for downstream media (its mids start with `s`), not offered by the client. */
  ours: boolean;
  /** The client publishes here: the track id of its `a=msid`. */
  upstream: { trackId: string; ssrcs: number[] } | null;
  /** What the server sends down the line. */
  downstream: { ref: TrackRef; ssrc: number; stream: string } | null;
  /**
   * Negotiation state of the downstream side: `offered` in the outstanding offer, `active` once
   * answered; a line whose track went away is `retiring` until an answer took it to inactive, then
   * `idle`, when it may carry another track (a client learns a new track only on an m-line that
   * turns from not sending to sending, so a line never switches tracks in one negotiation).
   */
  state: 'offered' | 'active' | 'retiring' | 'idle';
  /** The client rejected the line (port 0) or stopped its transceiver: never used again. */
  dead: boolean;
  /** The codec last described for the line (the client's payload type for the room's codec). */
  codec: LineCodec | null;
  /** The client's extension ids this line keeps (upstream only). */
  extensions: [number, string][];
  /** What was last given to the peer for this line, to re-describe it only when it changes. */
  described: string;
}

/** The codecs a client uses, learned from its SDP: its payload type for Opus and for the video codec. */
export interface ClientCodecs {
  audio: LineCodec | null;
  video: LineCodec | null;
}

/** Picks the client's payload types for Opus and for `videoCodec` from any of its m-sections. */
export function clientCodecs(desc: SessionDescription, videoCodec: string, previous: ClientCodecs): ClientCodecs {
  const find = (kind: 'audio' | 'video'): LineCodec | null => {
    for (const m of desc.media) {
      const c = m.kind === kind ? sectionCodec(m, videoCodec) : null;
      if (c) return c;
    }
    return null;
  };
  return { audio: find('audio') ?? previous.audio, video: find('video') ?? previous.video };
}

function isPacketizationMode1(c: Codec): boolean {
  return !!c.fmtp && /packetization-mode=1/.test(c.fmtp);
}

/** The codec of `section` the server takes: the room's, at the client's payload type; null if the client offers none. */
export function sectionCodec(section: MediaSection, videoCodec: string): LineCodec | null {
  const name = section.kind === 'audio' ? 'OPUS' : videoCodec;
  const c = section.codecs.find((x) => x.name === name && (name !== 'H264' || isPacketizationMode1(x)));
  return c ? { payloadType: c.payloadType, name, fmtp: c.fmtp } : null;
}

/** The extensions of `section` the server keeps on an upstream line, at the client's ids. */
export function upstreamExtensions(section: MediaSection): [number, string][] {
  const wanted = UPSTREAM_EXTENSIONS[section.kind === 'audio' ? 'audio' : 'video'];
  return [...section.extensions].filter(([, uri]) => wanted.includes(uri));
}

/** The direction the server writes for a line: it receives when the client sends, sends when it has something to send. */
export function direction(receive: boolean, send: boolean): Direction {
  return receive && send ? 'SendRecv' : send ? 'SendOnly' : receive ? 'RecvOnly' : 'Inactive';
}

/** The local description of `line` for the peer. */
export function describe(line: Line, codec: LineCodec, receive: boolean, send: boolean): TrackDescription {
  const d: TrackDescription = {
    mid: line.mid,
    kind: line.kind,
    direction: direction(receive, send),
    payloadType: codec.payloadType,
    codec: codec.name,
    fmtp: line.kind === 'audio' ? 'minptime=10;useinbandfec=1' : codec.name === 'H264' ? codec.fmtp : undefined,
    extensions: receive ? line.extensions : [],
  };
  if (send && line.downstream) {
    d.send = { ssrc: line.downstream.ssrc, cname: 'atrium', stream: line.downstream.stream, track: line.downstream.ref.id };
  }
  return d;
}
