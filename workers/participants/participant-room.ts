import type { RoomRecord } from '../../core/room-record';
import type { Env } from '../../durable-objects/env';
import { findRoom } from '../rooms/room-lookup';
import { roomStub } from '../../durable-objects/addresses';

/** The room a participant path names, and the Room object that holds its participants. */
export interface ParticipantRoom {
  room: RoomRecord;
  /** The Room object of the room's unique name; it keeps a completed room's participants too. */
  stub: ReturnType<typeof roomStub>;
}

/**
 * Resolves `{RoomSid}` of a participant path as room paths do (a sid, or the unique name of a room
 * in progress; else 20404), through the account's catalog.
 */
export async function participantRoom(env: Env, accountSid: string, roomSidOrName: string): Promise<ParticipantRoom> {
  const room = await findRoom(env, accountSid, roomSidOrName);
  return { room, stub: roomStub(env, accountSid, room.uniqueName) };
}
