import type { RoomRecord } from '../../core/room-record';
import { lazySchema } from './lazy-schema';

/**
 * The rooms this object has hosted, in its SQLite storage. A name's object hosts one room at a
 * time; after that room completes the name is free and a later room (new sid) reuses the object,
 * so completed rooms stay here by sid.
 */
export class RoomStore {
  /**
   * Whether a room may have changed since the catalog last acknowledged everything. Starts true so
   * the first publish after a wake checks storage once; after that, only a save sets it, and the
   * signaling hot path skips the catalog check entirely.
   */
  mayHaveUnpublished = true;

  /** Runs a query, creating the tables on the first write (lazy-schema.ts): a read stores nothing. */
  private readonly sql: { exec: SqlStorage['exec'] };

  constructor(sql: SqlStorage) {
    this.sql = {
      exec: lazySchema(sql, [
        `CREATE TABLE IF NOT EXISTS rooms (
          sid TEXT PRIMARY KEY,
          json TEXT NOT NULL,
          revision INTEGER NOT NULL,
          catalog_revision INTEGER NOT NULL DEFAULT -1
        )`,
        'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      ]),
    };
  }

  /** The room in progress under this name, if any. */
  current(): RoomRecord | null {
    const row = this.sql
      .exec<{ json: string }>("SELECT r.json FROM meta m JOIN rooms r ON r.sid = m.value WHERE m.key = 'current'")
      .toArray()[0];
    return row ? (JSON.parse(row.json) as RoomRecord) : null;
  }

  get(sid: string): RoomRecord | null {
    const row = this.sql.exec<{ json: string }>('SELECT json FROM rooms WHERE sid = ?', sid).toArray()[0];
    return row ? (JSON.parse(row.json) as RoomRecord) : null;
  }

  /** Saves a room, bumping its revision; an in-progress room becomes the name's current one. */
  save(room: RoomRecord): RoomRecord {
    const saved = { ...room, revision: room.revision + 1 };
    this.mayHaveUnpublished = true;
    this.sql.exec(
      `INSERT INTO rooms (sid, json, revision) VALUES (?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET json = excluded.json, revision = excluded.revision`,
      saved.sid,
      JSON.stringify(saved),
      saved.revision,
    );
    if (saved.status === 'in-progress') {
      this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('current', ?)", saved.sid);
    } else {
      this.sql.exec("DELETE FROM meta WHERE key = 'current' AND value = ?", saved.sid);
    }
    return saved;
  }

  /** Deletes a room's record (retention.ts). The name's current room is never deleted. */
  delete(sid: string): void {
    this.sql.exec("DELETE FROM rooms WHERE sid = ? AND sid NOT IN (SELECT value FROM meta WHERE key = 'current')", sid);
  }

  /** Every completed room kept here, by sid with its end time. */
  completed(): { sid: string; endTime: number | null }[] {
    return this.sql
      .exec<{ json: string }>("SELECT json FROM rooms WHERE json ->> '$.status' = 'completed'")
      .toArray()
      .map((r) => {
        const room = JSON.parse(r.json) as RoomRecord;
        return { sid: room.sid, endTime: room.endTime };
      });
  }

  /** Records the account this object's rooms belong to (it addresses the account's catalog). */
  setAccount(accountSid: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('account', ?)", accountSid);
  }

  /** The account this object's rooms belong to, once a room has been created here. */
  account(): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'account'").toArray()[0]?.value ?? null;
  }

  /** Rooms whose newest revision the catalog has not acknowledged. */
  unpublished(): RoomRecord[] {
    return this.sql
      .exec<{ json: string }>('SELECT json FROM rooms WHERE catalog_revision < revision')
      .toArray()
      .map((r) => JSON.parse(r.json) as RoomRecord);
  }

  markPublished(sid: string, revision: number): void {
    this.sql.exec('UPDATE rooms SET catalog_revision = max(catalog_revision, ?) WHERE sid = ?', revision, sid);
  }
}
