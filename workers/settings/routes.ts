import { Hono } from 'hono';
import { availableRegions, configuredDefaults } from '../../core/room-defaults';
import { roomDefaults } from '../../durable-objects/catalog/room-defaults';
import type { Env } from '../../durable-objects/env';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { queryParams, readForm } from '../../core/form';
import { catalogStub } from '../../durable-objects/addresses';
import { parseRoomSettings } from '../../core/room-settings-params';
import { roomSettingsResource } from './room-settings-resource';

/**
 * `/v1/Settings/Rooms`: the account's room settings, which Twilio kept in its console. An Atrium
 * extension, authenticated like the rest of /v1; the parameters are those of room creation.
 */
export const settings = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

settings.get('/Rooms', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const account = c.get('account');
  return c.json(roomSettingsResource(await roomDefaults(c.env, account.sid), account.sid, baseUrl(c)));
});

settings.post('/Rooms', async (c) => {
  const account = c.get('account');
  const params = await readForm(c.req.raw);
  const patch = parseRoomSettings(params, await roomDefaults(c.env, account.sid), availableRegions(c.env));
  const saved = await catalogStub(c.env, account.sid).updateRoomSettings(patch);
  return c.json(roomSettingsResource({ ...configuredDefaults(c.env), ...saved }, account.sid, baseUrl(c)));
});
