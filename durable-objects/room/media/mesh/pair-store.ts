import { lazySchema } from '../../lazy-schema';
import type { PeerConnectionEntry } from '../../signaling/protocol';

/**
 * Peer connections of the peer-to-peer mesh: one per pair of participants, known by the id the
 * server chose when it told member `a` to `create-offer`. The latest description and ICE state
 * each member sent are kept, so a member that was reconnecting when they were relayed gets them
 * again in `synced` (the client ignores any it has already applied: revisions only go up).
 */
export interface Pair {
  id: string;
  roomSid: string;
  /** The member told to create the first offer. */
  a: string;
  b: string;
  /** Participant whose offer is unanswered (glare guard), and that offer's revision. */
  pendingFrom: string | null;
  pendingRevision: number;
  /** Whether any offer has passed yet. */
  negotiated: boolean;
  /**
   * Closed pairs are kept, without their descriptions and ICE, while the room is in progress, so
   * late ICE for them is ignored rather than treated as hostile; they go when the room ends.
   */
  closed: boolean;
}

type PairRow = {
  id: string;
  room_sid: string;
  a: string;
  b: string;
  pending_from: string | null;
  pending_revision: number;
  negotiated: number;
  closed: number;
};

export class PairStore {
  /**
   * Pairs by id, written through by every method that changes a column of Pair: every relayed
   * message looks its pair up, and a map lookup is far cheaper than a query. get() hands out
   * copies, as reading the row did. The map lives and dies with this object instance.
   */
  private readonly byId = new Map<string, Pair>();

  /** Runs a query, creating this store's tables on first use; see lazy-schema.ts. */
  private readonly exec: SqlStorage['exec'];

  constructor(sql: SqlStorage) {
    this.exec = lazySchema(sql, [
      `CREATE TABLE IF NOT EXISTS pairs (
      id TEXT PRIMARY KEY,
      room_sid TEXT NOT NULL,
      a TEXT NOT NULL,
      b TEXT NOT NULL,
      pending_from TEXT,
      pending_revision INTEGER NOT NULL DEFAULT 0,
      negotiated INTEGER NOT NULL DEFAULT 0,
      closed INTEGER NOT NULL DEFAULT 0,
      desc_a TEXT,
      desc_b TEXT,
      ice_a TEXT,
      ice_b TEXT
    )`,
      'CREATE INDEX IF NOT EXISTS pairs_by_a ON pairs (a, closed)',
      'CREATE INDEX IF NOT EXISTS pairs_by_b ON pairs (b, closed)',
    ]);
  }

  create(id: string, roomSid: string, a: string, b: string): void {
    this.exec('INSERT INTO pairs (id, room_sid, a, b) VALUES (?, ?, ?, ?)', id, roomSid, a, b);
    this.byId.set(id, { id, roomSid, a, b, pendingFrom: null, pendingRevision: 0, negotiated: false, closed: false });
  }

  get(id: string): Pair | null {
    const cached = this.byId.get(id);
    if (cached) return { ...cached };
    const row = this
      .exec<PairRow>('SELECT id, room_sid, a, b, pending_from, pending_revision, negotiated, closed FROM pairs WHERE id = ?', id)
      .toArray()[0];
    if (!row) return null;
    const pair: Pair = {
      id: row.id,
      roomSid: row.room_sid,
      a: row.a,
      b: row.b,
      pendingFrom: row.pending_from,
      pendingRevision: row.pending_revision,
      negotiated: row.negotiated === 1,
      closed: row.closed === 1,
    };
    this.byId.set(id, pair);
    return { ...pair };
  }

  /** Open pairs that include `participant`, oldest first. */
  openFor(participant: string): Pair[] {
    return this
      .exec<{ id: string }>('SELECT id FROM pairs WHERE closed = 0 AND (a = ? OR b = ?) ORDER BY rowid', participant, participant)
      .toArray()
      .map((r) => this.get(r.id)!);
  }

  setPending(id: string, from: string | null, revision: number): void {
    this.exec(
      'UPDATE pairs SET pending_from = ?, pending_revision = ?, negotiated = negotiated OR ? WHERE id = ?',
      from,
      revision,
      from === null ? 0 : 1,
      id,
    );
    const cached = this.byId.get(id);
    if (cached) this.byId.set(id, { ...cached, pendingFrom: from, pendingRevision: revision, negotiated: cached.negotiated || from !== null });
  }

  /** Remembers what `member` last sent on the pair. */
  remember(pair: Pair, member: string, entry: PeerConnectionEntry): void {
    const side = member === pair.a ? 'a' : 'b';
    if (entry.description) {
      this.exec(`UPDATE pairs SET desc_${side} = ? WHERE id = ?`, JSON.stringify(entry.description), pair.id);
    }
    if (entry.ice) this.exec(`UPDATE pairs SET ice_${side} = ? WHERE id = ?`, JSON.stringify(entry.ice), pair.id);
  }

  /** What `member` last sent on the pair. */
  lastFrom(pair: Pair, member: string): { description?: unknown; ice?: unknown } {
    const side = member === pair.a ? 'a' : 'b';
    const row = this
      .exec<{ d: string | null; i: string | null }>(`SELECT desc_${side} AS d, ice_${side} AS i FROM pairs WHERE id = ?`, pair.id)
      .toArray()[0];
    const out: { description?: unknown; ice?: unknown } = {};
    if (row?.d) out.description = JSON.parse(row.d);
    if (row?.i) out.ice = JSON.parse(row.i);
    return out;
  }

  /** Closes a pair: what its members sent is deleted; the row stays as a marker (see `closed`). */
  close(id: string): void {
    this.exec('UPDATE pairs SET closed = 1, pending_from = NULL, desc_a = NULL, desc_b = NULL, ice_a = NULL, ice_b = NULL WHERE id = ?', id);
    const cached = this.byId.get(id);
    if (cached) this.byId.set(id, { ...cached, closed: true, pendingFrom: null });
  }

  /** Deletes every pair of the room, open or closed: the room ended, or is purged. */
  deleteRoom(roomSid: string): void {
    this.exec('DELETE FROM pairs WHERE room_sid = ?', roomSid);
    for (const [id, pair] of this.byId) if (pair.roomSid === roomSid) this.byId.delete(id);
  }
}
