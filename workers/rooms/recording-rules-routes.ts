import { Hono } from 'hono';
import { TwilioError, unwrap } from '../../core/errors';
import { queryParams, readForm } from '../../core/form';
import { parseRecordingRules } from '../../core/recording-rules';
import { roomStub } from '../../durable-objects/addresses';
import type { Env } from '../../durable-objects/env';
import type { AuthVariables } from '../http/auth';
import { recordingRulesResource } from './recording-rules-resource';
import { findRoom } from './room-lookup';

/**
 * `/v1/Rooms/{RoomSid}/RecordingRules`: which tracks of a group room are recorded. A POST replaces
 * the rules and applies them at once: recordings start and stop within a second.
 */
export const recordingRules = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

recordingRules.get('/', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  return c.json(recordingRulesResource(unwrap(await roomStub(c.env, account, room.uniqueName).recordingRules(room.sid))));
});

recordingRules.post('/', async (c) => {
  const params = await readForm(c.req.raw);
  params.rejectUnknown(['Rules']);
  const raw = params.get('Rules');
  if (raw === undefined) throw new TwilioError(53120, 'Invalid Recording Rule(s): Rules is required');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new TwilioError(53120, 'Invalid Recording Rule(s): Rules must be a JSON array');
  }
  const rules = parseRecordingRules(json);
  const account = c.get('account').sid;
  const room = await findRoom(c.env, account, c.req.param('roomSid') ?? '');
  return c.json(recordingRulesResource(unwrap(await roomStub(c.env, account, room.uniqueName).setRecordingRules(room.sid, rules))));
});
