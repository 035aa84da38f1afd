import type { RecordingRecord, RecordingRule } from '../../../core/recordings';
import { lazySchema } from '../lazy-schema';

/** A recording as the Room object keeps it: the resource, and what it takes to drive the media server. */
export interface StoredRecording {
  record: RecordingRecord;
  /** The publisher's media session the recording is of (a moved session is a new recording). */
  session: string;
  /** The publisher's own track id (its a=msid track id), as the media server knows the publication. */
  trackId: string;
  /** Control base URL of the media server that writes it. */
  server: string;
  /** Whether it is still in the orders (should be writing); false once stopped. */
  wanted: boolean;
  /** Whether the media server has accepted an order listing it. */
  told: boolean;
  /** Whether the media server was told its final state is saved (it then forgets it). */
  acknowledged: boolean;
  /** The media server's clock when its first media was written; null before. */
  startedAt: number | null;
}

/** A room's recording settings and state beside its recordings. */
export interface RecordingRoom {
  /** The rules set over REST; null while the room keeps the ones it was created with. */
  rules: RecordingRule[] | null;
  rulesCreated: number | null;
  rulesUpdated: number | null;
  /** The earliest startedAt of its recordings (server clock): offsets count from it. */
  firstStartedAt: number | null;
  /** The boot id each media server last answered with: a change means it restarted. */
  boots: Record<string, string>;
  /** Since when its media server has not answered (epoch ms); null while it answers. */
  unreachableSince: number | null;
  /** The `recording` state its clients were last sent. */
  revision: number;
  isRecording: boolean;
}

type Row = {
  sid: string;
  session: string;
  track_id: string;
  server: string;
  wanted: number;
  told: number;
  acknowledged: number;
  started_at: number | null;
  json: string;
  revision: number;
};

type RoomRow = {
  rules: string | null;
  rules_created: number | null;
  rules_updated: number | null;
  first_started_at: number | null;
  boots: string;
  unreachable_since: number | null;
  revision: number;
  is_recording: number;
};

const EMPTY_ROOM: RecordingRoom = {
  rules: null,
  rulesCreated: null,
  rulesUpdated: null,
  firstStartedAt: null,
  boots: {},
  unreachableSince: null,
  revision: 1,
  isRecording: false,
};

/**
 * The Room object's recordings, in its SQLite storage, with each room's rules and recording state.
 * Tables are created by the first recording or rule change (lazy-schema.ts): rooms that never
 * record store nothing. Every saved change of a recording bumps its revision, and the revisions
 * the catalog has not acknowledged are pushed to it (recording-catalog-sync.ts), once the recording
 * got media (unpublished).
 */
export class RecordingStore {
  /** Whether a recording may have changed since the catalog last acknowledged them all (starts true: checked once per wake). */
  mayHaveUnpublished = true;
  private readonly exec: SqlStorage['exec'];

  constructor(sql: SqlStorage) {
    this.exec = lazySchema(sql, [
      `CREATE TABLE IF NOT EXISTS recordings (
        sid TEXT PRIMARY KEY,
        room_sid TEXT NOT NULL,
        session TEXT NOT NULL,
        track_id TEXT NOT NULL,
        server TEXT NOT NULL,
        wanted INTEGER NOT NULL,
        told INTEGER NOT NULL DEFAULT 0,
        acknowledged INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER,
        status TEXT NOT NULL,
        json TEXT NOT NULL,
        revision INTEGER NOT NULL,
        catalog_revision INTEGER NOT NULL DEFAULT -1
      )`,
      'CREATE INDEX IF NOT EXISTS recordings_by_room ON recordings (room_sid)',
      `CREATE TABLE IF NOT EXISTS recording_rooms (
        room_sid TEXT PRIMARY KEY,
        rules TEXT,
        rules_created INTEGER,
        rules_updated INTEGER,
        first_started_at INTEGER,
        boots TEXT NOT NULL DEFAULT '{}',
        unreachable_since INTEGER,
        revision INTEGER NOT NULL DEFAULT 1,
        is_recording INTEGER NOT NULL DEFAULT 0
      )`,
    ]);
  }

  /** A room's recordings, oldest first. */
  ofRoom(roomSid: string): StoredRecording[] {
    return this.exec<Row>('SELECT * FROM recordings WHERE room_sid = ? ORDER BY rowid', roomSid).toArray().map(fromRow);
  }

