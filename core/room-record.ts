import type { RecordingRule } from './recordings';
/** The room as stored: what the Room object owns and mirrors into the account's catalog. */

export type RoomType = 'group' | 'go' | 'peer-to-peer' | 'group-small';
export type RoomStatus = 'in-progress' | 'completed' | 'failed';
export type VideoCodec = 'VP8' | 'H264';

export const ROOM_TYPES: readonly RoomType[] = ['group', 'go', 'peer-to-peer', 'group-small'];

/** Most participants each room type admits (Twilio's caps). */
export const MAX_PARTICIPANTS_BY_TYPE: Record<RoomType, number> = {
  group: 50,
  'peer-to-peer': 10,
  'group-small': 4,
  go: 2,
};

/**
 * Group rooms (group, group-small) have what Twilio's media server gives them: AudioOnly,
 * recording and transcription flags, track subscriptions, a cap on concurrently published tracks.
 */
export function isGroupType(type: RoomType): boolean {
  return type === 'group' || type === 'group-small';
}

/** `max_concurrent_published_tracks` as Twilio reports it per room type. */
export function maxConcurrentPublishedTracks(type: RoomType): number {
  return isGroupType(type) ? 170 : 0;
}

/** A room lives at most this long from creation. */
export const ROOM_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** Everything that fixes a room at creation, resolved from parameters and account defaults. */
export interface RoomSpec {
  /** AC… sid of the owning account. */
  accountSid: string;
  /** RM… sid, minted by the caller. */
  sid: string;
  /** Application name; equals `sid` for rooms created without one. */
  uniqueName: string;
  type: RoomType;
  /** Where status callbacks go, or null for none. */
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  maxParticipants: number;
  /** Seconds a participant may stay connected. */
  maxParticipantDuration: number;
  maxConcurrentPublishedTracks: number;
  recordParticipantsOnConnect: boolean;
  /** The recording rules given at creation (`RecordingRules`); absent: from recordParticipantsOnConnect. */
  recordingRules?: RecordingRule[];
  transcribeParticipantsOnConnect: boolean;
  videoCodecs: VideoCodec[];
  mediaRegion: string;
  audioOnly: boolean;
  /** Minutes the room stays up after the last participant leaves; 0 ends it at once. */
  emptyRoomTimeout: number;
  /** Minutes the room stays up when nobody ever joins; 0 means no such timeout. */
  unusedRoomTimeout: number;
  largeRoom: boolean;
  /** Created by a participant's connect rather than over REST. */
  adHoc: boolean;
}

export interface RoomRecord extends RoomSpec {
  status: RoomStatus;
  /** Epoch milliseconds. */
  dateCreated: number;
  dateUpdated: number;
  endTime: number | null;
  /** Bumped on every change, so the catalog keeps the newest copy whatever order updates arrive in. */
  revision: number;
}

/** Whole seconds between two epoch-ms instants, never negative: Twilio's durations. */
export function elapsedSeconds(from: number, to: number): number {
  return Math.max(0, Math.floor((to - from) / 1000));
}

/** Whole seconds from creation to end, or null while the room is in progress. */
export function roomDuration(room: RoomRecord): number | null {
  return room.endTime === null ? null : elapsedSeconds(room.dateCreated, room.endTime);
}
