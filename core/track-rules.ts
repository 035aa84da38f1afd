import type { TwilioError } from './errors';

/**
 * What Twilio's subscribe rules and recording rules share: the rule's shape, how it is read from
 * JSON, and how it matches a track. A rule matches a track when it has `all`, or when every filter
 * it names matches; a track is let through when some `include` rule matches it and no `exclude`
 * rule does, so exclusions win and order never matters. Each kind of rule has its own Twilio code
 * (`invalid`), and subscribe rules one filter more (`priority`, an ExtraFilter).
 */
export interface TrackRule {
  type: 'include' | 'exclude';
  /** Matches every track; a rule with `all` names no other filter. */
  all?: true;
  /** The publishing participant's sid or identity. */
  publisher?: string;
  /** The track's sid or name. */
  track?: string;
  kind?: 'audio' | 'video' | 'data';
}

/** What a rule is matched against: the publishing participant. */
export interface RulePublisher {
  sid: string;
  identity: string;
}

/** What a rule is matched against: the published track (and its priority, for rules that filter on it). */
export interface RuleTrack {
  sid: string;
  name: string;
  kind: 'audio' | 'video' | 'data';
  priority?: string;
}

/** A filter a kind of rule has beyond publisher, track and kind, matched against the track's field of the same name. */
export interface ExtraFilter {
  field: 'priority';
  values: readonly string[];
}

/** Identities, sids and track names are at most 128 characters; anything longer can never match. */
const MAX_VALUE_LENGTH = 128;
const KINDS = ['audio', 'video', 'data'] as const;

/** Whether `rules` let track `t` of `publisher` through. */
export function isIncluded(rules: readonly (TrackRule & { priority?: string })[], publisher: RulePublisher, t: RuleTrack): boolean {
  return rules.some((r) => r.type === 'include' && matches(r, publisher, t)) && !rules.some((r) => r.type === 'exclude' && matches(r, publisher, t));
}

function matches(rule: TrackRule & { priority?: string }, publisher: RulePublisher, t: RuleTrack): boolean {
  if (rule.all) return true;
  if (rule.publisher !== undefined && rule.publisher !== publisher.sid && rule.publisher !== publisher.identity) return false;
  if (rule.track !== undefined && rule.track !== t.sid && rule.track !== t.name) return false;
  if (rule.kind !== undefined && rule.kind !== t.kind) return false;
  if (rule.priority !== undefined && rule.priority !== t.priority) return false;
  return true;
}

/**
 * Reads one rule, normalized (absent filters left out; a `null` filter counts as absent, so the
 * rules a fetch returned can be sent back unchanged). Anything else is `invalid(why)`.
 */
export function parseTrackRule<R extends TrackRule>(raw: unknown, where: string, invalid: (why: string) => TwilioError, extra?: ExtraFilter): R {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  const fields = ['type', 'all', 'publisher', 'track', 'kind', ...(extra ? [extra.field] : [])];
  for (const key of Object.keys(r)) {
    if (!fields.includes(key)) throw invalid(`${where} has an unknown field '${key.slice(0, 32)}'`);
  }
  if (r.type !== 'include' && r.type !== 'exclude') throw invalid(`${where} needs a type of include or exclude`);
  const rule: TrackRule & { priority?: string } = { type: r.type };
  if (r.all !== undefined && r.all !== null) {
    if (r.all !== true) throw invalid(`${where}: all must be true`);
    rule.all = true;
  }
  const publisher = text(r.publisher, `${where}: publisher`, invalid);
  const track = text(r.track, `${where}: track`, invalid);
  if (publisher !== undefined) rule.publisher = publisher;
  if (track !== undefined) rule.track = track;
  if (r.kind !== undefined && r.kind !== null) {
    if (!KINDS.includes(r.kind as (typeof KINDS)[number])) throw invalid(`${where}: kind must be audio, video or data`);
    rule.kind = r.kind as TrackRule['kind'];
  }
  if (extra && r[extra.field] !== undefined && r[extra.field] !== null) {
    const value = r[extra.field];
    if (typeof value !== 'string' || !extra.values.includes(value)) throw invalid(`${where}: ${extra.field} must be ${listOf(extra.values)}`);
    rule[extra.field] = value;
  }
  const filters = [rule.publisher, rule.track, rule.kind, extra ? rule[extra.field] : undefined].filter((f) => f !== undefined).length;
  if (rule.all && filters > 0) throw invalid(`${where}: a rule with all takes no other filter`);
  if (!rule.all && filters === 0) throw invalid(`${where} needs all, or a publisher, track${extra ? `, kind or ${extra.field}` : ' or kind'}`);
  return rule as R;
}

function text(v: unknown, where: string, invalid: (why: string) => TwilioError): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VALUE_LENGTH) {
    throw invalid(`${where} must be a string of 1 to ${MAX_VALUE_LENGTH} characters`);
  }
  return v;
}

/** `a, b or c`. */
function listOf(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
