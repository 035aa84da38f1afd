/**
 * Recordings: the shapes the Room object, the catalog, the media server and the REST layer share.
 * Twilio records group rooms one file per published track (audio as Matroska audio with Opus,
 * video as Matroska video with VP8 or H.264); docs/recordings.md describes what Atrium does.
 */
import type { TrackRule } from './track-rules';

export type RecordingStatus = 'processing' | 'completed' | 'deleted' | 'failed';
export type RecordingType = 'audio' | 'video';
export type RecordingCodec = 'OPUS' | 'VP8' | 'H264';
export type RecordingContainer = 'mka' | 'mkv';

/** A recording rule (Twilio's RecordingRules): same filters as subscribe rules. */
export type RecordingRule = TrackRule;

/** Where a recording's file is stored (never rendered over REST). */
export type StorageTarget =
  /** The media server's own folder (SFU_RECORDINGS_DIR); `server` is its control base URL. */
  | { type: 'local'; server: string }
  /** An S3-compatible bucket (R2, S3, MinIO). `url` is the bucket URL with an optional prefix. */
  | { type: 's3'; url: string; region: string; accessKeyId: string; secretAccessKey: string };

/** A Recording resource as the Room object keeps it and the catalog stores it. */
export interface RecordingRecord {
  sid: string;              // RT…
  accountSid: string;
  roomSid: string;
  participantSid: string;
  sourceSid: string;        // MT… track sid
  trackName: string;        // the track's name (Twilio: source_sid if none)
  type: RecordingType;
  codec: RecordingCodec;
  container: RecordingContainer;
  status: RecordingStatus;
  dateCreated: number;      // epoch ms
  dateUpdated: number;      // epoch ms
  duration: number | null;  // whole seconds, rounded; sub-second is 1; null while processing
  size: number | null;      // bytes; null while processing
  offset: number | null;    // ms from the room's first recording start to this one's start
  key: string;              // object key: `<AccountSid>/<RecordingSid>.<mka|mkv>`
  storage: StorageTarget;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
}

/** What the Room object orders a media server to record (control API). */
export interface RecordingOrder {
  sid: string;              // RT…
  session: string;          // the publisher's media session id at the server
  track: string;            // the publisher's track id (its a=msid track id, as in subscriptions)
  kind: RecordingType;
  key: string;
  storage: StorageTarget;
}

/** What a media server says about a recording it was ordered. */
export interface RecordingState {
  sid: string;
  /** recording: writing; finishing: stopped, file being finalized/uploaded; completed/failed: final. */
  status: 'recording' | 'finishing' | 'completed' | 'failed';
  /** Wall clock (epoch ms, server clock) of the first media written; null before. */
  startedAt: number | null;
  /** Media time written, ms (last frame end − first frame start). */
  durationMs: number;
  /** Bytes of the file (as stored once final). */
  size: number;
  codec: RecordingCodec | null;
  container: RecordingContainer;
  /** Why it failed, or what cut it (a restart). */
  error?: string;
}
