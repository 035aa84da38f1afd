import { Hono } from 'hono';
import { parseSubscribeRules } from '../../durable-objects/room/participants/subscribe-rules';
import type { Env } from '../../durable-objects/env';
import { TwilioError, unwrap } from '../../core/errors';
import type { AuthVariables } from '../http/auth';
import { readForm } from '../../core/form';
import { participantRoom } from './participant-room';
import { subscribeRulesResource } from './subscribe-rules-resource';

/**
 * `…/Participants/{ParticipantSid}/SubscribeRules`: which tracks the participant receives. A POST
 * replaces the rules and applies them at once: the participant's client gets a new `subscribed`.
 */
export const subscribeRules = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

subscribeRules.get('/SubscribeRules', async (c) => {
  const { room, stub } = await participantRoom(c.env, c.get('account').sid, c.req.param('roomSid') ?? '');
  return c.json(subscribeRulesResource(unwrap(await stub.subscribeRules(room.sid, c.req.param('participant') ?? ''))));
});

subscribeRules.post('/SubscribeRules', async (c) => {
  const params = await readForm(c.req.raw);
  params.rejectUnknown(['Rules']);
  const raw = params.get('Rules');
  if (raw === undefined) throw new TwilioError(53215, 'Invalid Subscribe Rule(s): Rules is required');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new TwilioError(53215, 'Invalid Subscribe Rule(s): Rules must be a JSON array');
  }
  const rules = parseSubscribeRules(json);
  const { room, stub } = await participantRoom(c.env, c.get('account').sid, c.req.param('roomSid') ?? '');
  const updated = unwrap(await stub.setSubscribeRules(room.sid, c.req.param('participant') ?? '', rules));
  return c.json(subscribeRulesResource(updated));
});
