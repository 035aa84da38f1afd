import type { ParticipantView } from '../../durable-objects/room/participants/participants-api';
import { participantDuration } from '../../durable-objects/room/participants/participant-record';
import { isoDate } from '../http/dates';

/** Absolute URL of a participant resource. */
export const participantUrl = (base: string, roomSid: string, participantSid: string): string =>
  `${base}/v1/Rooms/${roomSid}/Participants/${participantSid}`;

/**
 * The Participant resource exactly as Twilio's Video v1 returns it. `end_time` and `duration` are
 * set once the participant is disconnected.
 */
export function participantResource(p: ParticipantView, accountSid: string, base: string): Record<string, unknown> {
  const url = participantUrl(base, p.roomSid, p.sid);
  return {
    sid: p.sid,
    room_sid: p.roomSid,
    account_sid: accountSid,
    status: p.status,
    identity: p.identity,
    date_created: isoDate(p.connectedAt),
    date_updated: isoDate(p.disconnectedAt ?? p.connectedAt),
    start_time: isoDate(p.connectedAt),
    end_time: isoDate(p.disconnectedAt),
    duration: participantDuration(p),
    url,
    links: {
      published_tracks: `${url}/PublishedTracks`,
      subscribed_tracks: `${url}/SubscribedTracks`,
      subscribe_rules: `${url}/SubscribeRules`,
      anonymize: `${url}/Anonymize`,
    },
  };
}
