import { TwilioError } from '../../../core/errors';
import type { MediaSignalingFeature, VideoBandwidthProfile } from '../../../core/media-signaling';
import { isMediaSignalingFeature, readVideoProfile } from '../../../core/media-signaling';
import type { TrackKind } from '../participants/participant-record';
import type { SubscribeRule } from '../participants/subscribe-rules';
import { parseSubscribeRules } from '../participants/subscribe-rules';

/**
 * The wire protocol of twilio-video.js 2.x, parsed strictly. Two layers:
 * - connection frames (twilioconnection.js): hello, msg, heartbeat, bye;
 * - room messages inside `hello.body` and `msg.body` (twilioconnectiontransport.js, version 2):
 *   ice, connect, update, sync, disconnect.
 * Anything that does not parse is a 53004 ("Client sent an invalid signaling message") naming the
 * field, so a broken client learns what it did and nobody else notices.
 */

/** Largest frame accepted: a connect with a dozen tracks and a full SDP offer is ~20 KB. */
export const MAX_FRAME_BYTES = 256 * 1024;
const MAX_TRACKS = 64;
const MAX_PEER_CONNECTIONS = 64;
const MAX_CANDIDATES = 256;
const MAX_ID_LENGTH = 256;

export interface ClientTrack {
  id: string;
  kind: TrackKind;
  name: string;
  enabled: boolean;
  priority: string;
}

export interface ClientParticipant {
  revision: number;
  tracks: ClientTrack[];
}

/** One peer connection entry; relayed to the other member of its pair exactly as received. */
export interface PeerConnectionEntry {
  id: string;
  description?: { type: string; revision: number; sdp?: string };
  ice?: { revision: number; ufrag?: string; candidates?: unknown[]; complete?: boolean };
  [key: string]: unknown;
}

export type RoomMessage =
  | { type: 'ice'; token: string }
  | {
      type: 'connect';
      name: string;
      token: string;
      participant: ClientParticipant;
      peerConnections: PeerConnectionEntry[];
      /** The client's initial subscribe rules (`subscribe.rules`), if it sent any. */
      subscribeRules: SubscribeRule[] | undefined;
      /** The media-signaling features it asks for that a group room serves (others are ignored). */
      mediaSignaling: MediaSignalingFeature[];
      /** Its video bandwidth profile (`bandwidth_profile.video`), if it set one. */
      bandwidthProfile: VideoBandwidthProfile | undefined;
    }
  | { type: 'update'; participant?: ClientParticipant; peerConnections: PeerConnectionEntry[]; bandwidthProfile?: VideoBandwidthProfile }
  | { type: 'sync'; session: string; token: string; participant?: ClientParticipant; peerConnections: PeerConnectionEntry[] }
  | { type: 'disconnect' };

export type Frame =
  | { type: 'hello'; timeout: number | undefined; body: RoomMessage | undefined }
  | { type: 'msg'; body: RoomMessage }
  | { type: 'heartbeat' }
  | { type: 'bye' };

const invalid = (what: string) => new TwilioError(53004, `Client sent an invalid signaling message: ${what}`);

