import { TwilioError } from './errors';
import type { RecordingRule } from './recordings';
import type { RulePublisher, RuleTrack } from './track-rules';
import { isIncluded, parseTrackRule } from './track-rules';

/**
 * Twilio's recording rules (`/v1/Rooms/{RoomSid}/RecordingRules`): which published tracks of a
 * group room are recorded. The same filters and matching as subscribe rules, minus priority
 * (core/track-rules.ts). An empty set is allowed and records nothing (Twilio's way to stop
 * recording a room).
 */

/** Most rules one room may have (as many as a participant's subscribe rules). */
export const MAX_RECORDING_RULES = 20;

/** Rules of a room that records every track from the start (RecordParticipantsOnConnect). */
const RECORD_EVERYTHING: readonly RecordingRule[] = [{ type: 'include', all: true }];

const invalid = (why: string) => new TwilioError(53120, `Invalid Recording Rule(s): ${why}`);

/**
 * Validates rules with Twilio's code, 53120, and returns them normalized (absent filters left out).
 * Takes the array, or `{rules: [...]}` as Twilio's helpers may send it; a `null` filter counts as
 * absent, so the rules a fetch returned can be sent back unchanged.
 */
export function parseRecordingRules(raw: unknown): RecordingRule[] {
  const list = isObject(raw) && 'rules' in raw ? raw.rules : raw;
  if (!Array.isArray(list)) throw invalid('rules must be a JSON array');
  if (list.length > MAX_RECORDING_RULES) throw invalid(`at most ${MAX_RECORDING_RULES} rules are allowed`);
  return list.map((entry, i) => parseTrackRule<RecordingRule>(entry, `rule ${i}`, invalid));
}

/**
 * The rules a room starts with: those given at creation (`RecordingRules`), else everything when
 * it records participants on connect, else nothing.
 */
export function initialRecordingRules(room: { recordParticipantsOnConnect: boolean; recordingRules?: RecordingRule[] }): RecordingRule[] {
  if (room.recordingRules) return [...room.recordingRules];
  return room.recordParticipantsOnConnect ? [...RECORD_EVERYTHING] : [];
}

/** Whether `rules` record track `t` of `publisher` (data tracks are never recorded: nothing to write). */
export function isRecorded(rules: readonly RecordingRule[], publisher: RulePublisher, t: RuleTrack): boolean {
  return t.kind !== 'data' && isIncluded(rules, publisher, t);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
