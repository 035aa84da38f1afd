import { Hono } from 'hono';
import { queryParams, readForm } from '../../core/form';
import { DEFAULT_RECORDING_SETTINGS, parseRecordingSettings } from '../../core/recording-settings';
import { catalogStub } from '../../durable-objects/addresses';
import type { Env } from '../../durable-objects/env';
import type { AuthVariables } from '../http/auth';
import { baseUrl } from '../http/base-url';
import { recordingSettingsResource } from './recording-settings-resource';

/**
 * `/v1/RecordingSettings/Default`: where the account's recordings are stored. Kept in the
 * account's catalog; rooms read it when a recording starts, so a change applies to the next one.
 */
export const recordingSettings = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

recordingSettings.get('/Default', async (c) => {
  queryParams(c.req.url).rejectUnknown([]);
  const account = c.get('account').sid;
  const saved = await catalogStub(c.env, account).recordingSettings();
  return c.json(recordingSettingsResource(saved ?? DEFAULT_RECORDING_SETTINGS, account, baseUrl(c)));
});

recordingSettings.post('/Default', async (c) => {
  const account = c.get('account').sid;
  const params = await readForm(c.req.raw);
  const catalog = catalogStub(c.env, account);
  const next = await parseRecordingSettings(params, (await catalog.recordingSettings()) ?? DEFAULT_RECORDING_SETTINGS, account);
  await catalog.updateRecordingSettings(next);
  return c.json(recordingSettingsResource(next, account, baseUrl(c)));
});
