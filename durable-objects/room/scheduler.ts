import { lazySchema } from './lazy-schema';

/**
 * All of a room's deadlines in one table, and the room's single alarm set to the earliest.
 *
 * A Durable Object has one alarm. Everything time-driven in a room (unused and empty room
 * timeouts, the 24-hour cap, participant caps, reconnect windows, callback retries, catalog
 * resyncs) is a named deadline here. Deadlines live in SQLite, so they survive eviction and
 * restarts; a saved alarm re-fires after a restart, and `alarm()` then runs whatever is due.
 *
 * A deadline leaves the table only once its handler has returned (`runDue`): a handler that throws,
 * or an object evicted in the middle of an alarm, loses nothing. A handler that throws is retried
 * with a doubling backoff and dropped, with an error, after MAX_DEADLINE_ATTEMPTS failures in a row.
 */
export class Scheduler {
  private armedAt: number | null | undefined;
  /** Keys whose handler `runDue` is running → whether `set` was called for the key meanwhile. */
  private readonly handling = new Map<string, boolean>();

  /** Runs a query, creating the table on the first write (lazy-schema.ts): a read stores nothing. */
  private readonly sql: { exec: SqlStorage['exec'] };
  /** Failed attempts of deadlines being retried: the count goes on only while `retry_at` is the deadline's time. */
  private readonly failures: { exec: SqlStorage['exec'] };

  constructor(
    sql: SqlStorage,
    private readonly storage: DurableObjectStorage,
  ) {
    this.sql = { exec: lazySchema(sql, ['CREATE TABLE IF NOT EXISTS deadlines (key TEXT PRIMARY KEY, at INTEGER NOT NULL)']) };
    // A table of its own rather than a column of `deadlines`: objects created before it have the
    // old table, and most rooms never need it (it is created by the first failure).
    this.failures = {
      exec: lazySchema(sql, [
        'CREATE TABLE IF NOT EXISTS deadline_failures (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL, retry_at INTEGER NOT NULL)',
      ]),
    };
  }

  /** Sets (or moves) the deadline `key` to epoch ms `at`. */
  set(key: string, at: number): void {
    this.sql.exec('INSERT INTO deadlines (key, at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET at = excluded.at', key, at);
    if (this.handling.has(key)) this.handling.set(key, true);
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

  /** The deadlines due at `now`, earliest first, as stored; nothing is removed (see `runDue`). */
  due(now: number): DueDeadline[] {
    return this.sql.exec<{ key: string; at: number }>('SELECT key, at FROM deadlines WHERE at <= ? ORDER BY at, key', now).toArray();
  }

  /**
   * Runs the handler of every deadline due at `now`, earliest first, one at a time (an async handler
   * is awaited). A deadline is removed only after its handler returned, and only if it was not set
   * again meanwhile (by its handler, or by anything else while an async handler waited). A deadline
   * that an earlier handler of the same run cleared or moved is skipped.
   *
   * A handler that throws does not stop the others: `onFailure` is called once for it (the caller
   * logs), and the deadline is set again at now + min(2^(attempt-1) s, 5 min), or later if the
   * handler had moved it later; after MAX_DEADLINE_ATTEMPTS failures in a row it is dropped. The
   * caller re-arms afterwards (`arm`).
   */
  async runDue(now: number, handle: (key: string) => unknown, onFailure: (failure: DeadlineFailure) => void): Promise<void> {
    const due = this.due(now);
    if (!due.length) return;
    const retrying = (this.failures.exec<{ n: number }>('SELECT count(*) AS n FROM deadline_failures').toArray()[0]?.n ?? 0) > 0;
    for (const deadline of due) {
      // An earlier handler of this run may have cleared it (a room that ended) or moved it.
      if (this.get(deadline.key) !== deadline.at) continue;
      this.handling.set(deadline.key, false);
      let failed = false;
      let error: unknown;
      try {
        await handle(deadline.key);
      } catch (err) {
        failed = true;
        error = err;
      }
      const moved = this.handling.get(deadline.key) === true;
      this.handling.delete(deadline.key);
      if (failed) {
        onFailure(this.retry(deadline, moved, error));
      } else {
        if (!moved) this.sql.exec('DELETE FROM deadlines WHERE key = ? AND at = ?', deadline.key, deadline.at);
        if (retrying) this.failures.exec('DELETE FROM deadline_failures WHERE key = ?', deadline.key);
      }
    }
    // Counts of deadlines their owners cleared while they were being retried.
    if (retrying) this.failures.exec('DELETE FROM deadline_failures WHERE key NOT IN (SELECT key FROM deadlines)');
  }

  /** Schedules the next attempt of a deadline whose handler threw, or drops it after too many. */
  private retry(deadline: DueDeadline, moved: boolean, error: unknown): DeadlineFailure {
    const { key } = deadline;
    const now = Date.now();
    // The failures go on counting only for the retry this scheduler set; a deadline set anew since
    // (its owner moved it) starts again from one.
    const previous =
      this.failures.exec<{ attempts: number }>('SELECT attempts FROM deadline_failures WHERE key = ? AND retry_at = ?', key, deadline.at).toArray()[0]
        ?.attempts ?? 0;
    const attempt = previous + 1;
    if (attempt >= MAX_DEADLINE_ATTEMPTS) {
      this.sql.exec('DELETE FROM deadlines WHERE key = ?', key);
      this.failures.exec('DELETE FROM deadline_failures WHERE key = ?', key);
      return { key, attempt, retryAt: null, error };
    }
    // Never sooner than the backoff (a handler that keeps failing must not loop hot), and never
    // sooner than the handler itself moved its deadline to.
    const current = this.get(key);
    const setByHandler = current !== undefined && (moved || current !== deadline.at) ? current : 0;
    const retryAt = Math.max(now + deadlineRetryDelay(attempt), setByHandler);
    this.sql.exec('INSERT INTO deadlines (key, at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET at = excluded.at', key, retryAt);
    this.failures.exec(
      `INSERT INTO deadline_failures (key, attempts, retry_at) VALUES (?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET attempts = excluded.attempts, retry_at = excluded.retry_at`,
      key,
      attempt,
      retryAt,
    );
    return { key, attempt, retryAt, error };
  }

  /**
   * Points the alarm at the earliest deadline, or deletes it when there is none; never before
   * `notBefore` when given (the alarm's own failure must not make it fire again at once).
   */
  arm(notBefore?: number): void {
    const row = this.sql.exec<{ at: number }>('SELECT min(at) AS at FROM deadlines').toArray()[0];
    const earliest = row?.at ?? null;
    const next = earliest !== null && notBefore !== undefined ? Math.max(earliest, notBefore) : earliest;
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

/** A deadline as stored: its key and epoch ms. */
export interface DueDeadline {
  key: string;
  at: number;
}

/** A deadline whose handler threw: what `runDue` reports (once per failure) for the caller to log. */
export interface DeadlineFailure {
  key: string;
  /** Failures in a row, this one included. */
  attempt: number;
  /** When it runs again; null when it was dropped after MAX_DEADLINE_ATTEMPTS. */
  retryAt: number | null;
  error: unknown;
}

/** Failures in a row after which a deadline is dropped (after about 8.5 minutes of retries). */
export const MAX_DEADLINE_ATTEMPTS = 10;
/** The longest wait between two attempts of a failing deadline. */
const MAX_RETRY_DELAY_MS = 5 * 60_000;

/** Wait after the `attempt`-th failure in a row: 1 s, 2 s, 4 s, … up to 5 min. */
export function deadlineRetryDelay(attempt: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
}
