/**
 * GET /dev/token?identity=…&room=… → {"token":"<jwt>"}: access tokens for the demo page and local
 * experiments, minted for the default account. Anyone who can reach it can join any room, so it
 * exists only where the DEV_TOKEN_ENDPOINT var is "true" (wrangler.toml's local [vars]); elsewhere
 * the path is the same Twilio-format 404 as any unknown path. Real apps mint tokens on their own
 * server with a Twilio helper library, as they would for Twilio.
 */
import { Hono } from 'hono';
import type { Env } from '../../durable-objects/env';
import { TwilioError } from '../../core/errors';
import { mintAccessToken } from '../../core/tokens/mint-token';

/** Twilio's limit for participant identities and room names, in characters. */
const MAX_LENGTH = 128;
/** Control characters break logs and displays; token verification refuses them in identities. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export const devToken = new Hono<{ Bindings: Env }>();

devToken.get('/token', async (c) => {
  if (c.env.DEV_TOKEN_ENDPOINT !== 'true') return c.notFound();
  const identity = checked(c.req.query('identity'), 'identity', [53200, 53201, 53202]);
  const room = checked(c.req.query('room'), 'room', [53100, 53101, 53102]);
  const token = await mintAccessToken({
    accountSid: c.env.ACCOUNT_SID,
    apiKeySid: c.env.API_KEY_SID,
    apiKeySecret: c.env.API_KEY_SECRET,
    identity,
    room,
  });
  // A credential: no cache may keep it.
  c.header('Cache-Control', 'no-store');
  return c.json({ token });
});

/** The parameter, or a 400 with the code for [missing or empty, too long, control characters]. */
function checked(value: string | undefined, name: string, [invalid, tooLong, badChars]: [number, number, number]): string {
  if (!value) throw new TwilioError(invalid, `Query parameter ${name} is required`, 400);
  if ([...value].length > MAX_LENGTH) throw new TwilioError(tooLong, `${name} is longer than ${MAX_LENGTH} characters`, 400);
  if (CONTROL_CHARS.test(value)) throw new TwilioError(badChars, `${name} contains control characters`, 400);
  return value;
}
