import { isRecorded } from '../../../core/recording-rules';
import type { RecordingRule } from '../../../core/recordings';
import type { ParticipantRecord, TrackRecord } from '../participants/participant-record';
import type { StoredRecording } from './recording-store';

/** Where a participant's media is now: its session at a media server. */
export interface PublisherSession {
  id: string;
  /** Control base URL of the media server that holds it. */
  server: string;
}

/** A track that should be recorded now, from the session it is published on. */
export interface WantedTrack {
  participant: ParticipantRecord;
  track: TrackRecord & { kind: 'audio' | 'video' };
  session: PublisherSession;
}

/** What must change for a room's recordings to match what should be recorded. */
export interface RecordingPlan {
  /** Tracks with no recording writing them: each gets a new Recording. */
  start: WantedTrack[];
  /** Recordings writing what should no longer be recorded: each stops (and is never restarted). */
  stop: StoredRecording[];
}

/**
 * Compares what should be recorded — every audio and video track of every present participant
 * that `rules` match, on its participant's current media session — with the recordings being
 * written. A recording is of one track on one session: a track that stops matching, or whose
 * publisher moves to a new session, stops; a track that matches again gets a new one.
 */
export function planRecordings(
  rules: readonly RecordingRule[],
  present: readonly ParticipantRecord[],
  sessionOf: (participantSid: string) => PublisherSession | null,
  writing: readonly StoredRecording[],
): RecordingPlan {
  const wanted = new Map<string, WantedTrack>();
  for (const participant of present) {
    const session = sessionOf(participant.sid);
    if (!session) continue;
    for (const track of participant.tracks) {
      if (track.kind === 'data' || !isRecorded(rules, participant, track)) continue;
      wanted.set(key(track.sid, session.id), { participant, track: track as WantedTrack['track'], session });
    }
  }
  const stop = writing.filter((r) => !wanted.has(key(r.record.sourceSid, r.session)));
  const current = new Set(writing.map((r) => key(r.record.sourceSid, r.session)));
  const start = [...wanted].filter(([k]) => !current.has(k)).map(([, w]) => w);
  return { start, stop };
}

const key = (trackSid: string, session: string) => `${trackSid} ${session}`;
