import type { Env } from '../env';
import type { RoomDefaults } from '../rooms/room-params';
import { BUILT_IN_DEFAULTS } from '../rooms/room-params';

/** The account's room defaults (what Twilio's console held). */
export async function roomDefaults(_env: Env, _accountSid: string): Promise<RoomDefaults> {
  return BUILT_IN_DEFAULTS;
}
