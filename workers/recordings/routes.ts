import { Hono } from 'hono';
import { TwilioError } from '../../core/errors';
import { queryParams } from '../../core/form';
import type { RecordingRecord } from '../../core/recordings';
import { catalogStub } from '../../durable-objects/addresses';
import type { Env } from '../../durable-objects/env';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { pageEnvelope, splitPage } from '../http/paging';
import type { RecordingListQuery } from './recording-list';
import { readRecordingQuery } from './recording-list';
import { deleteMedia, mediaUrl } from './recording-media';
import { readTtl } from './media-ttl';
import { recordingResource } from './recording-resource';

type Ctx = { env: Env; account: string };

/**
 * `/v1/Recordings`: every recording of the account, one per recorded track, kept in the account's
 * catalog (the Room object that made it keeps it up to date). `…/Media` redirects to the file.
 */
export const recordings = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

recordings.get('/', async (c) => {
  const q = readRecordingQuery(queryParams(c.req.url), 'account');
  const rows = await listRecordings(c.env, c.get('account').sid, q);
  const { page, nextToken } = splitPage(rows, q.paging, (r) => r);
  const base = baseUrl(c);
  return c.json(
    pageEnvelope({ key: 'recordings', items: page.map((r) => recordingResource(r, base)), listUrl: `${base}/v1/Recordings`, filters: q.filters, paging: q.paging, nextToken }),
  );
});

recordings.get('/:sid', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const r = await findRecording({ env: c.env, account: c.get('account').sid }, c.req.param('sid'));
  return c.json(recordingResource(r, baseUrl(c)));
});

recordings.delete('/:sid', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  await removeRecording({ env: c.env, account: c.get('account').sid }, c.req.param('sid'));
  return c.body(null, 204);
});

recordings.get('/:sid/Media', async (c) => {
  const ttl = readTtl(queryParams(c.req.url));
  const r = await findRecording({ env: c.env, account: c.get('account').sid }, c.req.param('sid'));
  return c.redirect(await mediaUrl(c.env, r, ttl), 302);
});

/** The catalog's rows for a list query (one more than the page, for the next page's token). */
export async function listRecordings(env: Env, account: string, q: RecordingListQuery): Promise<RecordingRecord[]> {
  const { paging, filters: _urlFilters, ...match } = q;
  return catalogStub(env, account).listRecordings({ ...match, pageSize: paging.pageSize, offset: paging.page * paging.pageSize, after: paging.after });
}

/** A recording of the account by sid (of `roomSid`, when given); 20404 otherwise. */
export async function findRecording(ctx: Ctx, sid: string, roomSid?: string): Promise<RecordingRecord> {
  const r = await catalogStub(ctx.env, ctx.account).getRecording(sid);
  if (!r || (roomSid !== undefined && r.roomSid !== roomSid)) {
    throw new TwilioError(20404, `The requested resource /Recordings/${sid.slice(0, 40)} was not found`);
  }
  return r;
}

/**
 * Deletes a recording's media and marks it `deleted`, as Twilio does: the resource stays, its
 * file goes. One still being written cannot be deleted yet (53000-range codes name no such case;
 * Twilio answers 400 there too).
 */
export async function removeRecording(ctx: Ctx, sid: string, roomSid?: string): Promise<void> {
  const r = await findRecording(ctx, sid, roomSid);
  if (r.status === 'deleted') return;
  if (r.status === 'processing') throw new TwilioError(70002, 'Bad request: the recording is still processing; delete it once it is completed or failed');
  await deleteMedia(ctx.env, r);
  await catalogStub(ctx.env, ctx.account).markRecordingDeleted(r.sid);
}
