import type { RoomRecord } from '../../core/room-record';
import type { Env } from '../../durable-objects/env';
import { TwilioError } from '../../core/errors';
import { isSid } from '../../core/sids';
import { catalogStub } from '../../durable-objects/addresses';

/**
 * Resolves `{Sid}` of a room path: a room sid (any status), or a unique name while that room is
 * in progress. Anything else is 20404.
 */
export async function findRoom(env: Env, accountSid: string, sidOrName: string): Promise<RoomRecord> {
  const catalog = catalogStub(env, accountSid);
  const room = isSid(sidOrName, 'RM') ? await catalog.get(sidOrName) : await catalog.inProgressByName(sidOrName);
  if (!room) throw new TwilioError(20404, `The requested resource /Rooms/${sidOrName.slice(0, 140)} was not found`);
  return room;
}
