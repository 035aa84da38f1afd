/**
 * A small SDP reader: enough of RFC 8866 and JSEP for a media server to understand the offers and
 * answers of browsers (Unified Plan, BUNDLE). Lines are kept as they were; helpers read the fields
 * a media server acts on.
 */

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface Codec {
  payloadType: number;
  /** Encoding name, upper-cased: OPUS, VP8, H264, RTX, … */
  name: string;
  clockRate: number;
  channels?: number;
  /** `a=fmtp` parameters, as written. */
  fmtp?: string;
  /** `a=rtcp-fb` values, e.g. `nack`, `nack pli`, `transport-cc`. */
  feedback: string[];
}

export interface MediaSection {
  kind: 'audio' | 'video' | 'application' | string;
  port: number;
  proto: string;
  /** Payload types (or `webrtc-datachannel`) as listed on the m-line. */
  formats: string[];
  mid: string | null;
  direction: Direction;
  /** The first `a=msid:` line: stream id and track id (`-` stream ids included). */
  msid: { stream: string; track: string } | null;
  codecs: Codec[];
  /** `a=extmap` id → URI. */
  extensions: Map<number, string>;
  /** SSRCs listed in `a=ssrc`, first of each `a=ssrc-group:FID` the media one. */
  ssrcs: number[];
  /** `a=ssrc-group:FID media rtx` pairs. */
  rtxPairs: [number, number][];
  /** `a=ssrc-group:SIM` (simulcast by SSRC, lowest layer first), if any. */
  simulcast: number[] | null;
  /** `a=rid` lines: simulcast by RID. */
  rids: string[];
  bundleOnly: boolean;
  /** Rejected: port 0 without bundle-only. */
  rejected: boolean;
  iceUfrag: string | null;
  icePwd: string | null;
  fingerprint: string | null;
  setup: string | null;
  sctpPort: number | null;
  maxMessageSize: number | null;
  lines: string[];
}

export interface SessionDescription {
  /** Session-level lines (before the first m=). */
  session: string[];
  media: MediaSection[];
  /** The BUNDLE group's mids, if any. */
  bundle: string[];
  iceUfrag: string | null;
  icePwd: string | null;
  iceLite: boolean;
}

export class SdpError extends Error {}

const DIRECTIONS: Direction[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string' || !text.startsWith('v=0')) throw new SdpError('not an SDP: it must start with v=0');
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const sections: string[][] = [];
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw new SdpError(`malformed SDP line '${line.slice(0, 60)}'`);
    if (line.startsWith('m=')) sections.push([line]);
    else if (sections.length) sections[sections.length - 1]!.push(line);
    else session.push(line);
  }
  if (sections.length > 256) throw new SdpError('too many media sections');
  const sessionAttr = (name: string) => attr(session, name);
  const bundleLine = session.find((l) => l.startsWith('a=group:BUNDLE'));
  const desc: SessionDescription = {
    session,
    media: sections.map((s, i) => parseMedia(s, i)),
    bundle: bundleLine ? bundleLine.slice('a=group:BUNDLE'.length).trim().split(/\s+/).filter(Boolean) : [],
    iceUfrag: sessionAttr('ice-ufrag'),
    icePwd: sessionAttr('ice-pwd'),
    iceLite: session.includes('a=ice-lite'),
  };
  return desc;
}