  /** Rooms with recordings the media server has not settled: still processing, or final but not acknowledged. */
  unsettledRooms(): string[] {
    return this.exec<{ room_sid: string }>(
      "SELECT DISTINCT room_sid FROM recordings WHERE status = 'processing' OR acknowledged = 0",
    )
      .toArray()
      .map((r) => r.room_sid);
  }

  /** Saves a recording; `changed` (the resource itself changed) bumps its revision for the catalog. */
  save(r: StoredRecording, changed: boolean): void {
    if (changed) this.mayHaveUnpublished = true;
    this.exec(
      `INSERT INTO recordings (sid, room_sid, session, track_id, server, wanted, told, acknowledged, started_at, status, json, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT(sid) DO UPDATE SET wanted = excluded.wanted, told = excluded.told, acknowledged = excluded.acknowledged,
         started_at = excluded.started_at, status = excluded.status, json = excluded.json,
         revision = recordings.revision + ?`,
      r.record.sid,
      r.record.roomSid,
      r.session,
      r.trackId,
      r.server,
      r.wanted ? 1 : 0,
      r.told ? 1 : 0,
      r.acknowledged ? 1 : 0,
      r.startedAt,
      r.record.status,
      JSON.stringify(r.record),
      changed ? 1 : 0,
    );
  }

  /**
   * Recordings whose newest revision the catalog has not acknowledged. Only those that got media:
   * one stopped before its first frame (a publisher gone before it sent any) is never a resource.
   */
  unpublished(): { record: RecordingRecord; revision: number }[] {
    return this.exec<{ json: string; revision: number }>('SELECT json, revision FROM recordings WHERE catalog_revision < revision AND started_at IS NOT NULL')
      .toArray()
      .map((r) => ({ record: JSON.parse(r.json) as RecordingRecord, revision: r.revision }));
  }

  markPublished(sid: string, revision: number): void {
    this.exec('UPDATE recordings SET catalog_revision = max(catalog_revision, ?) WHERE sid = ?', revision, sid);
  }

  /** The room's recording settings and state (defaults when it has none stored). */
  room(roomSid: string): RecordingRoom {
    const row = this.exec<RoomRow>('SELECT * FROM recording_rooms WHERE room_sid = ?', roomSid).toArray()[0];
    if (!row) return { ...EMPTY_ROOM, boots: {} };
    return {
      rules: row.rules === null ? null : (JSON.parse(row.rules) as RecordingRule[]),
      rulesCreated: row.rules_created,
      rulesUpdated: row.rules_updated,
      firstStartedAt: row.first_started_at,
      boots: JSON.parse(row.boots) as Record<string, string>,
      unreachableSince: row.unreachable_since,
      revision: row.revision,
      isRecording: row.is_recording === 1,
    };
  }

  saveRoom(roomSid: string, room: RecordingRoom): void {
    this.exec(
      `INSERT INTO recording_rooms (room_sid, rules, rules_created, rules_updated, first_started_at, boots, unreachable_since, revision, is_recording)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(room_sid) DO UPDATE SET rules = excluded.rules, rules_created = excluded.rules_created,
         rules_updated = excluded.rules_updated, first_started_at = excluded.first_started_at, boots = excluded.boots,
         unreachable_since = excluded.unreachable_since, revision = excluded.revision, is_recording = excluded.is_recording`,
      roomSid,
      room.rules === null ? null : JSON.stringify(room.rules),
      room.rulesCreated,
      room.rulesUpdated,
      room.firstStartedAt,
      JSON.stringify(room.boots),
      room.unreachableSince,
      room.revision,
      room.isRecording ? 1 : 0,
    );
  }

  /** Deletes a room's recordings and state (retention.ts); the catalog keeps the resources. */
  purgeRoom(roomSid: string): void {
    this.exec('DELETE FROM recordings WHERE room_sid = ?', roomSid);
    this.exec('DELETE FROM recording_rooms WHERE room_sid = ?', roomSid);
  }
}

function fromRow(r: Row): StoredRecording {
  return {
    record: JSON.parse(r.json) as RecordingRecord,
    session: r.session,
    trackId: r.track_id,
    server: r.server,
    wanted: r.wanted === 1,
    told: r.told === 1,
    acknowledged: r.acknowledged === 1,
    startedAt: r.started_at,
  };
}
