import type { MediaSignalingFeature, VideoBandwidthProfile } from '../../../core/media-signaling';
import { isMediaSignalingFeature, isTrackPriority, readVideoProfile } from '../../../core/media-signaling';
import { isMediaKey } from '../../../core/media-url';
import type { RecordingOrder, StorageTarget } from '../../../core/recordings';
import { s3Location } from '../storage/s3-location';
import type { IceCandidate, PeerConnectionEntry, TrackRef } from '../types';
import { badRequest } from './errors';

/**
 * Checks the bodies of control requests. The Room object sends what clients sent it (already
 * parsed, but not trusted here either): anything malformed is a 400 with a message naming the
 * field, and nothing of it reaches a peer connection.
 */

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_ENTRIES = 64;
const MAX_SDP = 256 * 1024;
const MAX_CANDIDATES = 256;
const MAX_TRACKS = 512;
const DESCRIPTION_TYPES = ['offer', 'answer', 'pranswer', 'rollback', 'close', 'create-offer'];

export function id(v: unknown, where: string): string {
  if (typeof v !== 'string' || !ID.test(v)) throw badRequest(`${where} must be 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
  return v;
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw badRequest(`${where} must be an array`);
  if (v.length > max) throw badRequest(`${where} has more than ${max} entries`);
  return v;
}

function str(v: unknown, where: string, max: number, min = 0): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) throw badRequest(`${where} must be a string of ${min} to ${max} characters`);
  return v;
}

function int(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badRequest(`${where} must be a non-negative integer`);
  return v;
}

export interface SessionBody {
  room: string;
  participant: string;
  pc: string;
  videoCodec?: 'VP8' | 'H264';
  /** The media-signaling features the client asked for; the server opens a channel for each. */
  features: MediaSignalingFeature[];
  /** The client's video bandwidth profile. */
  profile: VideoBandwidthProfile;
}

export function sessionBody(raw: unknown): SessionBody {
  const b = object(raw, 'body');
  if (b.videoCodec !== undefined && b.videoCodec !== 'VP8' && b.videoCodec !== 'H264') throw badRequest('videoCodec must be VP8 or H264');
  const features = b.features === undefined ? [] : array(b.features, 'features', 16);
  features.forEach((f, i) => {
    if (!isMediaSignalingFeature(f)) throw badRequest(`features[${i}] is not a media-signaling feature this server serves`);
  });
  const out: SessionBody = {
    room: id(b.room, 'room'),
    participant: id(b.participant, 'participant'),
    pc: str(b.pc, 'pc', 256, 1),
    features: [...new Set(features as MediaSignalingFeature[])],
    profile: b.profile === undefined ? {} : profile(b.profile),
  };
  if (b.videoCodec) out.videoCodec = b.videoCodec;
  return out;
}

export function profile(raw: unknown): VideoBandwidthProfile {
  return readVideoProfile(object(raw, 'profile'), 'key', 'profile', badRequest);
}

export function signalBody(raw: unknown): PeerConnectionEntry[] {
  const b = object(raw, 'body');
  return array(b.entries, 'entries', MAX_ENTRIES).map((e, i) => entry(e, `entries[${i}]`));
}

function entry(raw: unknown, where: string): PeerConnectionEntry {
  const e = object(raw, where);
  const out: PeerConnectionEntry = { id: str(e.id, `${where}.id`, 256, 1) };
  if (e.description !== undefined) {
    const d = object(e.description, `${where}.description`);
    const type = str(d.type, `${where}.description.type`, 32);
    if (!DESCRIPTION_TYPES.includes(type)) throw badRequest(`${where}.description.type '${type.slice(0, 32)}' is unknown`);
    out.description = { type: type as NonNullable<PeerConnectionEntry['description']>['type'], revision: type === 'close' && d.revision === undefined ? 0 : int(d.revision, `${where}.description.revision`) };
    if (d.sdp !== undefined) out.description.sdp = str(d.sdp, `${where}.description.sdp`, MAX_SDP);
    if ((type === 'offer' || type === 'answer') && !out.description.sdp) throw badRequest(`${where}.description of type ${type} needs an sdp`, 53403);
  }
  if (e.ice !== undefined) {
    const ice = object(e.ice, `${where}.ice`);
    out.ice = {
      revision: int(ice.revision, `${where}.ice.revision`),
      ufrag: ice.ufrag === undefined ? undefined : str(ice.ufrag, `${where}.ice.ufrag`, 256),
      candidates: ice.candidates === undefined ? [] : array(ice.candidates, `${where}.ice.candidates`, MAX_CANDIDATES).map((c, j) => candidate(c, `${where}.ice.candidates[${j}]`)),
      complete: ice.complete === undefined ? undefined : ice.complete === true,
    };
  }
  return out;
}

function candidate(raw: unknown, where: string): IceCandidate {
  const c = object(raw, where);
  return {
    candidate: str(c.candidate ?? '', `${where}.candidate`, 1024),
    sdpMid: c.sdpMid === undefined || c.sdpMid === null ? null : str(c.sdpMid, `${where}.sdpMid`, 64),
    sdpMLineIndex: c.sdpMLineIndex === undefined || c.sdpMLineIndex === null ? null : int(c.sdpMLineIndex, `${where}.sdpMLineIndex`),
  };
}

export function subscriptionsBody(raw: unknown): TrackRef[] {
  const b = object(raw, 'body');
  const seen = new Set<string>();
  return array(b.tracks, 'tracks', MAX_TRACKS).map((t, i) => {
    const o = object(t, `tracks[${i}]`);
    const kind = o.kind;
    if (kind !== 'audio' && kind !== 'video' && kind !== 'data') throw badRequest(`tracks[${i}].kind must be audio, video or data`);
    const ref: TrackRef = { session: id(o.session, `tracks[${i}].session`), id: str(o.id, `tracks[${i}].id`, 256, 1), kind, sid: o.sid === undefined ? '' : str(o.sid, `tracks[${i}].sid`, 64) };
    if (o.priority !== undefined) {
      if (!isTrackPriority(o.priority)) throw badRequest(`tracks[${i}].priority must be low, standard or high`);
      ref.priority = o.priority;
    }
    const key = `${ref.session}/${ref.id}`;
    if (seen.has(key)) throw badRequest(`tracks[${i}] repeats ${key}`);
    seen.add(key);
    return ref;
  });
}

/** Most recordings one PUT may list (orders, or acknowledgements): a room's tracks, with room to spare. */
const MAX_RECORDINGS = 1024;

/** PUT /v1/rooms/{room}/recordings: the recordings that should be writing, and the final states the Room object saved. */
export interface RecordingsBody {
  recordings: RecordingOrder[];
  acknowledged: string[];
}

export function recordingsBody(raw: unknown): RecordingsBody {
  const b = object(raw, 'body');
  const seen = new Set<string>();
  const recordings = array(b.recordings, 'recordings', MAX_RECORDINGS).map((r, i) => {
    const order = recordingOrder(r, `recordings[${i}]`);
    if (seen.has(order.sid)) throw badRequest(`recordings[${i}].sid repeats ${order.sid}`);
    seen.add(order.sid);
    return order;
  });
  const acknowledged = b.acknowledged === undefined ? [] : array(b.acknowledged, 'acknowledged', MAX_RECORDINGS).map((s, i) => id(s, `acknowledged[${i}]`));
  return { recordings, acknowledged };
}

function recordingOrder(raw: unknown, where: string): RecordingOrder {
  const o = object(raw, where);
  const kind = o.kind;
  if (kind !== 'audio' && kind !== 'video') throw badRequest(`${where}.kind must be audio or video`);
  const key = mediaKey(str(o.key, `${where}.key`, 512, 1), `${where}.key`);
  return { sid: id(o.sid, `${where}.sid`), session: id(o.session, `${where}.session`), track: str(o.track, `${where}.track`, 256, 1), kind, key, storage: storage(o.storage, `${where}.storage`) };
}

function storage(raw: unknown, where: string): StorageTarget {
  const s = object(raw, where);
  if (s.type === 'local') return { type: 'local', server: str(s.server ?? '', `${where}.server`, 1024) };
  if (s.type !== 's3') throw badRequest(`${where}.type must be local or s3`);
  const url = str(s.url, `${where}.url`, 1024, 1);
  try {
    s3Location(url);
  } catch (err) {
    throw badRequest(`${where}.url is not a bucket URL: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    type: 's3',
    url,
    region: str(s.region ?? '', `${where}.region`, 64),
    accessKeyId: str(s.accessKeyId, `${where}.accessKeyId`, 256, 1),
    secretAccessKey: str(s.secretAccessKey, `${where}.secretAccessKey`, 256, 1),
  };
}

/** An object key: in an order, or in a media path (`/v1/media/<key>`). */
export function mediaKey(v: string, where = 'the media key'): string {
  if (!isMediaKey(v)) throw badRequest(`${where} must be /-separated segments of A-Z a-z 0-9 . _ -, none starting with a dot`);
  return v;
}
