import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { RecordingSettings } from '../../core/recording-settings';
import type { RecordingRecord, RecordingStatus, RecordingType } from '../../core/recordings';
import type { RoomDefaults } from '../../core/room-params';
import type { RoomRecord, RoomStatus } from '../../core/room-record';

/** Filters and paging of a room list, already validated by the Worker. */
export interface RoomQuery {
  status: RoomStatus;
  uniqueName?: string;
  /** Epoch ms, inclusive. */
  createdAfter?: number;
  /** Epoch ms, exclusive. */
  createdBefore?: number;
  pageSize: number;
  /** Rows to skip when no cursor is given (`Page` × `PageSize`). */
  offset: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { dateCreated: number; sid: string };
}

/** The filters of a recording list, already validated by the Worker. */
export interface RecordingFilters {
  status?: RecordingStatus;
  /** The recorded track's sid (MT…). */
  sourceSid?: string;
  /** Each must be the recording's room or participant sid. */
  groupingSids?: string[];
  /** Twilio's MediaType filter; `data` tracks are never recorded, so it matches none. */
  mediaType?: RecordingType | 'data';
  roomSid?: string;
  /** Epoch ms, inclusive. */
  createdAfter?: number;
  /** Epoch ms, exclusive. */
  createdBefore?: number;
}

/** Filters and paging of a recording list. */
export interface RecordingQuery extends RecordingFilters {
  pageSize: number;
  /** Rows to skip when no cursor is given (`Page` × `PageSize`). */
  offset: number;
  /** Keyset cursor: the last row of the previous page. */
  after?: { dateCreated: number; sid: string };
}

/** How far a recording in `column` has come: a copy never replaces one further along (deleted is the end). */
const rank = (column: string) => `CASE ${column} WHEN 'processing' THEN 0 WHEN 'deleted' THEN 2 ELSE 1 END`;

/**
 * The account's catalog of rooms: one SQLite-backed object per account, holding the newest copy of
 * every room, for listing, sid lookup and name lookup. Room objects push a copy on every status
 * change; the copy with the highest revision wins, so retries and reordering cannot regress it.
 */
