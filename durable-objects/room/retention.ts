import { configNumber, orFallback, perEnv } from '../../core/config-error';
import { logInfo, logWarn } from '../../core/log';
import type { RoomRecord } from '../../core/room-record';
import type { Vars } from '../../core/vars';
import type { ParticipantStore } from './participants/participant-store';
import type { RoomStore } from './room-store';
import type { Scheduler } from './scheduler';

/** Deadline keys of retention: `retention:<room sid>`, set when the room completes. */
export const RETENTION_PREFIX = 'retention:';
/** How long a completed room is kept when ROOM_RETENTION_DAYS is unset. */
export const DEFAULT_RETENTION_DAYS = 30;
/** When the catalog could not be told, the purge is tried again this much later. */
const CATALOG_RETRY_MS = 30_000;
const DAY_MS = 86_400_000;

/**
 * ROOM_RETENTION_DAYS in ms: a number of days, 0 or more (decimals allowed; 0 purges a room as soon
 * as it completes). A ConfigError naming the variable otherwise, so the Worker's configuration
 * check can report it; the Room object itself falls back to the default (retentionMs).
 */
export const roomRetentionMs = perEnv(
  (env: Pick<Vars, 'ROOM_RETENTION_DAYS'>): number =>
    configNumber(env, 'ROOM_RETENTION_DAYS', DEFAULT_RETENTION_DAYS, (days) => days >= 0, 'it must be a number of days, 0 or more') * DAY_MS,
);

/** As roomRetentionMs, but never throws: a bad value is logged once and the default is used. */
export function retentionMs(env: Pick<Vars, 'ROOM_RETENTION_DAYS'>): number {
  return orFallback(() => roomRetentionMs(env), DEFAULT_RETENTION_DAYS * DAY_MS);
}

/** A part of the room that keeps rows per room, and deletes them when told. */
export interface RoomRows {
  /** Deletes everything kept for `roomSid`; `participantSids` are all the participants it had. */
  purgeRoom(roomSid: string, participantSids: readonly string[]): void;
}

export interface RetentionDeps {
  store: RoomStore;
  participants: ParticipantStore;
  scheduler: Pick<Scheduler, 'set' | 'get'>;
  /** The other parts with rows per room: media (mesh pairs, media sessions), status callbacks. */
  parts: readonly RoomRows[];
  /** Removes the room from the account's catalog, after any copy of it still being published. */
  forgetInCatalog(roomSid: string): Promise<void>;
  /** The retention, in ms (ROOM_RETENTION_DAYS). */
  retentionMs: number;
  now?: () => number;
}

/**
 * Completed rooms are kept for the retention (ROOM_RETENTION_DAYS, 30 days by default), then
 * purged by the room's own alarm: the room's record, its participants (their tracks are part of
 * their record), what the media backends kept for it, its status callbacks still queued (dropped,
 * undelivered) and its callback numbering, and its row in the account's catalog, after which REST
 * answers 20404 for it as Twilio does for a room past its retention. A Room object that hosts one
 * name session after session so keeps only its room in progress and those completed within the
 * retention. What stays is the object's `meta` row naming its account (it addresses the catalog),
 * a few bytes, and the empty tables, whose freed pages SQLite reuses.
 */
export class Retention {
  private readonly now: () => number;

  constructor(private readonly d: RetentionDeps) {
    this.now = d.now ?? Date.now;
  }

  /** A room completed: its purge is due a retention after its end. Same step as the change. */
  roomEnded(room: Pick<RoomRecord, 'sid' | 'endTime'>): void {
    this.d.scheduler.set(RETENTION_PREFIX + room.sid, (room.endTime ?? this.now()) + this.d.retentionMs);
  }

  /**
   * A room started here: completed rooms that have no purge deadline (they ended before retention
   * existed) get one now, so an object hosting a name day after day sheds its old rooms too.
   */
  roomStarted(): void {
    for (const room of this.d.store.completed()) {
      if (this.d.scheduler.get(RETENTION_PREFIX + room.sid) === undefined) this.roomEnded(room);
    }
  }

  /** Handles a due deadline; false if the key is not retention's. */
  async onDeadline(key: string): Promise<boolean> {
    if (!key.startsWith(RETENTION_PREFIX)) return false;
    const roomSid = key.slice(RETENTION_PREFIX.length);
    const room = this.d.store.get(roomSid);
    // Only completed rooms are ever purged (a deadline can only be set by a completion, but a
    // stored key is not proof).
    if (room && room.status !== 'completed') return true;
    if (room) this.purge(roomSid);
    try {
      await this.d.forgetInCatalog(roomSid);
    } catch (err) {
      // Its rows here are gone already; only the catalog's remains, and is tried again.
      logWarn({ event: 'retention-catalog-failed', roomSid, message: `room ${roomSid} purged; its catalog row is removed on a retry`, error: err });
      this.d.scheduler.set(key, this.now() + CATALOG_RETRY_MS);
    }
    return true;
  }

  /** Deletes everything this object keeps for the room, in one synchronous step. */
  private purge(roomSid: string): void {
    const participantSids = this.d.participants.all(roomSid).map((p) => p.sid);
    for (const part of this.d.parts) part.purgeRoom(roomSid, participantSids);
    this.d.participants.purgeRoom(roomSid);
    this.d.store.delete(roomSid);
    logInfo({ event: 'room-purged', roomSid, message: `room ${roomSid} purged after its retention`, participants: participantSids.length });
  }
}
