import type { RoomRecord } from '../../core/room-record';
import { roomDuration } from '../../core/room-record';
import { isoDate } from '../http/dates';

/** The Room resource exactly as Twilio's Video v1 returns it; `base` is this server's origin. */
export function roomResource(room: RoomRecord, base: string): Record<string, unknown> {
  const url = `${base}/v1/Rooms/${room.sid}`;
  return {
    sid: room.sid,
    status: room.status,
    date_created: isoDate(room.dateCreated),
    date_updated: isoDate(room.dateUpdated),
    account_sid: room.accountSid,
    enable_turn: true,
    unique_name: room.uniqueName,
    status_callback: room.statusCallback,
    status_callback_method: room.statusCallbackMethod,
    end_time: isoDate(room.endTime),
    duration: roomDuration(room),
    type: room.type,
    max_participants: room.maxParticipants,
    max_participant_duration: room.maxParticipantDuration,
    max_concurrent_published_tracks: room.maxConcurrentPublishedTracks,
    record_participants_on_connect: room.recordParticipantsOnConnect,
    video_codecs: room.videoCodecs,
    media_region: room.mediaRegion,
    audio_only: room.audioOnly,
    empty_room_timeout: room.emptyRoomTimeout,
    unused_room_timeout: room.unusedRoomTimeout,
    large_room: room.largeRoom,
    url,
    links: {
      participants: `${url}/Participants`,
      recordings: `${url}/Recordings`,
      transcriptions: `${url}/Transcriptions`,
      recording_rules: `${url}/RecordingRules`,
    },
  };
}
