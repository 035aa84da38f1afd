import { TwilioError } from '../../../core/errors';
import type { ExtraFilter, TrackRule } from '../../../core/track-rules';
import { isIncluded, parseTrackRule } from '../../../core/track-rules';
import type { ParticipantRecord, TrackRecord } from './participant-record';

/**
 * Twilio's track subscribe rules: which of the other participants' tracks a participant receives.
 * Set by the client in `connect` (`subscribe.rules`, what twilio-video's automaticSubscription
 * becomes) and over REST (`…/Participants/{Sid}/SubscribeRules`).
 *
 * Read and matched as core/track-rules.ts says (recording rules share it): exclusions win, so
 * `[{include all}, {exclude publisher: bob}]` and `[{exclude publisher: bob}, {include all}]` mean
 * the same thing and order never matters. Subscribe rules have one filter more, `priority`.
 */
export interface SubscribeRule extends TrackRule {
  /** The priority the publisher gave the track. */
  priority?: TrackPriority;
}

export type TrackPriority = 'low' | 'standard' | 'high';

/** What every participant starts with: everything (twilio-video's automaticSubscription: true). */
export const DEFAULT_SUBSCRIBE_RULES: readonly SubscribeRule[] = [{ type: 'include', all: true }];

/** Twilio's limit on rules per subscriber. */
export const MAX_SUBSCRIBE_RULES = 20;
const PRIORITY: ExtraFilter = { field: 'priority', values: ['low', 'standard', 'high'] satisfies TrackPriority[] };

const invalid = (why: string) => new TwilioError(53215, `Invalid Subscribe Rule(s): ${why}`);

/**
 * Validates rules with Twilio's code, 53215, and returns them normalized (absent filters left out).
 * A `null` filter counts as absent, so the rules a fetch returned can be sent back unchanged.
 */
export function parseSubscribeRules(raw: unknown): SubscribeRule[] {
  if (!Array.isArray(raw)) throw invalid('rules must be a JSON array');
  if (raw.length === 0) throw invalid('an empty set of rules is not allowed');
  if (raw.length > MAX_SUBSCRIBE_RULES) throw invalid(`at most ${MAX_SUBSCRIBE_RULES} rules are allowed`);
  return raw.map((entry, i) => parseTrackRule<SubscribeRule>(entry, `rule ${i}`, invalid, PRIORITY));
}

/** The rules in force for `p`; records stored before rules existed receive everything. */
export function rulesOf(p: ParticipantRecord): readonly SubscribeRule[] {
  return p.subscribeRules ?? DEFAULT_SUBSCRIBE_RULES;
}

/** Whether `rules` let their participant receive track `t` of `publisher`. */
export function isSubscribed(rules: readonly SubscribeRule[], publisher: ParticipantRecord, t: TrackRecord): boolean {
  return isIncluded(rules, publisher, t);
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
