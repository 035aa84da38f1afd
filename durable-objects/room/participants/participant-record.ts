import type { MediaSignalingFeature, VideoBandwidthProfile } from '../../../core/media-signaling';
import { elapsedSeconds } from '../../../core/room-record';

/** A participant of a room, as the Room object stores it. */
import type { SubscribeRule } from './subscribe-rules';

export type ParticipantStatus = 'connected' | 'reconnecting' | 'disconnected';
export type TrackKind = 'audio' | 'video' | 'data';

export interface TrackRecord {
  /** The client's own id for the track (MediaStreamTrack id, or the data channel label). */
  id: string;
  /** MT… sid assigned by the server. */
  sid: string;
  kind: TrackKind;
  name: string;
  enabled: boolean;
  priority: string;
  /** Epoch ms. */
  publishedAt: number;
}

/** A publication the server refused; reported back in `published` with its error. */
export interface FailedTrack {
  id: string;
  error: { code: number; message: string };
}

export interface ParticipantRecord {
  /** PA… sid. */
  sid: string;
  roomSid: string;
  identity: string;
  status: ParticipantStatus;
  /** Opaque session the client presents in `sync` and `update`. */
  session: string;
  /** The connection (socket attachment `conn`) the participant is bound to now. */
  conn: string;
  /** Revision of this participant's state as others see it; strictly increasing. */
  revision: number;
  /** Last `participant.revision` the client sent; older states are ignored. */
  clientRevision: number;
  /** Revisions of the `published` and `subscribed` maps sent to this participant. */
  publishedRevision: number;
  subscribedRevision: number;
  tracks: TrackRecord[];
  failed: FailedTrack[];
  /** Which other participants' tracks it receives (see subscribe-rules.ts); absent in older records: all. */
  subscribeRules?: SubscribeRule[];
  /** The media-signaling features its client asked for (`connect.media_signaling`); absent: none. */
  mediaSignaling?: MediaSignalingFeature[];
  /** Its client's video bandwidth profile, the latest it sent; absent: none. */
  bandwidthProfile?: VideoBandwidthProfile;
  /** Epoch ms. */
  connectedAt: number;
  disconnectedAt: number | null;
}

/** Whole seconds the participant was connected, or null while it still is. */
export function participantDuration(p: Pick<ParticipantRecord, 'connectedAt' | 'disconnectedAt'>): number | null {
  return p.disconnectedAt === null ? null : elapsedSeconds(p.connectedAt, p.disconnectedAt);
}

/** The participant as other clients see it in `participants`. */
export function participantState(p: ParticipantRecord) {
  return {
    sid: p.sid,
    identity: p.identity,
    state: p.status,
    revision: p.revision,
    tracks: p.status === 'disconnected' ? [] : p.tracks.map(trackState),
  };
}

export function trackState(t: TrackRecord) {
  return { sid: t.sid, kind: t.kind, name: t.name, enabled: t.enabled, priority: t.priority };
}

/** The participant's own publications as `published` carries them: sids for the ready, errors for the failed. */
export function publishedState(p: ParticipantRecord) {
  return {
    revision: p.publishedRevision,
    tracks: [
      ...p.tracks.map((t) => ({ id: t.id, sid: t.sid, state: 'ready' })),
      ...p.failed.map((f) => ({ id: f.id, state: 'failed', error: f.error })),
    ],
  };
}
