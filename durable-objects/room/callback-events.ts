import type { RecordingRecord } from '../../core/recordings';
import type { RoomRecord } from '../../core/room-record';
import { elapsedSeconds, roomDuration } from '../../core/room-record';
import { externalLocation } from '../../core/s3-object';

/**
 * Builders for the parameters of every room status callback Twilio sends, with Twilio's exact
 * parameter names. `SequenceNumber` is not set here: the outbox stamps it when the event is
 * queued, so numbers follow the order events were committed in. `Timestamp` is the time of the
 * change the event reports; the outbox raises it to the room's previous event's Timestamp when it
 * is earlier, so both orders agree (Outbox.append).
 */

export type StatusCallbackEvent =
  | 'room-created'
  | 'room-ended'
  | 'participant-connected'
  | 'participant-disconnected'
  | 'track-added'
  | 'track-removed'
  | 'track-enabled'
  | 'track-disabled'
  | 'recording-started'
  | 'recording-completed'
  | 'recording-failed';

/** An event's parameters without SequenceNumber: what `Outbox.append` takes. */
export type CallbackEvent = Readonly<Record<string, string>> & { readonly StatusCallbackEvent: StatusCallbackEvent };

/** What a participant event needs to know about the participant. */
export interface CallbackParticipant {
  /** PA… sid. */
  sid: string;
  identity: string;
  status: 'connected' | 'disconnected';
  /** Epoch ms. */
  connectedAt: number;
  /** Epoch ms; required for participant-disconnected. */
  disconnectedAt?: number | null;
}

/** What a track event needs to know about the track. */
export interface CallbackTrack {
  /** MT… sid. */
  sid: string;
  kind: 'audio' | 'video' | 'data';
  name: string;
}

/** Parameters every event carries (SequenceNumber aside). */
function base(room: RoomRecord, event: StatusCallbackEvent, at: number): CallbackEvent {
  return {
    AccountSid: room.accountSid,
    RoomName: room.uniqueName,
    RoomSid: room.sid,
    RoomStatus: room.status,
    RoomType: room.type,
    StatusCallbackEvent: event,
    Timestamp: new Date(at).toISOString(),
  };
}

function withParticipant(room: RoomRecord, event: StatusCallbackEvent, p: CallbackParticipant, at: number): CallbackEvent {
  return {
    ...base(room, event, at),
    ParticipantSid: p.sid,
    ParticipantStatus: p.status,
    ParticipantIdentity: p.identity,
  };
}

function withTrack(room: RoomRecord, event: StatusCallbackEvent, p: CallbackParticipant, t: CallbackTrack, at: number): CallbackEvent {
  return {
    ...withParticipant(room, event, p, at),
    TrackSid: t.sid,
    TrackKind: t.kind,
    TrackName: t.name,
  };
}

export function roomCreatedEvent(room: RoomRecord): CallbackEvent {
  return base(room, 'room-created', room.dateCreated);
}

/** `room` must be the completed record (it carries the end time). */
export function roomEndedEvent(room: RoomRecord): CallbackEvent {
  const endTime = room.endTime;
  if (endTime === null) throw new Error(`room-ended for ${room.sid}, which has not ended`);
  return { ...base(room, 'room-ended', endTime), RoomDuration: String(roomDuration(room) ?? 0) };
}

export function participantConnectedEvent(room: RoomRecord, participant: CallbackParticipant): CallbackEvent {
  return withParticipant(room, 'participant-connected', participant, participant.connectedAt);
}

/** `participant.disconnectedAt` is required: it is both the Timestamp and the end of ParticipantDuration. */
export function participantDisconnectedEvent(room: RoomRecord, participant: CallbackParticipant): CallbackEvent {
  const at = participant.disconnectedAt;
  if (at === undefined || at === null) throw new Error(`participant-disconnected for ${participant.sid} without disconnectedAt`);
  return {
    ...withParticipant(room, 'participant-disconnected', participant, at),
    ParticipantDuration: String(elapsedSeconds(participant.connectedAt, at)),
  };
}

/** Track events happen at `at` (epoch ms; defaults to now). */
export function trackAddedEvent(room: RoomRecord, participant: CallbackParticipant, track: CallbackTrack, at = Date.now()): CallbackEvent {
  return withTrack(room, 'track-added', participant, track, at);
}

export function trackRemovedEvent(room: RoomRecord, participant: CallbackParticipant, track: CallbackTrack, at = Date.now()): CallbackEvent {
  return withTrack(room, 'track-removed', participant, track, at);
}

export function trackEnabledEvent(room: RoomRecord, participant: CallbackParticipant, track: CallbackTrack, at = Date.now()): CallbackEvent {
  return withTrack(room, 'track-enabled', participant, track, at);
}

export function trackDisabledEvent(room: RoomRecord, participant: CallbackParticipant, track: CallbackTrack, at = Date.now()): CallbackEvent {
  return withTrack(room, 'track-disabled', participant, track, at);
}

/**
 * A recording's event: `recording-started` when it is created, `recording-completed` or
 * `recording-failed` once final (then with Duration, Size and Offset as far as known). `identity`
 * is its participant's. Happens at the record's dateCreated (started) or dateUpdated (final).
 */
export function recordingEvent(
  room: RoomRecord,
  event: 'recording-started' | 'recording-completed' | 'recording-failed',
  r: RecordingRecord,
  identity: string,
): CallbackEvent {
  const uri = `/v1/Recordings/${r.sid}`;
  const location = externalLocation(r.storage, r.key);
  const params: Record<string, string> = {
    ...base(room, event, event === 'recording-started' ? r.dateCreated : r.dateUpdated),
    RecordingSid: r.sid,
    RecordingUri: uri,
    SourceSid: r.sourceSid,
    TrackName: r.trackName,
    ParticipantSid: r.participantSid,
    ParticipantIdentity: identity,
    Type: r.type,
    Container: r.container,
    Codec: r.codec,
    GroupingSids: JSON.stringify({ room_sid: r.roomSid, participant_sid: r.participantSid }),
    MediaUri: `${uri}/Media`,
    ...(location ? { MediaExternalLocation: location } : {}),
  };
  if (event !== 'recording-started') {
    params.Duration = String(r.duration ?? 0);
    params.Size = String(r.size ?? 0);
    params.Offset = String(r.offset ?? 0);
  }
  if (event === 'recording-failed') params.FailedOperation = 'recording';
  return params as CallbackEvent;
}
