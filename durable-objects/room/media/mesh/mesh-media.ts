import { TwilioError } from '../../../../core/errors';
import type { ParticipantRecord } from '../../participants/participant-record';
import type { ParticipantStore } from '../../participants/participant-store';
import type { Subscription } from '../../participants/subscribe-rules';
import { subscriptionsOf } from '../../participants/subscribe-rules';
import type { Outgoing } from '../../signaling/outgoing';
import type { PeerConnectionEntry } from '../../signaling/protocol';
import type { Sockets } from '../../signaling/sockets';
import type { MediaBackend } from '../media-backend';
import { subscribedState } from '../media-backend';
import { PairStore } from './pair-store';

/**
 * The peer-to-peer mesh. The client has no notion of topology: it opens a peer connection for every
 * id it is told about. When N joins, each existing participant E is told to `create-offer` on a
 * fresh id for the pair (E, N); N's own initial offer is closed. Every entry on a pair's id is then
 * relayed, untouched, to the other member. The server settles glare: while one member's offer is
 * unanswered, an offer from the other member is dropped; the client's own glare handling then rolls
 * back, answers the first offer and offers again. Relaying both offers instead lets the two
 * clients' rollbacks ping-pong for hundreds of messages.
 *
 * Media never passes through Atrium, so what a participant receives is decided by its own client:
 * `subscribed` tells it which of the tracks it is sent to attach, and changes with the step that
 * changed it.
 */
export class MeshMedia implements MediaBackend {
  private readonly pairs: PairStore;

  constructor(
    sql: SqlStorage,
    private readonly sockets: Sockets,
    private readonly participants: ParticipantStore,
  ) {
    this.pairs = new PairStore(sql);
  }

  checkJoin(entries: PeerConnectionEntry[]): void {
    this.checkInitial(entries);
  }

  /** The newcomer's own offers are closed; each participant already present is told to offer to it. */
  join(p: ParticipantRecord, entries: PeerConnectionEntry[], others: ParticipantRecord[], out: Outgoing): PeerConnectionEntry[] {
    const closed = this.retireInitial(p.sid, p.roomSid, entries);
    for (const other of others) out.addPeerConnections(other.sid, [this.pairUp(p.roomSid, other.sid, p.sid)]);
    return closed;
  }

  receive(p: ParticipantRecord, entries: PeerConnectionEntry[]): void {
    for (const entry of entries) this.relay(p.sid, entry);
  }

  subscriptions(p: ParticipantRecord, present: readonly ParticipantRecord[]): Subscription[] {
    return subscriptionsOf(p, present);
  }

  resubscribe(subscribers: readonly ParticipantRecord[], present: readonly ParticipantRecord[], out: Outgoing): void {
    for (const s of subscribers) {
      s.subscribedRevision += 1;
      this.participants.save(s);
      out.to(s.sid).subscribed = subscribedState(s, subscriptionsOf(s, present));
    }
  }

  /** Peers send each other media directly: there is nobody to measure or switch anything. */
  mediaSignaling(): undefined {
    return undefined;
  }

  profileChanged(): void {}

  leave(p: ParticipantRecord, _remaining: readonly ParticipantRecord[], out: Outgoing): void {
    for (const [other, close] of this.closeAllFor(p.sid)) out.addPeerConnections(other, [close]);
  }

  /** Every pair of the room ends, and its rows go: no socket of the room is left to send on them. */
  roomEnded(roomSid: string): void {
    this.pairs.deleteRoom(roomSid);
  }

  /** Retention (retention.ts): whatever is left of the room's pairs. */
  purgeRoom(roomSid: string): void {
    this.pairs.deleteRoom(roomSid);
  }

  async settled(): Promise<void> {}

  async onDeadline(): Promise<boolean> {
    return false;
  }

  /**
   * Refuses (53004) a joining client's initial ids that are already known: it owns no pair yet, so
   * any known id belongs to someone else. Lets a connect be refused before it changes anything.
   */
  private checkInitial(entries: PeerConnectionEntry[]): void {
    for (const entry of entries) {
      if (this.pairs.get(entry.id)) throw new TwilioError(53004, 'Client sent an invalid signaling message: peer connection id is already in use');
    }
  }

