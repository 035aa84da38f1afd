import type { ParticipantRecord } from './participant-record';

/**
 * Participants in the room's SQLite storage. Everything a message handler needs is read from here,
 * so the object can hibernate or be evicted between any two messages and carry on.
 */
export class ParticipantStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS participants (
      sid TEXT PRIMARY KEY,
      room_sid TEXT NOT NULL,
      identity TEXT NOT NULL,
      status TEXT NOT NULL,
      session TEXT NOT NULL,
      connected_at INTEGER NOT NULL,
      json TEXT NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS participants_by_room ON participants (room_sid, status)');
    sql.exec('CREATE INDEX IF NOT EXISTS participants_by_session ON participants (session)');
  }

  save(p: ParticipantRecord): void {
    this.sql.exec(
      `INSERT INTO participants (sid, room_sid, identity, status, session, connected_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET status = excluded.status, session = excluded.session, json = excluded.json`,
      p.sid,
      p.roomSid,
      p.identity,
      p.status,
      p.session,
      p.connectedAt,
      JSON.stringify(p),
    );
  }

  get(sid: string): ParticipantRecord | null {
    return this.one('SELECT json FROM participants WHERE sid = ?', sid);
  }

  bySession(session: string): ParticipantRecord | null {
    return this.one('SELECT json FROM participants WHERE session = ?', session);
  }

  /** Participants of the room that are connected or reconnecting, in order of arrival. */
  present(roomSid: string): ParticipantRecord[] {
    return this.many(
      "SELECT json FROM participants WHERE room_sid = ? AND status != 'disconnected' ORDER BY connected_at, sid",
      roomSid,
    );
  }

  /** Every participant the room has had, in order of arrival. */
  all(roomSid: string): ParticipantRecord[] {
    return this.many('SELECT json FROM participants WHERE room_sid = ? ORDER BY connected_at, sid', roomSid);
  }

  private one(query: string, ...args: string[]): ParticipantRecord | null {
    const row = this.sql.exec<{ json: string }>(query, ...args).toArray()[0];
    return row ? (JSON.parse(row.json) as ParticipantRecord) : null;
  }

  private many(query: string, ...args: string[]): ParticipantRecord[] {
    return this.sql
      .exec<{ json: string }>(query, ...args)
      .toArray()
      .map((r) => JSON.parse(r.json) as ParticipantRecord);
  }
}