export function parseFrame(data: string | ArrayBuffer): Frame {
  if (typeof data !== 'string') throw invalid('frames must be JSON text');
  // The limit is in bytes, as sent; a JS string's length counts UTF-16 units, which is up to a third
  // of the UTF-8 size (one unit of U+0800–U+FFFF is three bytes), so count bytes when it matters.
  if (data.length > MAX_FRAME_BYTES || (data.length * 3 > MAX_FRAME_BYTES && utf8Length(data) > MAX_FRAME_BYTES)) {
    throw invalid(`frame over ${MAX_FRAME_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    throw invalid('frame is not JSON');
  }
  const frame = object(raw, 'frame');
  switch (frame.type) {
    case 'hello': {
      if (frame.version !== undefined && frame.version !== 2) throw invalid('hello.version must be 2');
      const timeout = frame.timeout === undefined ? undefined : integer(frame.timeout, 'hello.timeout');
      return { type: 'hello', timeout, body: frame.body === undefined ? undefined : parseRoomMessage(frame.body) };
    }
    case 'msg':
      return { type: 'msg', body: parseRoomMessage(frame.body) };
    case 'heartbeat':
    case 'bye':
      return { type: frame.type };
    default:
      throw invalid(`unknown frame type ${describe(frame.type)}`);
  }
}

export function parseRoomMessage(raw: unknown): RoomMessage {
  const m = object(raw, 'message');
  if (m.version !== undefined && typeof m.version !== 'number') throw invalid('version must be a number');
  switch (m.type) {
    case 'ice':
      return { type: 'ice', token: string(m.token, 'ice.token', 16 * 1024) };
    case 'connect':
      return {
        type: 'connect',
        name: string(m.name, 'connect.name', 1024),
        token: string(m.token, 'connect.token', 16 * 1024),
        participant: participant(m.participant, 'connect.participant'),
        peerConnections: peerConnections(m.peer_connections, 'connect.peer_connections'),
        subscribeRules: m.subscribe === undefined ? undefined : subscribe(m.subscribe, 'connect.subscribe'),
        mediaSignaling: m.media_signaling === undefined ? [] : mediaSignaling(m.media_signaling, 'connect.media_signaling'),
        bandwidthProfile: m.bandwidth_profile === undefined ? undefined : bandwidthProfile(m.bandwidth_profile, 'connect.bandwidth_profile'),
      };
    case 'update':
      return {
        type: 'update',
        participant: m.participant === undefined ? undefined : participant(m.participant, 'update.participant'),
        peerConnections: peerConnections(m.peer_connections, 'update.peer_connections'),
        ...(m.bandwidth_profile === undefined ? {} : { bandwidthProfile: bandwidthProfile(m.bandwidth_profile, 'update.bandwidth_profile') }),
      };
    case 'sync':
      return {
        type: 'sync',
        session: string(m.session, 'sync.session', 256),
        token: string(m.token, 'sync.token', 16 * 1024),
        participant: m.participant === undefined ? undefined : participant(m.participant, 'sync.participant'),
        peerConnections: peerConnections(m.peer_connections, 'sync.peer_connections'),
      };
    case 'disconnect':
      return { type: 'disconnect' };
    default:
      throw invalid(`unknown message type ${describe(m.type)}`);
  }
}

function participant(raw: unknown, where: string): ClientParticipant {
  const p = object(raw, where);
  const tracksRaw = p.tracks === undefined ? [] : array(p.tracks, `${where}.tracks`, MAX_TRACKS);
  return {
    revision: integer(p.revision, `${where}.revision`),
    tracks: tracksRaw.map((t, i) => track(t, `${where}.tracks[${i}]`)),
  };
}

/** `{rules, revision}` as twilio-video sends it; the rules themselves get Twilio's 53215 when invalid. */
function subscribe(raw: unknown, where: string): SubscribeRule[] {
  const s = object(raw, where);
  if (s.revision !== undefined) integer(s.revision, `${where}.revision`);
  return parseSubscribeRules(s.rules);
}

/** `{<feature>: {transports: [...]}}`: the features asked for, of those a group room serves. */
function mediaSignaling(raw: unknown, where: string): MediaSignalingFeature[] {
  return Object.keys(object(raw, where)).filter(isMediaSignalingFeature);
}

/** `{video: {max_subscription_bandwidth, max_tracks, mode, track_switch_off, active_speaker_priority, render_dimensions}}`. */
function bandwidthProfile(raw: unknown, where: string): VideoBandwidthProfile {
  const b = object(raw, where);
  if (b.video === undefined) return {};
  const v = object(b.video, `${where}.video`);
  return readVideoProfile(v, 'wire', `${where}.video`, invalid);
}

function track(raw: unknown, where: string): ClientTrack {
  const t = object(raw, where);
  const kind = t.kind;
  if (kind !== 'audio' && kind !== 'video' && kind !== 'data') throw invalid(`${where}.kind must be audio, video or data`);
  return {
    id: string(t.id, `${where}.id`, MAX_ID_LENGTH, 1),
    kind,
    // Names are checked against Twilio's track name rules when published (533xx), not here.
    name: t.name === undefined ? string(t.id, `${where}.id`, MAX_ID_LENGTH) : string(t.name, `${where}.name`, 4096),
    enabled: t.enabled === undefined ? true : boolean(t.enabled, `${where}.enabled`),
    priority: t.priority === undefined ? 'standard' : string(t.priority, `${where}.priority`, 32),
  };
}

function peerConnections(raw: unknown, where: string): PeerConnectionEntry[] {
  if (raw === undefined) return [];
  return array(raw, where, MAX_PEER_CONNECTIONS).map((e, i) => peerConnection(e, `${where}[${i}]`));
}

function peerConnection(raw: unknown, where: string): PeerConnectionEntry {
  const e = object(raw, where);
  string(e.id, `${where}.id`, MAX_ID_LENGTH, 1);
  if (e.description !== undefined) {
    const d = object(e.description, `${where}.description`);
    string(d.type, `${where}.description.type`, 32);
    if (!['offer', 'answer', 'pranswer', 'rollback', 'close', 'create-offer'].includes(d.type as string)) {
      throw invalid(`${where}.description.type ${describe(d.type)} is unknown`);
    }
    if (d.type !== 'close') integer(d.revision, `${where}.description.revision`);
    if (d.sdp !== undefined) string(d.sdp, `${where}.description.sdp`, MAX_FRAME_BYTES);
  }
  if (e.ice !== undefined) {
    const ice = object(e.ice, `${where}.ice`);
    integer(ice.revision, `${where}.ice.revision`);
    if (ice.ufrag !== undefined) string(ice.ufrag, `${where}.ice.ufrag`, 256);
    if (ice.candidates !== undefined) array(ice.candidates, `${where}.ice.candidates`, MAX_CANDIDATES);
    if (ice.complete !== undefined) boolean(ice.complete, `${where}.ice.complete`);
  }
  return e as PeerConnectionEntry;
}

/** UTF-8 size of a string, without encoding it. A surrogate pair (four bytes) is two units of two. */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return bytes;
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
  if (v.length > max) throw invalid(`${where} has more than ${max} entries`);
  return v;
}

function string(v: unknown, where: string, max: number, min = 0): string {
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  if (v.length < min || v.length > max) throw invalid(`${where} must be ${min} to ${max} characters`);
  return v;
}

function integer(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${where} must be a non-negative integer`);
  return v;
}

function boolean(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw invalid(`${where} must be a boolean`);
  return v;
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : typeof v;
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