  /**
   * Closes the peer connections a joining client offered on before it knew anyone. They are kept
   * as closed pairs of the participant with itself, so trickled ICE for them is ignored.
   */
  private retireInitial(participantSid: string, roomSid: string, entries: PeerConnectionEntry[]): PeerConnectionEntry[] {
    const closed: PeerConnectionEntry[] = [];
    for (const entry of entries) {
      const existing = this.pairs.get(entry.id);
      if (existing && existing.a !== participantSid && existing.b !== participantSid) {
        throw new TwilioError(53004, 'Client sent an invalid signaling message: peer connection id is already in use');
      }
      if (!existing) {
        this.pairs.create(entry.id, roomSid, participantSid, participantSid);
        this.pairs.close(entry.id);
      }
      closed.push({ id: entry.id, description: { type: 'close', revision: entry.description?.revision ?? 1 } });
    }
    return closed;
  }

  /** Opens the pair (offerer, answerer) and returns the entry that tells the offerer to offer. */
  private pairUp(roomSid: string, offerer: string, answerer: string): PeerConnectionEntry {
    const id = crypto.randomUUID();
    this.pairs.create(id, roomSid, offerer, answerer);
    return { id, description: { type: 'create-offer', revision: 1 } };
  }

  /** Relays one entry from `from` to the other member of its pair. */
  private relay(from: string, entry: PeerConnectionEntry): void {
    const pair = this.pairs.get(entry.id);
    if (!pair || (pair.a !== from && pair.b !== from)) {
      throw new TwilioError(53004, `Client sent an invalid signaling message: peer connection ${entry.id.slice(0, 64)} is not one of yours`);
    }
    if (pair.closed) return; // late ICE or a close racing ours
    const to = pair.a === from ? pair.b : pair.a;
    let out: PeerConnectionEntry = entry;
    const d = entry.description;
    if (d) {
      switch (d.type) {
        case 'offer':
          if (pair.pendingFrom !== null && pair.pendingFrom !== from) {
            out = withoutDescription(entry); // glare: the first offer stands
          } else {
            this.pairs.setPending(pair.id, from, d.revision);
          }
          break;
        case 'answer':
          if (pair.pendingFrom === to && d.revision >= pair.pendingRevision) this.pairs.setPending(pair.id, null, 0);
          break;
        case 'pranswer':
          break;
        case 'close':
          this.pairs.close(pair.id);
          break;
        default:
          // create-offer is the server's to send; rollback is local to the client.
          out = withoutDescription(entry);
      }
    }
    if (!out.description && !out.ice) return;
    const delivered = this.sockets.sendTo(to, { type: 'update', peer_connections: [out] });
    // What is remembered is what `synced` hands a member that was away. Descriptions are the pair's
    // state: always kept. ICE is the hot path (a trickle of updates per connection) and each entry
    // carries every candidate gathered so far for its ufrag, so the latest one a member could not
    // be sent is all it needs: kept only then. (The output gate holds the send until the write, if
    // any, is stored.)
    if (out.description || !delivered) this.pairs.remember(pair, from, out);
  }

  /** Closes every open pair of `participant`; returns, per other member, the close to send it. */
  private closeAllFor(participant: string): Map<string, PeerConnectionEntry> {
    const closes = new Map<string, PeerConnectionEntry>();
    for (const pair of this.pairs.openFor(participant)) {
      this.pairs.close(pair.id);
      const other = pair.a === participant ? pair.b : pair.a;
      closes.set(other, { id: pair.id, description: { type: 'close', revision: pair.pendingRevision + 1 } });
    }
    return closes;
  }

  /**
   * The peer connections a reconnecting participant must keep, for `synced`: each open pair's id,
   * with what the other member last sent (an offer or answer it may have missed, and its ICE), and
   * `create-offer` where it was told to offer but no offer has passed yet.
   */
  syncStates(p: ParticipantRecord): PeerConnectionEntry[] {
    const participant = p.sid;
    return this.pairs.openFor(participant).map((pair) => {
      const other = pair.a === participant ? pair.b : pair.a;
      const entry = { id: pair.id, ...this.pairs.lastFrom(pair, other) } as PeerConnectionEntry;
      if (!pair.negotiated && pair.a === participant) entry.description = { type: 'create-offer', revision: 1 };
      return entry;
    });
  }
}

function withoutDescription(entry: PeerConnectionEntry): PeerConnectionEntry {
  const { description: _dropped, ...rest } = entry;
  return rest as PeerConnectionEntry;
}
