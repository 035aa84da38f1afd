import { Hono } from 'hono';
import { queryParams } from '../../core/form';
import type { Env } from '../../durable-objects/env';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { pageEnvelope, splitPage } from '../http/paging';
import { readTtl } from '../recordings/media-ttl';
import { readRecordingQuery } from '../recordings/recording-list';
import { mediaUrl } from '../recordings/recording-media';
import { roomRecordingResource } from '../recordings/recording-resource';
import { findRecording, listRecordings, removeRecording } from '../recordings/routes';
import { findRoom } from './room-lookup';

/** `/v1/Rooms/{RoomSid}/Recordings`: the recordings of one room (Twilio's RoomRecording resource). */
export const roomRecordings = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

roomRecordings.get('/', async (c) => {
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  const q = { ...readRecordingQuery(queryParams(c.req.url), 'room'), roomSid: room.sid };
  const { page, nextToken } = splitPage(await listRecordings(c.env, account, q), q.paging, (r) => r);
  const base = baseUrl(c);
  return c.json(
    pageEnvelope({
      key: 'recordings',
      items: page.map((r) => roomRecordingResource(r, base)),
      listUrl: `${base}/v1/Rooms/${room.sid}/Recordings`,
      filters: q.filters,
      paging: q.paging,
      nextToken,
    }),
  );
});

roomRecordings.get('/:sid', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  return c.json(roomRecordingResource(await findRecording({ env: c.env, account }, c.req.param('sid'), room.sid), baseUrl(c)));
});

roomRecordings.delete('/:sid', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  await removeRecording({ env: c.env, account }, c.req.param('sid'), room.sid);
  return c.body(null, 204);
});

roomRecordings.get('/:sid/Media', async (c) => {
  const ttl = readTtl(queryParams(c.req.url));
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  const r = await findRecording({ env: c.env, account }, c.req.param('sid'), room.sid);
  return c.redirect(await mediaUrl(c.env, r, ttl), 302);
});