export class CatalogObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS rooms (
      sid TEXT PRIMARY KEY,
      unique_name TEXT NOT NULL,
      status TEXT NOT NULL,
      date_created INTEGER NOT NULL,
      revision INTEGER NOT NULL,
      json TEXT NOT NULL
    )`);
    this.sql.exec('CREATE INDEX IF NOT EXISTS rooms_by_status ON rooms (status, date_created DESC, sid DESC)');
    this.sql.exec('CREATE INDEX IF NOT EXISTS rooms_by_name ON rooms (unique_name, status)');
    // The account's settings by name ('rooms': the room settings), each a JSON object of the
    // fields the account set; fields it never set follow the deployment's defaults.
    this.sql.exec('CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, json TEXT NOT NULL)');
    // Every recording of the account (a Room object pushes each change of its own), kept after
    // the room is purged: a recording lives until it is deleted.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS recordings (
      sid TEXT PRIMARY KEY,
      room_sid TEXT NOT NULL,
      participant_sid TEXT NOT NULL,
      source_sid TEXT NOT NULL,
      type TEXT NOT NULL,
      status TEXT NOT NULL,
      date_created INTEGER NOT NULL,
      date_updated INTEGER NOT NULL,
      json TEXT NOT NULL
    )`);
    this.sql.exec('CREATE INDEX IF NOT EXISTS recordings_by_date ON recordings (date_created DESC, sid DESC)');
    this.sql.exec('CREATE INDEX IF NOT EXISTS recordings_by_room ON recordings (room_sid, date_created DESC)');
  }

  /** The account's recording settings (`/v1/RecordingSettings/Default`), or null when never set. */
  recordingSettings(): RecordingSettings | null {
    return this.setting<RecordingSettings>('recordings');
  }

  /** Replaces the recording settings (validated by the Worker); rooms read them when a recording starts. */
  updateRecordingSettings(settings: RecordingSettings): void {
    this.saveSetting('recordings', settings);
  }

  /**
   * Saves a Room object's copy of a recording. Copies can arrive twice or late (retries), so one
   * never replaces a copy further along (final over processing, newer over older), and a deleted
   * recording is never changed again.
   */
  upsertRecording(r: RecordingRecord): void {
    this.sql.exec(
      `INSERT INTO recordings (sid, room_sid, participant_sid, source_sid, type, status, date_created, date_updated, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET status = excluded.status, date_updated = excluded.date_updated, json = excluded.json
       WHERE recordings.status != 'deleted' AND excluded.status != 'deleted'
         AND (${rank('excluded.status')} > ${rank('recordings.status')}
           OR (${rank('excluded.status')} = ${rank('recordings.status')} AND excluded.date_updated >= recordings.date_updated))`,
      r.sid,
      r.roomSid,
      r.participantSid,
      r.sourceSid,
      r.type,
      r.status,
      r.dateCreated,
      r.dateUpdated,
      JSON.stringify(r),
    );
  }

  getRecording(sid: string): RecordingRecord | null {
    const row = this.sql.exec<{ json: string }>('SELECT json FROM recordings WHERE sid = ?', sid).toArray()[0];
    return row ? (JSON.parse(row.json) as RecordingRecord) : null;
  }

  /** Marks a recording deleted (its media is deleted by the caller); null when there is none. */
  markRecordingDeleted(sid: string): RecordingRecord | null {
    const current = this.getRecording(sid);
    if (!current) return null;
    if (current.status === 'deleted') return current;
    const deleted: RecordingRecord = { ...current, status: 'deleted', dateUpdated: Math.max(Date.now(), current.dateUpdated) };
    this.sql.exec('UPDATE recordings SET status = ?, date_updated = ?, json = ? WHERE sid = ?', 'deleted', deleted.dateUpdated, JSON.stringify(deleted), sid);
    return deleted;
  }

  /** One page of recordings, newest first; fetches pageSize + 1 rows so the caller knows whether more follow. */
  listRecordings(query: RecordingQuery): RecordingRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const filter = (clause: string, ...values: (string | number)[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (query.status !== undefined) filter('status = ?', query.status);
    if (query.sourceSid !== undefined) filter('source_sid = ?', query.sourceSid);
    for (const sid of query.groupingSids ?? []) filter('(room_sid = ? OR participant_sid = ?)', sid, sid);
    if (query.mediaType !== undefined) filter('type = ?', query.mediaType);
    if (query.roomSid !== undefined) filter('room_sid = ?', query.roomSid);
    if (query.createdAfter !== undefined) filter('date_created >= ?', query.createdAfter);
    if (query.createdBefore !== undefined) filter('date_created < ?', query.createdBefore);
    if (query.after) filter('(date_created < ? OR (date_created = ? AND sid < ?))', query.after.dateCreated, query.after.dateCreated, query.after.sid);
    args.push(query.pageSize + 1, query.after ? 0 : query.offset);
    return this.sql
      .exec<{ json: string }>(
        `SELECT json FROM recordings ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY date_created DESC, sid DESC LIMIT ? OFFSET ?`,
        ...args,
      )
      .toArray()
      .map((r) => JSON.parse(r.json) as RecordingRecord);
  }

  /** The room settings the account saved (only the fields it set), or none. */
  roomSettings(): Partial<RoomDefaults> {
    return this.setting<Partial<RoomDefaults>>('rooms') ?? {};
  }

  /**
   * Saves `patch` (already validated) over the saved room settings and returns them all. Read and
   * write run with no await between them, so concurrent updates of different fields both stick.
   */
  updateRoomSettings(patch: Partial<RoomDefaults>): Partial<RoomDefaults> {
    const merged = { ...this.roomSettings(), ...patch };
    this.saveSetting('rooms', merged);
    return merged;
  }

  /** One of the account's settings objects by name ('rooms', 'recordings'), or null when never saved. */
  private setting<T>(name: string): T | null {
    const row = this.sql.exec<{ json: string }>('SELECT json FROM settings WHERE name = ?', name).toArray()[0];
    return row ? (JSON.parse(row.json) as T) : null;
  }

  private saveSetting(name: string, value: unknown): void {
    this.sql.exec('INSERT INTO settings (name, json) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET json = excluded.json', name, JSON.stringify(value));
  }

  upsert(room: RoomRecord): void {
    this.sql.exec(
      `INSERT INTO rooms (sid, unique_name, status, date_created, revision, json) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET status = excluded.status, revision = excluded.revision, json = excluded.json
       WHERE excluded.revision > rooms.revision`,
      room.sid,
      room.uniqueName,
      room.status,
      room.dateCreated,
      room.revision,
      JSON.stringify(room),
    );
  }

  /**
   * Forgets a room that its Room object purged after the retention (ROOM_RETENTION_DAYS): REST
   * then answers 20404 for it, as Twilio does past its retention. The Room object publishes every
   * copy of the room before it asks, so no copy can bring the row back.
   */
  remove(sid: string): void {
    this.sql.exec('DELETE FROM rooms WHERE sid = ?', sid);
  }

  get(sid: string): RoomRecord | null {
    const row = this.sql.exec<{ json: string }>('SELECT json FROM rooms WHERE sid = ?', sid).toArray()[0];
    return row ? (JSON.parse(row.json) as RoomRecord) : null;
  }

  /** The in-progress room with this unique name, if any. */
  inProgressByName(uniqueName: string): RoomRecord | null {
    const row = this.sql
      .exec<{ json: string }>("SELECT json FROM rooms WHERE unique_name = ? AND status = 'in-progress' LIMIT 1", uniqueName)
      .toArray()[0];
    return row ? (JSON.parse(row.json) as RoomRecord) : null;
  }

  /** One page, newest first; fetches pageSize + 1 rows so the caller knows whether more follow. */
  list(query: RoomQuery): RoomRecord[] {
    const where = ['status = ?'];
    const args: (string | number)[] = [query.status];
    if (query.uniqueName !== undefined) {
      where.push('unique_name = ?');
      args.push(query.uniqueName);
    }
    if (query.createdAfter !== undefined) {
      where.push('date_created >= ?');
      args.push(query.createdAfter);
    }
    if (query.createdBefore !== undefined) {
      where.push('date_created < ?');
      args.push(query.createdBefore);
    }
    if (query.after) {
      where.push('(date_created < ? OR (date_created = ? AND sid < ?))');
      args.push(query.after.dateCreated, query.after.dateCreated, query.after.sid);
    }
    args.push(query.pageSize + 1, query.after ? 0 : query.offset);
    return this.sql
      .exec<{ json: string }>(
        `SELECT json FROM rooms WHERE ${where.join(' AND ')} ORDER BY date_created DESC, sid DESC LIMIT ? OFFSET ?`,
        ...args,
      )
      .toArray()
      .map((r) => JSON.parse(r.json) as RoomRecord);
  }
}
