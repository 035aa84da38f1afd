import type { MiddlewareHandler } from 'hono';
import { accountsOf } from '../../core/accounts';
import { perEnv, positiveNumber } from '../../core/config-error';
import { availableRegions, configuredDefaults } from '../../core/room-defaults';
import type { Env } from '../../durable-objects/env';
import { sfuConfig } from '../../durable-objects/room/media/sfu/sfu-config';
import { iceConfig } from '../../durable-objects/room/signaling/ice-servers';
import { DEFAULT_SESSION_TIMEOUT_S } from '../../durable-objects/room/signaling/presence';
import { DEFAULT_RETRY_POLICY } from '../../durable-objects/room/callback-policy';
import { DEFAULT_BLOCK_SECONDS } from '../../core/rate-limit';
import { roomRetentionMs } from '../../durable-objects/room/retention';
import { publicBaseUrl } from './base-url';

/**
 * Checks the whole configuration, once per env object (each parser keeps its result, or its
 * ConfigError, for that env): the accounts, MEDIA_REGIONS, ROOM_DEFAULTS, ICE_SERVERS and TURN,
 * the media servers, PUBLIC_BASE_URL, ROOM_RETENTION_DAYS and the numeric knobs. Throws the first ConfigError found,
 * which app.onError logs once and answers with Twilio's 20500 naming the variable.
 *
 * Run before every API and signaling request, so a deployment with a bad value says so at its
 * first request instead of when a client first needs that value (the Room object checks the
 * values it uses again, for the sockets and alarms it serves without the Worker).
 */
export const checkConfig: (env: Env) => void = perEnv((env: Env) => {
  accountsOf(env);
  availableRegions(env);
  configuredDefaults(env);
  iceConfig(env);
  sfuConfig(env);
  publicBaseUrl(env);
  positiveNumber(env, 'SESSION_TIMEOUT_SECONDS', DEFAULT_SESSION_TIMEOUT_S);
  positiveNumber(env, 'CALLBACK_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseMs);
  positiveNumber(env, 'RATE_LIMIT_BLOCK_SECONDS', DEFAULT_BLOCK_SECONDS);
  roomRetentionMs(env);
});

export const configCheck: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  checkConfig(c.env);
  await next();
};