function parseMedia(lines: string[], index: number): MediaSection {
  const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+)(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new SdpError(`malformed m-line ${index}: '${lines[0]!.slice(0, 60)}'`);
  const [, kind, port, proto, fmts] = m;
  const formats = (fmts ?? '').split(/\s+/).filter(Boolean);
  const codecs = new Map<number, Codec>();
  const extensions = new Map<number, string>();
  const ssrcs: number[] = [];
  const rtxPairs: [number, number][] = [];
  let simulcast: number[] | null = null;
  const rids: string[] = [];
  let direction: Direction = 'sendrecv';
  let msid: MediaSection['msid'] = null;
  for (const line of lines.slice(1)) {
    const a = line.startsWith('a=') ? line.slice(2) : null;
    if (a === null) continue;
    if ((DIRECTIONS as string[]).includes(a)) direction = a as Direction;
    else if (a.startsWith('rtpmap:')) {
      const r = /^rtpmap:(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?/.exec(a);
      if (r) {
        const pt = Number(r[1]);
        const codec = codecs.get(pt) ?? { payloadType: pt, name: '', clockRate: 0, feedback: [] };
        codec.name = r[2]!.toUpperCase();
        codec.clockRate = Number(r[3]);
        if (r[4]) codec.channels = Number(r[4]);
        codecs.set(pt, codec);
      }
    } else if (a.startsWith('fmtp:')) {
      const r = /^fmtp:(\d+) (.*)$/.exec(a);
      if (r) {
        const pt = Number(r[1]);
        const codec = codecs.get(pt) ?? { payloadType: pt, name: '', clockRate: 0, feedback: [] };
        codec.fmtp = r[2];
        codecs.set(pt, codec);
      }
    } else if (a.startsWith('rtcp-fb:')) {
      const r = /^rtcp-fb:(\d+|\*) (.*)$/.exec(a);
      if (r && r[1] !== '*') {
        const pt = Number(r[1]);
        const codec = codecs.get(pt) ?? { payloadType: pt, name: '', clockRate: 0, feedback: [] };
        codec.feedback.push(r[2]!);
        codecs.set(pt, codec);
      }
    } else if (a.startsWith('extmap:')) {
      const r = /^extmap:(\d+)(?:\/\w+)? (\S+)/.exec(a);
      if (r) extensions.set(Number(r[1]), r[2]!);
    } else if (a.startsWith('msid:') && !msid) {
      const [stream, track] = a.slice(5).split(/\s+/);
      if (stream) msid = { stream, track: track ?? stream };
    } else if (a.startsWith('ssrc:')) {
      const r = /^ssrc:(\d+)/.exec(a);
      if (r && !ssrcs.includes(Number(r[1]))) ssrcs.push(Number(r[1]));
    } else if (a.startsWith('ssrc-group:FID ')) {
      const [media, rtx] = a.slice('ssrc-group:FID '.length).split(/\s+/).map(Number);
      if (media !== undefined && rtx !== undefined) rtxPairs.push([media, rtx]);
    } else if (a.startsWith('ssrc-group:SIM ')) {
      simulcast = a.slice('ssrc-group:SIM '.length).split(/\s+/).map(Number);
    } else if (a.startsWith('rid:')) {
      const rid = a.slice(4).split(/\s+/)[0];
      if (rid) rids.push(rid);
    }
  }
  const bundleOnly = lines.includes('a=bundle-only');
  const sctpPort = attr(lines, 'sctp-port');
  const maxMessageSize = attr(lines, 'max-message-size');
  return {
    kind: kind!,
    port: Number(port),
    proto: proto!,
    formats,
    mid: attr(lines, 'mid'),
    direction,
    msid,
    codecs: formats.map((f) => codecs.get(Number(f))).filter((c): c is Codec => !!c),
    extensions,
    ssrcs,
    rtxPairs,
    simulcast,
    rids,
    bundleOnly,
    rejected: Number(port) === 0 && !bundleOnly,
    iceUfrag: attr(lines, 'ice-ufrag'),
    icePwd: attr(lines, 'ice-pwd'),
    fingerprint: attr(lines, 'fingerprint'),
    setup: attr(lines, 'setup'),
    sctpPort: sctpPort ? Number(sctpPort) : null,
    maxMessageSize: maxMessageSize ? Number(maxMessageSize) : null,
    lines,
  };
}

/** The value of the first `a=<name>:` line, or null. */
export function attr(lines: readonly string[], name: string): string | null {
  const prefix = `a=${name}:`;
  const line = lines.find((l) => l.startsWith(prefix));
  return line ? line.slice(prefix.length).trim() : null;
}

/** The direction the other side takes in answer to `d` (what it may do, seen from it). */
export function reverse(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

/** Whether the side that wrote `d` sends media on the section. */
export const sends = (d: Direction): boolean => d === 'sendrecv' || d === 'sendonly';
/** Whether the side that wrote `d` receives media on the section. */
export const receives = (d: Direction): boolean => d === 'sendrecv' || d === 'recvonly';

/** Joins lines into an SDP with CRLF endings. */
export function serialize(session: readonly string[], sections: readonly (readonly string[])[]): string {
  return [...session, ...sections.flat()].join('\r\n') + '\r\n';
}
