import { lazySchema } from '../../lazy-schema';
import type { PeerConnectionEntry } from '../../signaling/protocol';

/** A participant's media session: its one peer connection, held by a media server. */
export interface MediaSession {
  participantSid: string;
  roomSid: string;
  /** Base URL of the media server that holds it. */
  server: string;
  /** The session's id at the media server: `<participant sid>.<generation>`. */
  id: string;
  /** The peer connection id the client knows it by. */
  pc: string;
  /** Bumped each time the participant is moved to a new session. */
  generation: number;
  /** What the client was last sent on `pc` (offer, answer, create-offer), restated in `synced`. */
  sent: PeerConnectionEntry['description'] | null;
  /** What the participant receives, as last confirmed by the media server: publisher and track sids. */
  subscribed: { publisher: string; track: string }[];
}

type Row = {
  participant_sid: string;
  room_sid: string;
  server: string;
  id: string;
  pc: string;
  generation: number;
  sent: string | null;
  subscribed: string;
};

/**
 * The Room object's record of its participants' media sessions, and of which media server each
 * room is on (all of a room's sessions are on one server, which forwards between them). Every
 * peer connection id a participant was given is kept while the room is in progress, so late
 * messages for a replaced connection are told apart from another participant's; a session goes
 * when its participant leaves, and the rest when the room ends.
 */
export class SessionStore {
  private readonly exec: SqlStorage['exec'];

  constructor(sql: SqlStorage) {
    this.exec = lazySchema(sql, [
      `CREATE TABLE IF NOT EXISTS media_sessions (
        participant_sid TEXT PRIMARY KEY,
        room_sid TEXT NOT NULL,
        server TEXT NOT NULL,
        id TEXT NOT NULL,
        pc TEXT NOT NULL,
        generation INTEGER NOT NULL,
        sent TEXT,
        subscribed TEXT NOT NULL DEFAULT '[]'
      )`,
      'CREATE INDEX IF NOT EXISTS media_sessions_by_room ON media_sessions (room_sid)',
      'CREATE TABLE IF NOT EXISTS media_pcs (pc TEXT PRIMARY KEY, participant_sid TEXT NOT NULL)',
      'CREATE TABLE IF NOT EXISTS media_rooms (room_sid TEXT PRIMARY KEY, server TEXT NOT NULL)',
    ]);
  }

  get(participantSid: string): MediaSession | null {
    const row = this.exec<Row>('SELECT * FROM media_sessions WHERE participant_sid = ?', participantSid).toArray()[0];
    return row ? fromRow(row) : null;
  }

  /** Open sessions of a room. */
  ofRoom(roomSid: string): MediaSession[] {
    return this.exec<Row>('SELECT * FROM media_sessions WHERE room_sid = ? ORDER BY rowid', roomSid).toArray().map(fromRow);
  }

  /** Rooms with open sessions, and the server each is on. */
  rooms(): { roomSid: string; server: string }[] {
    return this.exec<{ room_sid: string; server: string }>(
      'SELECT DISTINCT s.room_sid, r.server FROM media_sessions s JOIN media_rooms r ON r.room_sid = s.room_sid',
    )
      .toArray()
      .map((r) => ({ roomSid: r.room_sid, server: r.server }));
  }

  /** Starts (or replaces) a participant's session. */
  open(s: Omit<MediaSession, 'sent' | 'subscribed'> & Partial<Pick<MediaSession, 'subscribed'>>): MediaSession {
    const session: MediaSession = { sent: null, subscribed: [], ...s };
    this.exec(
      `INSERT INTO media_sessions (participant_sid, room_sid, server, id, pc, generation, sent, subscribed) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
       ON CONFLICT(participant_sid) DO UPDATE SET server = excluded.server, id = excluded.id, pc = excluded.pc,
         generation = excluded.generation, sent = NULL, subscribed = excluded.subscribed`,
      session.participantSid,
      session.roomSid,
      session.server,
      session.id,
      session.pc,
      session.generation,
      JSON.stringify(session.subscribed),
    );
    this.claimPc(session.pc, session.participantSid);
    return session;
  }

  close(participantSid: string): void {
    this.exec('DELETE FROM media_sessions WHERE participant_sid = ?', participantSid);
  }

  closeRoom(roomSid: string): void {
    this.exec('DELETE FROM media_sessions WHERE room_sid = ?', roomSid);
  }

  /**
   * Deletes everything kept for a room that ended: its sessions, its server, and the peer
   * connection ids of `participantSids` (all the participants it had; no socket of theirs is left
   * to send on them). Also retention's purge (retention.ts).
   */
  purgeRoom(roomSid: string, participantSids: readonly string[]): void {
    this.closeRoom(roomSid);
    this.exec('DELETE FROM media_rooms WHERE room_sid = ?', roomSid);
    if (participantSids.length) this.exec('DELETE FROM media_pcs WHERE participant_sid IN (SELECT value FROM json_each(?))', JSON.stringify(participantSids));
  }

  setSent(participantSid: string, description: PeerConnectionEntry['description']): void {
    this.exec('UPDATE media_sessions SET sent = ? WHERE participant_sid = ?', JSON.stringify(description), participantSid);
  }

  setSubscribed(participantSid: string, subscribed: MediaSession['subscribed']): void {
    this.exec('UPDATE media_sessions SET subscribed = ? WHERE participant_sid = ?', JSON.stringify(subscribed), participantSid);
  }

  /** Records that `pc` belongs to `participantSid` (while the room lasts: ids are never handed to anyone else). */
  claimPc(pc: string, participantSid: string): void {
    this.exec('INSERT INTO media_pcs (pc, participant_sid) VALUES (?, ?) ON CONFLICT(pc) DO NOTHING', pc, participantSid);
  }

  /** Who a peer connection id belongs to, if anyone. */
  ownerOfPc(pc: string): string | null {
    return this.exec<{ participant_sid: string }>('SELECT participant_sid FROM media_pcs WHERE pc = ?', pc).toArray()[0]?.participant_sid ?? null;
  }

  serverOf(roomSid: string): string | null {
    return this.exec<{ server: string }>('SELECT server FROM media_rooms WHERE room_sid = ?', roomSid).toArray()[0]?.server ?? null;
  }

  setServer(roomSid: string, server: string): void {
    this.exec('INSERT INTO media_rooms (room_sid, server) VALUES (?, ?) ON CONFLICT(room_sid) DO UPDATE SET server = excluded.server', roomSid, server);
  }
}

function fromRow(r: Row): MediaSession {
  return {
    participantSid: r.participant_sid,
    roomSid: r.room_sid,
    server: r.server,
    id: r.id,
    pc: r.pc,
    generation: r.generation,
    sent: r.sent ? (JSON.parse(r.sent) as MediaSession['sent']) : null,
    subscribed: JSON.parse(r.subscribed) as MediaSession['subscribed'],
  };
}
