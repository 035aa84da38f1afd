import type { RecordingRule } from '../../core/recordings';
import { isoDate } from '../http/dates';

/**
 * The RecordingRules resource as Twilio returns it: every rule with all its fields, null where the
 * rule does not use one.
 */
export function recordingRulesResource(r: { roomSid: string; rules: readonly RecordingRule[]; dateCreated: number | null; dateUpdated: number | null }): Record<string, unknown> {
  return {
    room_sid: r.roomSid,
    rules: r.rules.map((rule) => ({ type: rule.type, all: rule.all ?? null, publisher: rule.publisher ?? null, track: rule.track ?? null, kind: rule.kind ?? null })),
    date_created: isoDate(r.dateCreated),
    date_updated: isoDate(r.dateUpdated),
  };
}
