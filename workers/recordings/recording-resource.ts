import type { RecordingRecord } from '../../core/recordings';
import { externalLocation } from '../../core/s3-object';
import { isoDate } from '../http/dates';

/**
 * The Recording resource exactly as Twilio's Video v1 returns it, at `/v1/Recordings/{Sid}`.
 * `duration` and `size` are null while the recording is processing; where the file is stored is
 * never shown, except `media_external_location` for a bucket of the account's own.
 */
export function recordingResource(r: RecordingRecord, base: string): Record<string, unknown> {
  const url = `${base}/v1/Recordings/${r.sid}`;
  return {
    ...common(r),
    status_callback: r.statusCallback,
    status_callback_method: r.statusCallbackMethod,
    url,
    links: { media: `${url}/Media` },
  };
}

/** The same recording as `/v1/Rooms/{RoomSid}/Recordings/{Sid}` returns it (Twilio's RoomRecording). */
export function roomRecordingResource(r: RecordingRecord, base: string): Record<string, unknown> {
  const url = `${base}/v1/Rooms/${r.roomSid}/Recordings/${r.sid}`;
  return { ...common(r), room_sid: r.roomSid, url, links: { media: `${url}/Media` } };
}

function common(r: RecordingRecord): Record<string, unknown> {
  return {
    account_sid: r.accountSid,
    status: r.status,
    date_created: isoDate(r.dateCreated),
    sid: r.sid,
    source_sid: r.sourceSid,
    size: r.size,
    type: r.type,
    duration: r.duration,
    container_format: r.container,
    codec: r.codec,
    grouping_sids: { room_sid: r.roomSid, participant_sid: r.participantSid },
    track_name: r.trackName || r.sourceSid,
    offset: r.offset,
    media_external_location: externalLocation(r.storage, r.key),
  };
}
