import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ParticipantTracks, TrackView } from '../../durable-objects/room/participants/participants-api';
import type { Env } from '../../durable-objects/env';
import { TwilioError, unwrap } from '../../core/errors';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { queryParams } from '../../core/form';
import { pageInMemory } from '../http/page-in-memory';
import { pageEnvelope, readPaging } from '../http/paging';
import { participantUrl } from './participant-resource';
import { participantRoom } from './participant-room';
import { publishedTrackResource, subscribedTrackResource } from './track-resource';

/** `…/Participants/{ParticipantSid}/PublishedTracks` and `/SubscribedTracks`, each a list and an instance. */
export const tracks = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

type Which = 'PublishedTracks' | 'SubscribedTracks';

/** The participant's tracks of one kind, straight from its Room object. */
async function load(c: Context<{ Bindings: Env; Variables: AuthVariables }>, which: Which): Promise<ParticipantTracks> {
  const { room, stub } = await participantRoom(c.env, c.get('account').sid, c.req.param('roomSid') ?? '');
  const who = c.req.param('participant') ?? '';
  return unwrap(which === 'PublishedTracks' ? await stub.publishedTracks(room.sid, who) : await stub.subscribedTracks(room.sid, who));
}

function render(which: Which, t: TrackView, owner: ParticipantTracks, base: string): Record<string, unknown> {
  return which === 'PublishedTracks' ? publishedTrackResource(t, owner.participant, base) : subscribedTrackResource(t, owner.participant, base);
}

for (const which of ['PublishedTracks', 'SubscribedTracks'] as const) {
  const key = which === 'PublishedTracks' ? 'published_tracks' : 'subscribed_tracks';

  tracks.get(`/${which}`, async (c) => {
    const params = queryParams(c.req.url);
    params.rejectUnknown(['PageSize', 'Page', 'PageToken']);
    const paging = readPaging(params);
    const owner = await load(c, which);
    const { page, nextToken } = pageInMemory(owner.tracks, paging, (t) => ({ dateCreated: t.publishedAt, sid: t.sid }));
    const base = baseUrl(c);
    return c.json(
      pageEnvelope({
        key,
        items: page.map((t) => render(which, t, owner, base)),
        listUrl: `${participantUrl(base, owner.participant.roomSid, owner.participant.sid)}/${which}`,
        filters: [],
        paging,
        nextToken,
      }),
    );
  });

  // A published track by sid or by name (names are unique among a participant's tracks); a
  // subscribed track by sid only, since two publishers may use the same name.
  tracks.get(`/${which}/:sid`, async (c) => {
    const owner = await load(c, which);
    const wanted = c.req.param('sid');
    const track = owner.tracks.find((t) => t.sid === wanted) ?? (which === 'PublishedTracks' ? owner.tracks.find((t) => t.name === wanted) : undefined);
    if (!track) {
      const path = `/Rooms/${owner.participant.roomSid}/Participants/${owner.participant.sid}/${which}/${wanted.slice(0, 140)}`;
      throw new TwilioError(20404, `The requested resource ${path} was not found`);
    }
    return c.json(render(which, track, owner, baseUrl(c)));
  });
}
