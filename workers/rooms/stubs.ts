import type { Env } from '../env';

/** The Room object that is the authority for `uniqueName` in the account. */
export function roomStub(env: Env, accountSid: string, uniqueName: string) {
  // The account sid has a fixed length, so "<sid>:<name>" cannot collide across accounts.
  return env.ROOMS.get(env.ROOMS.idFromName(`${accountSid}:${uniqueName}`));
}

/** The account's catalog of rooms. */
export function catalogStub(env: Env, accountSid: string) {
  return env.CATALOG.get(env.CATALOG.idFromName(accountSid));
}
