import { configuredDefaults } from '../../core/room-defaults';
import type { RoomDefaults } from '../../core/room-params';
import { catalogStub } from '../addresses';
import type { Env } from '../env';

/**
 * The account's room defaults (what Twilio's console held): the settings the account saved
 * (`POST /v1/Settings/Rooms`) over the deployment's `ROOM_DEFAULTS` over the built-in ones.
 * One RPC to the account's catalog, which keeps the saved settings.
 */
export async function roomDefaults(env: Env, accountSid: string): Promise<RoomDefaults> {
  const saved = await catalogStub(env, accountSid).roomSettings();
  return { ...configuredDefaults(env), ...saved };
}
