import type { CallbackTarget } from './callback-request';
import { signedCallbackRequest } from './callback-request';
import type { CallbackEvent } from './callback-events';
import type { AttemptOutcome, RetryPolicy } from './callback-policy';
import { classifyStatus, retryDelay } from './callback-policy';
import { lazySchema } from './lazy-schema';
import { logError, logWarn } from '../../core/log';
import type { RoomRecord } from '../../core/room-record';
import type { Scheduler } from './scheduler';

/** Scheduler keys of the outbox all start with this; `alarm()` hands them to `onDeadline`. */
export const CALLBACKS_PREFIX = 'callbacks:';
/** The one deadline of the outbox: when its delivery loop must (re)start. */
export const CALLBACKS_DELIVER = `${CALLBACKS_PREFIX}deliver`;
/** Slack on top of the attempt timeout before a silent delivery loop is presumed dead. */
const LEASE_MARGIN_MS = 5_000;

/** One queued event, as `pending()` lists it. */
export interface PendingCallback {
  roomSid: string;
  sequenceNumber: number;
  target: CallbackTarget;
  params: Record<string, string>;
  /** Epoch ms the event was queued at; it is dropped after policy.maxAgeMs from here. */
  createdAt: number;
  /** Failed attempts so far. */
  attempts: number;
  /** Epoch ms before which the event is not attempted. */
  nextAt: number;
}

export interface OutboxOptions {
  sql: SqlStorage;
  scheduler: Pick<Scheduler, 'set' | 'clear'>;
  /** Looks rooms up by sid, for their StatusCallback at append time. */
  rooms: { get(sid: string): RoomRecord | null };
  /** The auth token that signs callbacks of an account (undefined if the account is unknown). */
  signingKey(accountSid: string): string | undefined;
  policy: RetryPolicy;
  /**
   * Awaited before each round of sends. The room object passes its catalog publish here, so that a
   * receiver that looks the room up over REST on room-created finds it (the alarm that delivers
   * can fire before the create that queued the event has finished publishing).
   */
  beforeRound?: () => Promise<void>;
  /** Sends one request; tests replace it. Defaults to the global fetch. */
  send?: (request: Request, signal: AbortSignal) => Promise<Response>;
  now?: () => number;
  random?: () => number;
}

// A type alias, not an interface: SqlStorage's row type parameter needs an index signature.
type Row = {
  room_sid: string;
  seq: number;
  account_sid: string;
  url: string;
  method: string;
  params: string;
  created_at: number;
  attempts: number;
  next_at: number;
};

/** A room's oldest queued event: the only one of that room that may be sent. */
const HEAD = 'o.seq = (SELECT min(i.seq) FROM callback_outbox i WHERE i.room_sid = o.room_sid)';

/**
 * Durable outbox of status callbacks, in the room object's SQLite storage.
 *
 * `append` is synchronous SQL, so an event commits in the same storage transaction as the state
 * change that causes it: it exists if and only if the change does, whatever happens to the object
 * afterwards. Delivery is at least once and in order per room: only a room's oldest event (its
 * head) is ever in flight, and it leaves the table only when acknowledged (2xx), refused for good
 * (other 4xx/3xx) or expired. A crash between the receiver's 2xx and the delete resends it, hence
 * "at least once"; receivers dedupe on RoomSid + SequenceNumber.
 *
 * The loop runs on its own (started from the alarm, never awaited by a request) and an outgoing
 * fetch is I/O, during which the object keeps serving WebSocket messages and RPCs. Only one loop
 * runs per object instance (`running`). The scheduler deadline CALLBACKS_DELIVER is the durable
 * trigger: while the loop is idle it is the earliest head's retry time; while the loop runs it is
 * a lease just past the longest an attempt can take, so if the object is evicted mid-attempt, the
 * alarm starts a new loop after a restart and nothing queued is stranded.
 */
export class Outbox {
  private running = false;
  private readonly send: (request: Request, signal: AbortSignal) => Promise<Response>;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Runs a query, creating the outbox's tables on first use. */
  private readonly exec: SqlStorage['exec'];
  /** Whether callback_sequences is known to have its last_at column (see `upgradeSequences`). */
  private sequencesUpgraded = false;

  constructor(private readonly opts: OutboxOptions) {
    this.send = opts.send ?? ((request, signal) => fetch(request, { signal }));
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    // Created on first use (lazy-schema.ts): rooms without a StatusCallback never need them. The
    // sequences table is kept apart from the outbox rows, which are deleted as they are delivered:
    // a room's numbering must carry on from where it was, not restart at 0 once its queue drains.
    this.exec = lazySchema(opts.sql, [
      `CREATE TABLE IF NOT EXISTS callback_outbox (
        room_sid TEXT NOT NULL,
        seq INTEGER NOT NULL,
        account_sid TEXT NOT NULL,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        params TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        PRIMARY KEY (room_sid, seq)
      )`,
      // last_at: the room's latest Timestamp so far (epoch ms), so that Timestamps never go back.
      'CREATE TABLE IF NOT EXISTS callback_sequences (room_sid TEXT PRIMARY KEY, next INTEGER NOT NULL, last_at INTEGER NOT NULL DEFAULT 0)',
    ]);
  }

