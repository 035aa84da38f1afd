import type { ParticipantView, TrackView } from '../../durable-objects/room/participants/participants-api';
import { isoDate } from '../http/dates';
import { participantUrl } from './participant-resource';

/** A PublishedTrack resource as Twilio returns it; `p` publishes it. */
export function publishedTrackResource(t: TrackView, p: ParticipantView, base: string): Record<string, unknown> {
  return {
    sid: t.sid,
    participant_sid: p.sid,
    room_sid: p.roomSid,
    name: t.name,
    date_created: isoDate(t.publishedAt),
    date_updated: isoDate(t.publishedAt),
    enabled: t.enabled,
    kind: t.kind,
    url: `${participantUrl(base, p.roomSid, p.sid)}/PublishedTracks/${t.sid}`,
  };
}

/** A SubscribedTrack resource as Twilio returns it; `subscriber` receives it from `t.publisherSid`. */
export function subscribedTrackResource(t: TrackView, subscriber: ParticipantView, base: string): Record<string, unknown> {
  return {
    sid: t.sid,
    participant_sid: subscriber.sid,
    publisher_sid: t.publisherSid,
    room_sid: subscriber.roomSid,
    name: t.name,
    date_created: isoDate(t.publishedAt),
    date_updated: isoDate(t.publishedAt),
    enabled: t.enabled,
    kind: t.kind,
    url: `${participantUrl(base, subscriber.roomSid, subscriber.sid)}/SubscribedTracks/${t.sid}`,
  };
}
