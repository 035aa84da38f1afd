import { lazySchema } from '../lazy-schema';
import type { ParticipantRecord } from './participant-record';

/** Filters and paging of a REST participant list, already validated by the Worker. */
export interface ParticipantQuery {
  /** `connected` matches reconnecting participants too: REST shows them as connected. */
  status: 'connected' | 'disconnected' | 'reconnecting';
  identity?: string;
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

/**
 * Participants in the room's SQLite storage. Everything a message handler needs is read from here,
 * so the object can hibernate or be evicted between any two messages and carry on.
 */
export class ParticipantStore {
  /**
   * Each participant's stored JSON by sid, written through by save(): every relayed message reads
   * its sender's record, and a map lookup is far cheaper than a query. Parsing the text hands each
   * caller its own copy, exactly as reading the row did. save() is the only writer of the table,
   * and the map lives and dies with this object instance, so it never disagrees with storage.
   */
  private readonly jsonBySid = new Map<string, string>();

  /** Runs a query, creating this store's tables on first use; see lazy-schema.ts. */
  private readonly exec: SqlStorage['exec'];

  constructor(sql: SqlStorage) {
    this.exec = lazySchema(sql, [
      `CREATE TABLE IF NOT EXISTS participants (
      sid TEXT PRIMARY KEY,
      room_sid TEXT NOT NULL,
      identity TEXT NOT NULL,
      status TEXT NOT NULL,
      session TEXT NOT NULL,
      connected_at INTEGER NOT NULL,
      json TEXT NOT NULL
    )`,
      'CREATE INDEX IF NOT EXISTS participants_by_room ON participants (room_sid, status)',
      'CREATE INDEX IF NOT EXISTS participants_by_session ON participants (session)',
    ]);
  }

  save(p: ParticipantRecord): void {
    const json = JSON.stringify(p);
    this.exec(
      `INSERT INTO participants (sid, room_sid, identity, status, session, connected_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET status = excluded.status, session = excluded.session, json = excluded.json`,
      p.sid,
      p.roomSid,
      p.identity,
      p.status,
      p.session,
      p.connectedAt,
      json,
    );
    this.jsonBySid.set(p.sid, json);
  }

  get(sid: string): ParticipantRecord | null {
    let json = this.jsonBySid.get(sid);
    if (json === undefined) {
      json = this.exec<{ json: string }>('SELECT json FROM participants WHERE sid = ?', sid).toArray()[0]?.json;
      if (json === undefined) return null;
      this.jsonBySid.set(sid, json);
    }
    return JSON.parse(json) as ParticipantRecord;
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

  /**
   * The participant of the room with this identity: the one connected (or reconnecting) now, else
   * the one that connected last.
   */
  byIdentity(roomSid: string, identity: string): ParticipantRecord | null {
    return this.one(
      `SELECT json FROM participants WHERE room_sid = ? AND identity = ?
       ORDER BY status = 'disconnected', connected_at DESC, sid DESC LIMIT 1`,
      roomSid,
      identity,
    );
  }

  /**
   * One page of the room's participants, newest first; pageSize + 1 rows so the caller knows
   * whether more follow. Reconnecting participants are never `reconnecting` over REST (they keep
   * their place and tracks), so that filter matches nothing.
   */
  list(roomSid: string, query: ParticipantQuery): ParticipantRecord[] {
    const where = ['room_sid = ?'];
    const args: (string | number)[] = [roomSid];
    if (query.status === 'disconnected') where.push("status = 'disconnected'");
    else if (query.status === 'connected') where.push("status IN ('connected', 'reconnecting')");
    else return [];
    if (query.identity !== undefined) {
      where.push('identity = ?');
      args.push(query.identity);
    }
    if (query.createdAfter !== undefined) {
      where.push('connected_at >= ?');
      args.push(query.createdAfter);
    }
    if (query.createdBefore !== undefined) {
      where.push('connected_at < ?');
      args.push(query.createdBefore);
    }
    if (query.after) {
      where.push('(connected_at < ? OR (connected_at = ? AND sid < ?))');
      args.push(query.after.dateCreated, query.after.dateCreated, query.after.sid);
    }
    args.push(query.pageSize + 1, query.after ? 0 : query.offset);
    return this.many(
      `SELECT json FROM participants WHERE ${where.join(' AND ')} ORDER BY connected_at DESC, sid DESC LIMIT ? OFFSET ?`,
      ...args,
    );
  }

  /** Every participant the room has had, in order of arrival. */
  all(roomSid: string): ParticipantRecord[] {
    return this.many('SELECT json FROM participants WHERE room_sid = ? ORDER BY connected_at, sid', roomSid);
  }

  /** Deletes every participant the room had (retention.ts). */
  purgeRoom(roomSid: string): void {
    const gone = this.exec<{ sid: string }>('DELETE FROM participants WHERE room_sid = ? RETURNING sid', roomSid).toArray();
    for (const { sid } of gone) this.jsonBySid.delete(sid);
  }

  private one(query: string, ...args: (string | number)[]): ParticipantRecord | null {
    const row = this.exec<{ json: string }>(query, ...args).toArray()[0];
    return row ? (JSON.parse(row.json) as ParticipantRecord) : null;
  }

  private many(query: string, ...args: (string | number)[]): ParticipantRecord[] {
    return this
      .exec<{ json: string }>(query, ...args)
      .toArray()
      .map((r) => JSON.parse(r.json) as ParticipantRecord);
  }
}