  /**
   * Queues `event` for the room `roomSid`, stamping the room's next SequenceNumber (0 for its first
   * event) and snapshotting its StatusCallback URL and method. Synchronous on purpose: call it in
   * the same step as the change it reports. Returns the sequence number, or null (and queues
   * nothing) when the room has no StatusCallback.
   *
   * The event's Timestamp is raised, if need be, to the room's previous one, so that Timestamps
   * never go back as SequenceNumbers go up. Events carry the time of the record they report
   * (a participant's disconnect, the room's end), and those are read at different moments: when a
   * room ends, its participants' disconnect times are taken after the room's end time but their
   * events come first; and a clock can step back between two wakes of the object.
   */
  append(roomSid: string, event: CallbackEvent): number | null {
    const room = this.opts.rooms.get(roomSid);
    if (!room?.statusCallback) return null;
    this.upgradeSequences();
    const eventAt = Date.parse(event.Timestamp ?? '');
    const { seq, at } = this
      .exec<{ seq: number; at: number }>(
        `INSERT INTO callback_sequences (room_sid, next, last_at) VALUES (?, 1, ?)
         ON CONFLICT(room_sid) DO UPDATE SET next = next + 1, last_at = max(last_at, excluded.last_at)
         RETURNING next - 1 AS seq, last_at AS at`,
        roomSid,
        Number.isFinite(eventAt) ? eventAt : this.now(),
      )
      .one();
    const params = { ...event, Timestamp: new Date(at).toISOString(), SequenceNumber: String(seq) };
    const now = this.now();
    this.exec(
      `INSERT INTO callback_outbox (room_sid, seq, account_sid, url, method, params, created_at, next_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      roomSid,
      seq,
      room.accountSid,
      room.statusCallback,
      room.statusCallbackMethod,
      JSON.stringify(params),
      now,
      now,
    );
    this.reschedule();
    return seq;
  }

  /**
   * Retention (retention.ts): drops the room's events still queued, undelivered, and its numbering.
   * An attempt in flight for one of them settles on a row that is gone, which changes nothing.
   */
  purgeRoom(roomSid: string): void {
    const dropped = this.exec('DELETE FROM callback_outbox WHERE room_sid = ?', roomSid).rowsWritten;
    this.exec('DELETE FROM callback_sequences WHERE room_sid = ?', roomSid);
    if (dropped > 0) {
      logWarn({ event: 'callbacks-purged', roomSid, message: `${dropped} status callback(s) of room ${roomSid} dropped undelivered: the room was purged` });
      this.reschedule();
    }
  }

  /**
   * Adds last_at to a callback_sequences table created before it existed (objects that queued
   * callbacks under an older version). Once per instance; a new table is created with it.
   */
  private upgradeSequences(): void {
    if (this.sequencesUpgraded) return;
    const { sql } = this.opts;
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'callback_sequences'").toArray().length > 0;
    if (exists && !sql.exec('SELECT * FROM callback_sequences LIMIT 0').columnNames.includes('last_at')) {
      sql.exec('ALTER TABLE callback_sequences ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0');
    }
    this.sequencesUpgraded = true;
  }

  /** Every queued event, oldest first per room. */
  pending(): PendingCallback[] {
    return this
      .exec<Row>('SELECT * FROM callback_outbox ORDER BY room_sid, seq')
      .toArray()
      .map((r) => ({
        roomSid: r.room_sid,
        sequenceNumber: r.seq,
        target: { url: r.url, method: r.method === 'GET' ? 'GET' : 'POST' },
        params: JSON.parse(r.params) as Record<string, string>,
        createdAt: r.created_at,
        attempts: r.attempts,
        nextAt: r.next_at,
      }));
  }

  /** Handles a due scheduler key; false if it is not the outbox's. Starts delivery, never awaits it. */
  onDeadline(key: string): boolean {
    if (!key.startsWith(CALLBACKS_PREFIX)) return false;
    // Not awaited: the alarm handler returns at once and the loop goes on as the object's own I/O.
    this.deliver().catch((err: unknown) => logError({ event: 'callback-loop-failed', message: 'status callbacks: delivery loop failed', error: err }));
    return true;
  }

  /**
   * Sends every due head, round after round, until none is due; then points the deadline at the
   * next retry. Resolves when this loop stops; a call while a loop runs returns at once (the
   * running loop picks up whatever became due). Never rejects on a delivery failure.
   */
  async deliver(): Promise<void> {
    if (this.running) {
      this.reschedule();
      return;
    }
    this.running = true;
    try {
      for (;;) {
        const due = this
          .exec<Row>(`SELECT o.* FROM callback_outbox o WHERE o.next_at <= ? AND ${HEAD} ORDER BY o.created_at, o.room_sid`, this.now())
          .toArray();
        if (!due.length) break;
        this.reschedule(); // the lease: restarts delivery if this instance dies mid-round
        await this.opts.beforeRound?.().catch((err: unknown) => logError({ event: 'catalog-publish-failed', message: 'status callbacks: beforeRound failed', error: err }));
        await Promise.all(due.map((row) => this.attempt(row)));
      }
    } finally {
      this.running = false;
      this.reschedule();
    }
  }

  /** One attempt at one event, then its row updated accordingly. Never throws. */
  private async attempt(row: Row): Promise<void> {
    const target: CallbackTarget = { url: row.url, method: row.method === 'GET' ? 'GET' : 'POST' };
    let token: string | undefined;
    try {
      token = this.opts.signingKey(row.account_sid);
    } catch (err) {
      // A broken ACCOUNTS var throws here; a fixed deployment can still deliver, so retry.
      return this.settle(row, 'retry', `accounts unavailable: ${describe(err)}`);
    }
    if (token === undefined) return this.settle(row, 'retry', `no auth token for account ${row.account_sid}`);
    let request: Request;
    try {
      request = await signedCallbackRequest(target, JSON.parse(row.params) as Record<string, string>, token);
    } catch (err) {
      return this.settle(row, 'rejected', `cannot build the request: ${describe(err)}`);
    }
    try {
      const response = await this.send(request, AbortSignal.timeout(this.opts.policy.timeoutMs));
      // Only the status matters. Cancelling the body frees the connection instead of buffering
      // whatever the receiver sends (a Worker has a limited number of open connections).
      await response.body?.cancel().catch(() => undefined);
      this.settle(row, classifyStatus(response.status), `HTTP ${response.status}`);
    } catch (err) {
      // Refused connection, DNS failure, reset, or the timeout's TimeoutError.
      this.settle(row, 'retry', describe(err));
    }
  }

  private settle(row: Row, outcome: AttemptOutcome, detail: string): void {
    const where = [row.room_sid, row.seq] as const;
    const label = `status callback ${row.room_sid}#${row.seq} to ${row.method} ${row.url}`;
    // The message keeps the sentence operators (and the Node suite) grep for; the fields are for queries.
    const fields = { roomSid: row.room_sid, participantSid: participantOf(row), sequenceNumber: row.seq, url: row.url, method: row.method, detail };
    if (outcome === 'delivered') {
      this.exec('DELETE FROM callback_outbox WHERE room_sid = ? AND seq = ?', ...where);
      return;
    }
    if (outcome === 'rejected') {
      this.exec('DELETE FROM callback_outbox WHERE room_sid = ? AND seq = ?', ...where);
      logError({ ...fields, event: 'callback-dropped', message: `${label} dropped, not retried: ${detail}`, attempt: row.attempts + 1 });
      return;
    }
    const now = this.now();
    const failures = row.attempts + 1;
    const expiresAt = row.created_at + this.opts.policy.maxAgeMs;
    if (now >= expiresAt) {
      this.exec('DELETE FROM callback_outbox WHERE room_sid = ? AND seq = ?', ...where);
      logError({
        ...fields,
        event: 'callback-dropped',
        message: `${label} dropped after ${failures} attempts over ${Math.round((now - row.created_at) / 1000)} s: ${detail}`,
        attempt: failures,
      });
      return;
    }
    // The last retry lands on the expiry time rather than past it, so every event gets its full window.
    const nextAt = Math.min(now + retryDelay(failures, this.opts.policy, this.random), expiresAt);
    this.exec('UPDATE callback_outbox SET attempts = ?, next_at = ? WHERE room_sid = ? AND seq = ?', failures, nextAt, ...where);
    logWarn({ ...fields, event: 'callback-failed', message: `${label} failed (attempt ${failures}: ${detail}); retrying in ${nextAt - now} ms`, attempt: failures });
  }

  /** Points CALLBACKS_DELIVER at what must happen next: see the class comment. */
  private reschedule(): void {
    const row = this.exec<{ at: number | null }>(`SELECT min(o.next_at) AS at FROM callback_outbox o WHERE ${HEAD}`).one();
    if (row.at === null) this.opts.scheduler.clear(CALLBACKS_DELIVER);
    else if (this.running) this.opts.scheduler.set(CALLBACKS_DELIVER, this.now() + this.opts.policy.timeoutMs + LEASE_MARGIN_MS);
    else this.opts.scheduler.set(CALLBACKS_DELIVER, row.at);
  }
}

/** The participant an event is about, if any (read back from its stored parameters). */
function participantOf(row: Row): string | null {
  try {
    return (JSON.parse(row.params) as Record<string, string>).ParticipantSid ?? null;
  } catch {
    return null;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
