import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { roomStub } from '../../durable-objects/addresses';
import { ACCOUNT_SID } from './rest';

/** The Room object that owns `uniqueName` in the default account. */
export const roomObject = (uniqueName: string, accountSid = ACCOUNT_SID) => roomStub(env, accountSid, uniqueName);

type Stub = ReturnType<typeof roomObject>;

/** The room's deadlines as stored: key → epoch ms. */
export async function deadlines(stub: Stub): Promise<Record<string, number>> {
  return runInDurableObject(stub, (_instance, state) => {
    const rows = state.storage.sql.exec<{ key: string; at: number }>('SELECT key, at FROM deadlines').toArray();
    return Object.fromEntries(rows.map((r) => [r.key, r.at]));
  });
}

/**
 * Makes the deadline `key` due now, as if its time had come, then runs the alarm the way the
 * runtime would. Returns whether an alarm was set.
 */
export async function fireDeadline(stub: Stub, key: string): Promise<boolean> {
  await runInDurableObject(stub, (_instance, state) => {
    const changed = state.storage.sql.exec('UPDATE deadlines SET at = ? WHERE key = ?', Date.now() - 1, key).rowsWritten;
    if (!changed) throw new Error(`no deadline ${key}`);
  });
  return runDurableObjectAlarm(stub);
}

/** What an object holds in storage: its SQLite file's size and schema, its alarm, its key-value entries. */
export interface StoredState {
  databaseSize: number;
  /** Tables and indexes, by name (the runtime's own `_cf_…` tables included). */
  schema: string[];
  alarm: number | null;
  kv: string[];
}

export async function storedState(stub: Stub | DurableObjectStub): Promise<StoredState> {
  return runInDurableObject(stub as DurableObjectStub, async (_instance, state) => ({
    databaseSize: state.storage.sql.databaseSize,
    schema: state.storage.sql.exec<{ name: string }>('SELECT name FROM sqlite_master ORDER BY name').toArray().map((r) => r.name),
    alarm: await state.storage.getAlarm(),
    kv: [...(await state.storage.list()).keys()],
  }));
}

/** Runs `fn` inside the Room object, with its instance untyped so tests can reach its parts. */
export function insideRoomObject<T>(stub: Stub, fn: (instance: any, state: DurableObjectState) => T | Promise<T>): Promise<T> {
  return runInDurableObject(stub as DurableObjectStub, fn as (instance: unknown, state: DurableObjectState) => Promise<T>);
}
