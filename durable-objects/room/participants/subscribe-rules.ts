import { TwilioError } from '../../../core/errors';
import type { ParticipantRecord, TrackKind, TrackRecord } from './participant-record';

/**
 * Twilio's track subscribe rules: which of the other participants' tracks a participant receives.
 * Set by the client in `connect` (`subscribe.rules`, what twilio-video's automaticSubscription
 * becomes) and over REST (`…/Participants/{Sid}/SubscribeRules`).
 *
 * A rule matches a track when it has `all`, or when every filter it names matches. A track is
 * received when some `include` rule matches it and no `exclude` rule does: exclusions win, so
 * `[{include all}, {exclude publisher: bob}]` and `[{exclude publisher: bob}, {include all}]` mean
 * the same thing and order never matters.
 */
export interface SubscribeRule {
  type: 'include' | 'exclude';
  /** Matches every track; a rule with `all` names no other filter. */
  all?: true;
  /** The publishing participant's sid or identity. */
  publisher?: string;
  /** The track's sid or name. */
  track?: string;
  kind?: TrackKind;
  /** The priority the publisher gave the track. */
  priority?: TrackPriority;
}

export type TrackPriority = 'low' | 'standard' | 'high';

/** What every participant starts with: everything (twilio-video's automaticSubscription: true). */
export const DEFAULT_SUBSCRIBE_RULES: readonly SubscribeRule[] = [{ type: 'include', all: true }];

/** Twilio's limit on rules per subscriber. */
export const MAX_SUBSCRIBE_RULES = 20;
/** Identities, sids and track names are at most 128 characters; anything longer can never match. */
const MAX_VALUE_LENGTH = 128;

const KINDS: readonly TrackKind[] = ['audio', 'video', 'data'];
const PRIORITIES: readonly TrackPriority[] = ['low', 'standard', 'high'];
const FIELDS = ['type', 'all', 'publisher', 'track', 'kind', 'priority'];

const invalid = (why: string) => new TwilioError(53215, `Invalid Subscribe Rule(s): ${why}`);

/**
 * Validates rules with Twilio's code, 53215, and returns them normalized (absent filters left out).
 * A `null` filter counts as absent, so the rules a fetch returned can be sent back unchanged.
 */
export function parseSubscribeRules(raw: unknown): SubscribeRule[] {
  if (!Array.isArray(raw)) throw invalid('rules must be a JSON array');
  if (raw.length === 0) throw invalid('an empty set of rules is not allowed');
  if (raw.length > MAX_SUBSCRIBE_RULES) throw invalid(`at most ${MAX_SUBSCRIBE_RULES} rules are allowed`);
  return raw.map((entry, i) => parseRule(entry, `rule ${i}`));
}

function parseRule(raw: unknown, where: string): SubscribeRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!FIELDS.includes(key)) throw invalid(`${where} has an unknown field '${key.slice(0, 32)}'`);
  }
  if (r.type !== 'include' && r.type !== 'exclude') throw invalid(`${where} needs a type of include or exclude`);
  const rule: SubscribeRule = { type: r.type };
  if (r.all !== undefined && r.all !== null) {
    if (r.all !== true) throw invalid(`${where}: all must be true`);
    rule.all = true;
  }
  const publisher = text(r.publisher, `${where}: publisher`);
  const track = text(r.track, `${where}: track`);
  if (publisher !== undefined) rule.publisher = publisher;
  if (track !== undefined) rule.track = track;
  if (r.kind !== undefined && r.kind !== null) {
    if (!KINDS.includes(r.kind as TrackKind)) throw invalid(`${where}: kind must be audio, video or data`);
    rule.kind = r.kind as TrackKind;
  }
  if (r.priority !== undefined && r.priority !== null) {
    if (!PRIORITIES.includes(r.priority as TrackPriority)) throw invalid(`${where}: priority must be low, standard or high`);
    rule.priority = r.priority as TrackPriority;
  }
  const filters = [rule.publisher, rule.track, rule.kind, rule.priority].filter((f) => f !== undefined).length;
  if (rule.all && filters > 0) throw invalid(`${where}: a rule with all takes no other filter`);
  if (!rule.all && filters === 0) throw invalid(`${where} needs all, or a publisher, track, kind or priority`);
  return rule;
}

function text(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VALUE_LENGTH) {
    throw invalid(`${where} must be a string of 1 to ${MAX_VALUE_LENGTH} characters`);
  }
  return v;
}

/** The rules in force for `p`; records stored before rules existed receive everything. */
export function rulesOf(p: ParticipantRecord): readonly SubscribeRule[] {
  return p.subscribeRules ?? DEFAULT_SUBSCRIBE_RULES;
}

function matches(rule: SubscribeRule, publisher: ParticipantRecord, t: TrackRecord): boolean {
  if (rule.all) return true;
  if (rule.publisher !== undefined && rule.publisher !== publisher.sid && rule.publisher !== publisher.identity) return false;
  if (rule.track !== undefined && rule.track !== t.sid && rule.track !== t.name) return false;
  if (rule.kind !== undefined && rule.kind !== t.kind) return false;
  if (rule.priority !== undefined && rule.priority !== t.priority) return false;
  return true;
}

/** Whether `rules` let their participant receive track `t` of `publisher`. */
export function isSubscribed(rules: readonly SubscribeRule[], publisher: ParticipantRecord, t: TrackRecord): boolean {
  return rules.some((r) => r.type === 'include' && matches(r, publisher, t)) && !rules.some((r) => r.type === 'exclude' && matches(r, publisher, t));
}

/** A track `subscriber` receives, with the participant who publishes it. */
export interface Subscription {
  publisher: ParticipantRecord;
  track: TrackRecord;
}

/**
 * What `subscriber` receives from `present` (the room's connected and reconnecting participants):
 * every track of every other participant that its rules let through, in order of arrival.
 */
export function subscriptionsOf(subscriber: ParticipantRecord, present: readonly ParticipantRecord[]): Subscription[] {
  const rules = rulesOf(subscriber);
  const out: Subscription[] = [];
  for (const publisher of present) {
    if (publisher.sid === subscriber.sid) continue;
    for (const track of publisher.tracks) if (isSubscribed(rules, publisher, track)) out.push({ publisher, track });
  }
  return out;
}
