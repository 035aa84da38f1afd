import type { Env } from './env';

/**
 * How every object is named: the one formula the Worker, the objects and the tests use.
 * The account sid has a fixed length, so "<sid>:<name>" cannot collide across accounts.
 */
export const roomAddress = (accountSid: string, uniqueName: string): string => `${accountSid}:${uniqueName}`;

/** The Room object that is the authority for `uniqueName` in the account. */
export function roomStub(env: Pick<Env, 'ROOMS'>, accountSid: string, uniqueName: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(roomAddress(accountSid, uniqueName)));
}

/** The account's catalog of rooms. */
export function catalogStub(env: Pick<Env, 'CATALOG'>, accountSid: string) {
  return env.CATALOG.get(env.CATALOG.idFromName(accountSid));
}
