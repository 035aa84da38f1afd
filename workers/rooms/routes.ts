import { Hono } from 'hono';
import type { RoomStatus } from '../../core/room-record';
import type { Env } from '../../durable-objects/env';
import { TwilioError, unwrap } from '../../core/errors';
import type { AuthVariables } from '../http/auth';
import { readCreatedRange } from '../http/dates';
import { queryParams, readForm } from '../../core/form';
import { pageEnvelope, readPaging, splitPage } from '../http/paging';
import { baseUrl } from '../http/base-url';
import { newSid } from '../../core/sids';
import { roomDefaults } from '../../durable-objects/catalog/room-defaults';
import { availableRegions } from '../../core/room-defaults';
import { parseCreateRoom } from '../../core/room-params';
import { findRoom } from './room-lookup';
import { roomResource } from './room-resource';
import { catalogStub, roomStub } from '../../durable-objects/addresses';

const STATUSES: readonly RoomStatus[] = ['in-progress', 'completed', 'failed'];

export const rooms = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

rooms.post('/', async (c) => {
  const account = c.get('account');
  const params = await readForm(c.req.raw);
  const sid = newSid('RM');
  const spec = parseCreateRoom(params, {
    accountSid: account.sid,
    sid,
    defaults: await roomDefaults(c.env, account.sid),
    availableRegions: availableRegions(c.env),
  });
  const room = unwrap(await roomStub(c.env, account.sid, spec.uniqueName).create(spec));
  return c.json(roomResource(room, baseUrl(c)), 201);
});

rooms.get('/', async (c) => {
  const account = c.get('account');
  const params = queryParams(c.req.url);
  params.rejectUnknown(['Status', 'UniqueName', 'DateCreatedAfter', 'DateCreatedBefore', 'PageSize', 'Page', 'PageToken']);
  const status = (params.get('Status') ?? 'in-progress') as RoomStatus;
  if (!STATUSES.includes(status)) throw new TwilioError(53112, `Status is invalid: use one of ${STATUSES.join(', ')}`);
  const uniqueName = params.get('UniqueName');
  const range = readCreatedRange(params);
  const paging = readPaging(params);
  const rows = await catalogStub(c.env, account.sid).list({
    status,
    uniqueName,
    createdAfter: range.createdAfter,
    createdBefore: range.createdBefore,
    pageSize: paging.pageSize,
    offset: paging.page * paging.pageSize,
    after: paging.after,
  });
  const { page, nextToken } = splitPage(rows, paging, (r) => r);
  const base = baseUrl(c);
  const filters: [string, string][] = [];
  if (params.has('Status')) filters.push(['Status', status]);
  if (uniqueName !== undefined) filters.push(['UniqueName', uniqueName]);
  filters.push(...range.filters);
  return c.json(
    pageEnvelope({
      key: 'rooms',
      items: page.map((r) => roomResource(r, base)),
      listUrl: `${base}/v1/Rooms`,
      filters,
      paging,
      nextToken,
    }),
  );
});

rooms.get('/:sid', async (c) => {
  const room = await findRoom(c.env, c.get('account').sid, c.req.param('sid'));
  return c.json(roomResource(room, baseUrl(c)));
});

rooms.post('/:sid', async (c) => {
  const account = c.get('account');
  const params = await readForm(c.req.raw);
  params.rejectUnknown(['Status']);
  const status = params.get('Status');
  if (status === undefined) throw new TwilioError(53112, 'Status is invalid: Status is required');
  if (status !== 'completed') throw new TwilioError(53112, "Status is invalid: the only update is Status=completed");
  const room = await findRoom(c.env, account.sid, c.req.param('sid'));
  if (room.status !== 'in-progress') throw new TwilioError(53112, 'Status is invalid: the room is not in progress');
  const ended = unwrap(await roomStub(c.env, account.sid, room.uniqueName).complete(room.sid));
  return c.json(roomResource(ended, baseUrl(c)), 202);
});
