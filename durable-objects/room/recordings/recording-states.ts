import type { RecordingRecord, RecordingState } from '../../../core/recordings';

/**
 * Twilio's `duration`: whole seconds, rounded, where any media at all counts at least 1 (a
 * recording of 400 ms is 1 s long, not 0).
 */
export function durationSeconds(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.max(1, Math.round(ms / 1000));
}

/** Whether the media server is done with a recording: its file is stored (or lost). */
export function isFinalState(state: RecordingState): boolean {
  return state.status === 'completed' || state.status === 'failed';
}

/**
 * The record once the media server reports it final: its status, duration, size and the codec it
 * really wrote. `at` is the time of the change (dateUpdated).
 */
export function finishedRecord(record: RecordingRecord, state: RecordingState, at: number): RecordingRecord {
  return {
    ...record,
    status: state.status === 'completed' ? 'completed' : 'failed',
    duration: durationSeconds(state.durationMs),
    size: state.size,
    codec: state.codec ?? record.codec,
    dateUpdated: at,
  };
}

/** A recording the media server never finished (lost, or unreachable for too long): failed, with what is known. */
export function failedRecord(record: RecordingRecord, at: number): RecordingRecord {
  return { ...record, status: 'failed', duration: record.duration ?? 0, size: record.size ?? 0, dateUpdated: at };
}
