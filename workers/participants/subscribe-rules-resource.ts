import type { ParticipantRules } from '../../durable-objects/room/participants/participants-api';

/**
 * The SubscribeRules resource as Twilio returns it: every rule with all six fields, null where the
 * rule does not use one; the dates are null, as in Twilio's own answers.
 */
export function subscribeRulesResource({ participant, rules }: ParticipantRules): Record<string, unknown> {
  return {
    participant_sid: participant.sid,
    room_sid: participant.roomSid,
    date_created: null,
    date_updated: null,
    rules: rules.map((r) => ({
      type: r.type,
      all: r.all ?? null,
      publisher: r.publisher ?? null,
      track: r.track ?? null,
      kind: r.kind ?? null,
      priority: r.priority ?? null,
    })),
  };
}
