import { TwilioError } from './errors';
import type { RecordingRule } from './recordings';

/**
 * Twilio's recording rules (`/v1/Rooms/{RoomSid}/RecordingRules`): which published tracks of a
 * group room are recorded. The same filters as subscribe rules, minus priority: a rule matches a
 * track when it has `all`, or when every filter it names matches; a track is recorded when some
 * `include` rule matches it and no `exclude` rule does, so order never matters. An empty set is
 * allowed and records nothing (Twilio's way to stop recording a room).
 */

/** Most rules one room may have (as many as a participant's subscribe rules). */
export const MAX_RECORDING_RULES = 20;
/** Identities, sids and track names are at most 128 characters; anything longer can never match. */
const MAX_VALUE_LENGTH = 128;
const KINDS = ['audio', 'video', 'data'] as const;
const FIELDS = ['type', 'all', 'publisher', 'track', 'kind'];

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
  return list.map((entry, i) => parseRule(entry, `rule ${i}`));
}

/**
 * The rules a room starts with: those given at creation (`RecordingRules`), else everything when
 * it records participants on connect, else nothing.
 */
export function initialRecordingRules(room: { recordParticipantsOnConnect: boolean; recordingRules?: RecordingRule[] }): RecordingRule[] {
  if (room.recordingRules) return [...room.recordingRules];
  return room.recordParticipantsOnConnect ? [...RECORD_EVERYTHING] : [];
}

/** What a rule is matched against: the publishing participant. */
export interface RulePublisher {
  sid: string;
  identity: string;
}

/** What a rule is matched against: the published track. */
export interface RuleTrack {
  sid: string;
  name: string;
  kind: 'audio' | 'video' | 'data';
}

/** Whether `rules` record track `t` of `publisher` (data tracks are never recorded: nothing to write). */
export function isRecorded(rules: readonly RecordingRule[], publisher: RulePublisher, t: RuleTrack): boolean {
  if (t.kind === 'data') return false;
  return rules.some((r) => r.type === 'include' && matches(r, publisher, t)) && !rules.some((r) => r.type === 'exclude' && matches(r, publisher, t));
}

function matches(rule: RecordingRule, publisher: RulePublisher, t: RuleTrack): boolean {
  if (rule.all) return true;
  if (rule.publisher !== undefined && rule.publisher !== publisher.sid && rule.publisher !== publisher.identity) return false;
  if (rule.track !== undefined && rule.track !== t.sid && rule.track !== t.name) return false;
  if (rule.kind !== undefined && rule.kind !== t.kind) return false;
  return true;
}

function parseRule(raw: unknown, where: string): RecordingRule {
  if (!isObject(raw)) throw invalid(`${where} must be an object`);
  for (const key of Object.keys(raw)) {
    if (!FIELDS.includes(key)) throw invalid(`${where} has an unknown field '${key.slice(0, 32)}'`);
  }
  if (raw.type !== 'include' && raw.type !== 'exclude') throw invalid(`${where} needs a type of include or exclude`);
  const rule: RecordingRule = { type: raw.type };
  if (raw.all !== undefined && raw.all !== null) {
    if (raw.all !== true) throw invalid(`${where}: all must be true`);
    rule.all = true;
  }
  const publisher = text(raw.publisher, `${where}: publisher`);
  const track = text(raw.track, `${where}: track`);
  if (publisher !== undefined) rule.publisher = publisher;
  if (track !== undefined) rule.track = track;
  if (raw.kind !== undefined && raw.kind !== null) {
    if (!KINDS.includes(raw.kind as (typeof KINDS)[number])) throw invalid(`${where}: kind must be audio, video or data`);
    rule.kind = raw.kind as RecordingRule['kind'];
  }
  const filters = [rule.publisher, rule.track, rule.kind].filter((f) => f !== undefined).length;
  if (rule.all && filters > 0) throw invalid(`${where}: a rule with all takes no other filter`);
  if (!rule.all && filters === 0) throw invalid(`${where} needs all, or a publisher, track or kind`);
  return rule;
}

function text(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VALUE_LENGTH) {
    throw invalid(`${where} must be a string of 1 to ${MAX_VALUE_LENGTH} characters`);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
