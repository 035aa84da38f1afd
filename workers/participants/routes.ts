import { Hono } from 'hono';
import type { ParticipantQuery } from '../../durable-objects/room/participants/participant-store';
import type { Env } from '../../durable-objects/env';
import { TwilioError, unwrap } from '../../core/errors';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { readCreatedRange } from '../http/dates';
import { queryParams, readForm } from '../../core/form';
import { pageEnvelope, readPaging, splitPage } from '../http/paging';
import { participantResource } from './participant-resource';
import { participantRoom } from './participant-room';
import { subscribeRules } from './subscribe-rules-routes';
import { tracks } from './track-routes';

const STATUSES: readonly ParticipantQuery['status'][] = ['connected', 'disconnected', 'reconnecting'];

/** `/v1/Rooms/{RoomSid}/Participants…`: mounted with the `roomSid` parameter in its path. */
export const participants = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

participants.get('/', async (c) => {
  const account = c.get('account');
  const params = queryParams(c.req.url);
  params.rejectUnknown(['Status', 'Identity', 'DateCreatedAfter', 'DateCreatedBefore', 'PageSize', 'Page', 'PageToken']);
  const statusRaw = params.get('Status');
  if (statusRaw !== undefined && !STATUSES.includes(statusRaw as ParticipantQuery['status'])) {
    throw new TwilioError(53112, `Status is invalid: use one of ${STATUSES.join(', ')}`);
  }
  const identity = params.get('Identity');
  const range = readCreatedRange(params);
  const paging = readPaging(params);
  const { room, stub } = await participantRoom(c.env, account.sid, c.req.param('roomSid') ?? '');
  // Twilio: connected by default while the room is in progress; a completed room lists its
  // (by then all disconnected) participants.
  const status = (statusRaw ?? (room.status === 'in-progress' ? 'connected' : 'disconnected')) as ParticipantQuery['status'];
  const rows = unwrap(
    await stub.listParticipants(room.sid, {
      status,
      identity,
      createdAfter: range.createdAfter,
      createdBefore: range.createdBefore,
      pageSize: paging.pageSize,
      offset: paging.page * paging.pageSize,
      after: paging.after,
    }),
  );
  const { page, nextToken } = splitPage(rows, paging, (p) => ({ dateCreated: p.connectedAt, sid: p.sid }));
  const base = baseUrl(c);
  // Twilio's order of filters in page URLs.
  const filters: [string, string][] = [];
  if (statusRaw !== undefined) filters.push(['Status', status]);
  filters.push(...range.filters);
  if (identity !== undefined) filters.push(['Identity', identity]);
  return c.json(
    pageEnvelope({
      key: 'participants',
      items: page.map((p) => participantResource(p, account.sid, base)),
      listUrl: `${base}/v1/Rooms/${room.sid}/Participants`,
      filters,
      paging,
      nextToken,
    }),
  );
});

participants.get('/:sid', async (c) => {
  const account = c.get('account');
  const { room, stub } = await participantRoom(c.env, account.sid, c.req.param('roomSid') ?? '');
  const p = unwrap(await stub.participant(room.sid, c.req.param('sid')));
  return c.json(participantResource(p, account.sid, baseUrl(c)));
});

/** `Status=disconnected` removes the participant at once; it is the only update Twilio offers. */
participants.post('/:sid', async (c) => {
  const account = c.get('account');
  const params = await readForm(c.req.raw);
  params.rejectUnknown(['Status']);
  const status = params.get('Status');
  if (status === undefined) throw new TwilioError(53112, 'Status is invalid: Status is required');
  if (status !== 'disconnected') throw new TwilioError(53112, 'Status is invalid: the only update is Status=disconnected');
  const { room, stub } = await participantRoom(c.env, account.sid, c.req.param('roomSid') ?? '');
  const p = unwrap(await stub.disconnectParticipant(room.sid, c.req.param('sid')));
  return c.json(participantResource(p, account.sid, baseUrl(c)), 202);
});

participants.route('/:participant', tracks);
participants.route('/:participant', subscribeRules);
