import { lazySchema } from './lazy-schema';

/**
 * All of a room's deadlines in one table, and the room's single alarm set to the earliest.
 *
 * A Durable Object has one alarm. Everything time-driven in a room (unused and empty room
 * timeouts, the 24-hour cap, participant caps, reconnect windows, callback retries, catalog
 * resyncs) is a named deadline here. Deadlines live in SQLite, so they survive eviction and
 * restarts; a saved alarm re-fires after a restart, and `alarm()` then runs whatever is due.
 */
export class Scheduler {
  private armedAt: number | null | undefined;

  /** Runs a query, creating the table on the first write (lazy-schema.ts): a read stores nothing. */
  private readonly sql: { exec: SqlStorage['exec'] };

  constructor(
    sql: SqlStorage,
    private readonly storage: DurableObjectStorage,
  ) {
    this.sql = { exec: lazySchema(sql, ['CREATE TABLE IF NOT EXISTS deadlines (key TEXT PRIMARY KEY, at INTEGER NOT NULL)']) };
  }

  /** Sets (or moves) the deadline `key` to epoch ms `at`. */
  set(key: string, at: number): void {
    this.sql.exec('INSERT INTO deadlines (key, at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET at = excluded.at', key, at);
    this.arm();
  }

  clear(key: string): void {
    this.sql.exec('DELETE FROM deadlines WHERE key = ?', key);
    this.arm();
  }

  /** Clears every deadline whose key starts with `prefix`. */
  clearPrefix(prefix: string): void {
    this.sql.exec("DELETE FROM deadlines WHERE substr(key, 1, length(?)) = ?", prefix, prefix);
    this.arm();
  }

  get(key: string): number | undefined {
    const row = this.sql.exec<{ at: number }>('SELECT at FROM deadlines WHERE key = ?', key).toArray()[0];
    return row?.at;
  }

  /** Removes and returns the keys due at `now`, earliest first. The caller re-arms after handling them. */
  takeDue(now: number): string[] {
    const due = this.sql
      .exec<{ key: string }>('SELECT key FROM deadlines WHERE at <= ? ORDER BY at, key', now)
      .toArray()
      .map((r) => r.key);
    if (due.length) this.sql.exec('DELETE FROM deadlines WHERE at <= ?', now);
    return due;
  }

  /** Points the alarm at the earliest deadline, or deletes it when there is none. */
  arm(): void {
    const row = this.sql.exec<{ at: number }>('SELECT min(at) AS at FROM deadlines').toArray()[0];
    const next = row?.at ?? null;
    if (next === this.armedAt) return;
    this.armedAt = next;
    // Storage writes from a Durable Object are ordered and confirmed by the output gate, so these
    // promises need no await: nothing leaves the object before the alarm change is durable.
    if (next === null) void this.storage.deleteAlarm();
    else void this.storage.setAlarm(next);
  }

  /** Forgets the cached alarm time, e.g. when the runtime has just fired (and so cleared) the alarm. */
  forgetArmed(): void {
    this.armedAt = undefined;
  }
}
