import { logError } from '../core/log';
import { Hono } from 'hono';
import type { Env } from '../durable-objects/env';
import { ConfigError, configFailure } from '../core/config-error';
import { TwilioError } from '../core/errors';
import type { AuthVariables } from './http/auth';
import { basicAuth } from './http/auth';
import { configCheck } from './http/config-check';
import { bench } from './bench/routes';
import { devToken } from './dev/token-route';
import { participants } from './participants/routes';
import { recordings } from './recordings/routes';
import { recordingRules } from './rooms/recording-rules-routes';
import { roomRecordings } from './rooms/room-recordings-routes';
import { recordingSettings } from './settings/recording-settings-routes';
import { rooms } from './rooms/routes';
import { settings } from './settings/routes';
import { signaling } from './signaling/route';

/** The Worker's HTTP surface: Twilio's Video v1 REST API under /v1. */
export const app = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

// A bad configuration answers 20500 (naming the variable) before anything else runs.
app.use('/v1/*', configCheck);
app.use('/signaling/*', configCheck);
app.use('/dev/*', configCheck);
app.use('/v1/*', basicAuth);
app.route('/v1/Rooms', rooms);
app.route('/v1/Rooms/:roomSid/Participants', participants);
app.route('/v1/Rooms/:roomSid/Recordings', roomRecordings);
app.route('/v1/Rooms/:roomSid/RecordingRules', recordingRules);
app.route('/v1/Recordings', recordings);
app.route('/v1/RecordingSettings', recordingSettings);
// Atrium extension: the account's room settings (Twilio kept them in its console).
app.route('/v1/Settings', settings);
app.route('/signaling', signaling);
// Development-only token minting; answers 404 unless DEV_TOKEN_ENDPOINT is "true".
app.route('/dev', devToken);
// Floor routes for `npm run bench`; answer 404 unless BENCH_ROUTES is "true".
app.route('/bench', bench);

app.notFound((c) => {
  const err = new TwilioError(20404, `The requested resource ${new URL(c.req.url).pathname.slice(0, 200)} was not found`);
  return c.json(err.toJSON(), 404);
});

app.onError((err, c) => {
  if (err instanceof TwilioError) return c.json(err.toJSON(), err.status);
  if (err instanceof ConfigError) {
    // Logged once (the parsers keep the error per env); the client learns the variable's name only.
    const failure = configFailure(err);
    return c.json(failure.toJSON(), failure.status);
  }
  logError({ event: 'request-failed', message: `unhandled error in ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}`, error: err });
  const internal = new TwilioError(20500, 'Internal server error');
  return c.json(internal.toJSON(), 500);
});
