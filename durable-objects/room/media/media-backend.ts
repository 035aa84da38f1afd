import type { ParticipantRecord } from '../participants/participant-record';
import type { Subscription } from '../participants/subscribe-rules';
import type { Outgoing } from '../signaling/outgoing';
import type { PeerConnectionEntry } from '../signaling/protocol';

/**
 * How a room's media flows, as the signaling sees it. The Room object alone decides who is in the
 * room and who may receive what (participants/); a backend carries the peer connections that make
 * it so, and says when a participant's `subscribed` changes:
 * - mesh/ (peer-to-peer and go rooms): one connection per pair of participants, relayed untouched;
 * - sfu/ (group and group-small rooms): one connection per participant, ending at a media server.
 *
 * Methods run inside one synchronous step of the room; what they must send with the step's other
 * updates goes into `out`. A backend with work that cannot finish in the step (a media server is
 * called over HTTP) does it afterwards and sends its own updates when it is done.
 */
export interface MediaBackend {
  /** Refuses (53004) the initial connections of a joining client before anything is stored. */
  checkJoin(entries: PeerConnectionEntry[]): void;

  /**
   * `p` joined and is saved; `others` were already present. Returns the entries of its `connected`
   * and puts into `out` what each of the others must be told about connections.
   */
  join(p: ParticipantRecord, entries: PeerConnectionEntry[], others: ParticipantRecord[], out: Outgoing): PeerConnectionEntry[];

  /** Peer connection entries `p` sent (in `update` or `sync`); 53004 for a connection not its own. */
  receive(p: ParticipantRecord, entries: PeerConnectionEntry[]): void;

  /** What `p` receives now: the tracks its last `subscribed` listed. */
  subscriptions(p: ParticipantRecord, present: readonly ParticipantRecord[]): Subscription[];

  /**
   * What `subscribers` may receive has changed (tracks published or removed, rules, arrivals and
   * departures). Each gets a new `subscribed`, in `out` or once its media follows.
   */
  resubscribe(subscribers: readonly ParticipantRecord[], present: readonly ParticipantRecord[], out: Outgoing): void;

  /** Every live connection of `p`, with what it may have missed, for its `synced`. */
  syncStates(p: ParticipantRecord): PeerConnectionEntry[];

  /**
   * The media-signaling features served to `p` (dominant speaker, network quality, track
   * switch-off…), as `connected` and later messages announce them: `{<feature>: {transport}}`, or
   * undefined when the backend serves none (peer-to-peer rooms have no server to serve them).
   */
  mediaSignaling(p: ParticipantRecord): Record<string, unknown> | undefined;

  /** `p` sent a new bandwidth profile (saved on its record). */
  profileChanged(p: ParticipantRecord): void;

  /** `p` left (or was removed): its connections end; `out` gets what the `remaining` are told. */
  leave(p: ParticipantRecord, remaining: readonly ParticipantRecord[], out: Outgoing): void;

  /** The room ended: every connection of it ends. */
  roomEnded(roomSid: string): void;

  /** Resolves once the media work queued for `participantSid` is done (or `timeoutMs` passed). */
  settled(participantSid: string, timeoutMs: number): Promise<void>;

  /** Runs a due deadline of the backend's; false when the key is not its own. */
  onDeadline(key: string, now: number): Promise<boolean>;
}

/** A participant's `subscribed`, as `connected`, `synced` and `update` carry it. */
export function subscribedState(p: ParticipantRecord, subscriptions: readonly Subscription[]) {
  return { revision: p.subscribedRevision, tracks: subscriptions.map(({ track }) => ({ sid: track.sid, id: track.id })) };
}
