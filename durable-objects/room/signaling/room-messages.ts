import { accountsOf } from '../../../core/accounts';
import { TwilioError } from '../../../core/errors';
import { checkRoomName } from '../../../core/room-params';
import { newSid } from '../../../core/sids';
import type { VideoToken } from '../../../core/tokens/verify-token';
import { verifyAccessToken } from '../../../core/tokens/verify-token';
import { failureOverLimit, TOO_MANY_TOKEN_FAILURES, tokenBlocks, tooManyRequests } from '../../../core/rate-limit';
import { subscribedState } from '../media/media-backend';
import type { ParticipantRecord } from '../participants/participant-record';
import { participantState, publishedState } from '../participants/participant-record';
import type { SubscribeRule } from '../participants/subscribe-rules';
import { DEFAULT_SUBSCRIBE_RULES } from '../participants/subscribe-rules';
import type { TrackChange } from '../participants/tracks';
import { applyClientState, applyTracks, changesSubscriptions } from '../participants/tracks';
import type { RoomRecord } from '../../../core/room-record';
import { isGroupType } from '../../../core/room-record';
import type { SignalingContext } from './context';
import type { Departures } from './departures';
import { MAX_DURATION_PREFIX, RECONNECT_PREFIX } from './departures';
import { iceServersFor } from './ice-servers';
import { Outgoing } from './outgoing';
import type { Presence } from './presence';
import type { ClientParticipant, PeerConnectionEntry, RoomMessage } from './protocol';
import type { SocketAttachment } from './sockets';

type Connect = Extract<RoomMessage, { type: 'connect' }>;
type Sync = Extract<RoomMessage, { type: 'sync' }>;

/**
 * The room layer of twilio-video's protocol: `ice`, `connect`, `update`, `sync` and `disconnect`,
 * turned into changes of the room's participants and handed to the room's media backend.
 *
 * Every handler reads what it needs from storage or the socket's attachment, so the object may
 * hibernate between any two messages. Checks and the writes they guard run with no await in
 * between (Durable Objects deliver no other event while code runs synchronously), so races such as
 * 100 clients joining a room with 50 places resolve exactly.
 */
export class RoomMessages {
  constructor(
    private readonly c: SignalingContext,
    private readonly presence: Presence,
    private readonly departures: Departures,
  ) {}

  async handle(ws: WebSocket, a: SocketAttachment, m: RoomMessage): Promise<void> {
    const { c } = this;
    switch (m.type) {
      case 'ice': {
        const token = await this.verify(m.token, a.roomName, a.accountSid, a.clientAddress);
        c.sockets.update(ws, { identity: token.identity });
        c.sockets.sendMsg(ws, { type: 'iced', ice_servers: await iceServersFor(c.env, token.identity) });
        return;
      }
      case 'connect':
        return this.connect(ws, a, m);
      case 'sync':
        return this.sync(ws, a, m);
      case 'update': {
        let p = this.boundParticipant(a);
        if (m.participant) this.applyParticipant(p, m.participant);
        if (m.bandwidthProfile) {
          p = c.participants.get(p.sid) ?? p;
          p.bandwidthProfile = m.bandwidthProfile;
          c.participants.save(p);
          c.media(p.roomSid).profileChanged(p);
        }
        // Re-read: applying the participant state may have saved a newer copy.
        c.media(p.roomSid).receive(c.participants.get(p.sid) ?? p, m.peerConnections);
        return;
      }
      case 'disconnect': {
        const p = a.participantSid ? c.participants.get(a.participantSid) : null;
        c.sockets.update(ws, { participantSid: null });
        // Closed before leaving: if this was the last participant, the room ends in leave(), and
        // an open socket with no participant would be told `disconnected: completed` (53118 on
        // the client) after it had already left.
        c.sockets.close(ws, 1000, 'disconnected');
        if (p && p.status !== 'disconnected') {
          c.sockets.unbind(p.sid, ws);
          this.departures.leave(p);
        }
        return;
      }
    }
  }

  /**
   * REST subscribe rules: replaces `sid`'s rules; the media backend sends it what it receives now,
   * under a new `subscribed` revision. Null when the participant is gone. A reconnecting participant
   * gets the new set in its `synced`.
   */
  setSubscribeRules(sid: string, rules: SubscribeRule[]): ParticipantRecord | null {
    const { c } = this;
    const p = c.participants.get(sid);
    if (!p || p.status === 'disconnected') return null;
    p.subscribeRules = rules;
    c.participants.save(p);
    const out = new Outgoing();
    c.media(p.roomSid).resubscribe([p], c.participants.present(p.roomSid), out);
    out.flush(c.sockets);
    return c.participants.get(sid);
  }

  private async connect(ws: WebSocket, a: SocketAttachment, m: Connect): Promise<void> {
    const { c } = this;
    if (a.participantSid) throw new TwilioError(53004, 'Client sent an invalid signaling message: already connected');
    if (m.name !== a.roomName) {
      throw new TwilioError(53104, 'Unable to connect to Room: the room name does not match the signaling URL');
    }
    checkRoomName(m.name);
    const token = await this.verify(m.token, a.roomName, a.accountSid, a.clientAddress);
    // Before an ad-hoc room is started for this join, so a refused connect leaves no empty room
    // behind. join() checks again, against a connect racing this one with the same id (and for a
    // room started here, whose type decides which media backend checks).
    const current = c.store.current();
    if (current) c.media(current.sid).checkJoin(m.peerConnections);
    // From here to the end of the join nothing yields but startAdHocRoom, which re-checks after its
    // one await; so the checks in join() hold for the writes that follow them.
    let room = current;
    let created = false;
    if (!room) {
      room = await c.startAdHocRoom(a.accountSid, a.roomName);
      created = true;
    }
    let joined = false;
    try {
      if (ws.readyState === WebSocket.OPEN) {
        this.join(ws, a, m, token, room);
        joined = true;
      }
    } finally {
      // An ad-hoc room started for a join that then failed (refused, or its socket closed
      // meanwhile) would have nobody in it and no timeout to end it: end it now.
      if (created && !joined) this.endIfEmptyAdHoc(room);
      if (created) await c.publishRoom();
    }
  }

  /** The synchronous part of a connect: checks that need the room, then the join itself. */
  private join(ws: WebSocket, a: SocketAttachment, m: Connect, token: VideoToken, room: RoomRecord): void {
    const { c } = this;
    const now = Date.now();

    // A second connection with a connected identity takes over; the first is told 53205.
    let others = c.participants.present(room.sid);
    if (others.some((other) => other.identity === token.identity)) {
      for (const other of others) {
        if (other.identity === token.identity) {
          // The newcomer takes the place at once, so this leave must not count as the room emptying.
          this.departures.kick(other, new TwilioError(53205, 'Participant disconnected because of duplicate identity'), { replaced: true });
        }
      }
      // Read again only then: a departure changes the others' records as well as the list.
      others = c.participants.present(room.sid);
    }
    if (others.length >= room.maxParticipants) {
      throw new TwilioError(53105, `Room contains too many Participants: at most ${room.maxParticipants}`);
    }

    const p: ParticipantRecord = {
      sid: newSid('PA'),
      roomSid: room.sid,
      identity: token.identity,
      status: 'connected',
      session: crypto.randomUUID(),
      conn: a.conn,
      revision: 1,
      clientRevision: m.participant.revision,
      publishedRevision: 1,
      subscribedRevision: 1,
      tracks: [],
      failed: [],
      subscribeRules: initialSubscribeRules(room, m.subscribeRules),
      mediaSignaling: m.mediaSignaling,
      ...(m.bandwidthProfile ? { bandwidthProfile: m.bandwidthProfile } : {}),
      connectedAt: now,
      disconnectedAt: null,
    };
    const change = applyTracks(p, m.participant.tracks, room, now);
    const media = c.media(room.sid);
    // The join's last check (a connection id already in use is a 53004) runs before anything is
    // saved or announced: a refused connect must leave no participant behind, whose departure the
    // others would be told about without ever having seen it arrive.
    media.checkJoin(m.peerConnections);
    c.participants.save(p);
    c.sockets.bind(ws, p.sid);
    c.lifecycle.participantJoined();
    c.scheduler.set(MAX_DURATION_PREFIX + p.sid, now + room.maxParticipantDuration * 1000);
    this.presence.ensureSweep(now);
    c.events.participantConnected(room, p);
    for (const t of change.added) c.events.trackAdded(room, p, t);

    const out = new Outgoing();
    for (const other of others) out.to(other.sid).participants = [participantState(p)];
    const entries = media.join(p, m.peerConnections, others, out);
    // Built once for all of them, without reading the room again: each `subscribed` would
    // otherwise query and parse every participant, O(N²) per join. Bumping a revision changes
    // neither the set nor its tracks.
    const present = withNewcomer(others, p);
    media.resubscribe(others, present, out);
    out.flush(c.sockets);
    c.sockets.sendMsg(ws, this.fullState('connected', p, room, others, entries, present));
  }

  /** Ends `room` if it is the ad-hoc room in progress and nobody is in it. */
  private endIfEmptyAdHoc(room: RoomRecord): void {
    const { c } = this;
    const current = c.store.current();
    if (current?.sid === room.sid && current.adHoc && c.participants.present(room.sid).length === 0) {
      c.lifecycle.end(current, 'empty-timeout');
    }
  }

  private async sync(ws: WebSocket, a: SocketAttachment, m: Sync): Promise<void> {
    const { c } = this;
    const token = await this.verify(m.token, a.roomName, a.accountSid, a.clientAddress);
    const p = c.participants.bySession(m.session);
    const room = c.store.current();
    if (!p || !room || p.roomSid !== room.sid || p.status === 'disconnected') {
      throw new TwilioError(53002, 'Signaling connection timed out: the session expired or is unknown');
    }
    if (p.identity !== token.identity) throw new TwilioError(20103, 'Invalid Access Token issuer/subject: the token is for another identity');
    if (ws.readyState !== WebSocket.OPEN) return;

    // The previous socket, if the server still holds it, is replaced.
    const old = c.sockets.of(p.sid);
    if (old && old !== ws) {
      c.sockets.update(old, { participantSid: null });
      c.sockets.close(old, 1000, 'replaced by a newer connection');
    }
    const wasReconnecting = p.status === 'reconnecting';
    p.status = 'connected';
    p.conn = a.conn;
    if (wasReconnecting) p.revision += 1;
    p.publishedRevision += 1;
    p.subscribedRevision += 1;
    const change = m.participant && m.participant.revision > p.clientRevision ? applyClientState(c.events, p, m.participant, room) : null;
    c.participants.save(p);
    c.sockets.bind(ws, p.sid);
    c.scheduler.clear(RECONNECT_PREFIX + p.sid);
    this.presence.ensureSweep(Date.now());

    const media = c.media(room.sid);
    const others = c.participants.present(room.sid).filter((o) => o.sid !== p.sid);
    if (wasReconnecting || change?.visibleChanged) this.announce(p, others, change);
    c.sockets.sendMsg(ws, this.fullState('synced', p, room, others, media.syncStates(p)));
    media.receive(p, m.peerConnections);
  }

  /** Applies the client's participant state (tracks) and tells everyone what changed. */
  private applyParticipant(p: ParticipantRecord, state: ClientParticipant): void {
    const { c } = this;
    const room = c.store.current();
    if (!room || state.revision <= p.clientRevision) return;
    const change = applyClientState(c.events, p, state, room);
    c.participants.save(p);
    if (change.publishedChanged) c.sockets.sendTo(p.sid, { type: 'update', published: publishedState(p) });
    if (change.visibleChanged) {
      const others = c.participants.present(room.sid).filter((o) => o.sid !== p.sid);
      this.announce(p, others, change);
    }
  }

  /** Tells `others` about `p`'s new state, with their new `subscribed` when its tracks changed. */
  private announce(p: ParticipantRecord, others: ParticipantRecord[], change: TrackChange | null): void {
    const { c } = this;
    const out = new Outgoing();
    for (const other of others) out.to(other.sid).participants = [participantState(p)];
    if (change && changesSubscriptions(change)) c.media(p.roomSid).resubscribe(others, c.participants.present(p.roomSid), out);
    out.flush(c.sockets);
  }

  /** The whole room as `connected` and `synced` carry it. */
  private fullState(
    type: 'connected' | 'synced',
    p: ParticipantRecord,
    room: RoomRecord,
    others: ParticipantRecord[],
    peerConnections: PeerConnectionEntry[],
    present: readonly ParticipantRecord[] = this.c.participants.present(room.sid),
  ) {
    const media = this.c.media(room.sid);
    const subscriptions = media.subscriptions(p, present);
    const mediaSignaling = media.mediaSignaling(p);
    return {
      type,
      version: 2,
      session: p.session,
      sid: room.sid,
      name: room.uniqueName,
      participant: { sid: p.sid, identity: p.identity },
      participants: others.map(participantState),
      peer_connections: peerConnections,
      published: publishedState(p),
      subscribed: subscribedState(p, subscriptions),
      options: { session_timeout: this.presence.sessionTimeoutSeconds() },
      // Always an explicit boolean: twilio-video reads a missing `is_recording` as true (signaling/v2/recording.js).
      recording: this.c.recording(room.sid),
      ...(mediaSignaling ? { media_signaling: mediaSignaling } : {}),
    };
  }

  /**
   * Verifies a token for this room. A refused one (20101–20107) counts against TOKEN_FAILURES for
   * the client's address; over the limit, and while the address is blocked, the answer is 20429
   * whatever the token (workers/http/rate-limit.ts).
   */
  private async verify(jwt: string, roomName: string, accountSid: string, clientAddress: string | null = null): Promise<VideoToken> {
    if (tokenBlocks.remaining(clientAddress) > 0) throw tooManyRequests(TOO_MANY_TOKEN_FAILURES);
    try {
      const token = await verifyAccessToken(jwt, accountsOf(this.c.env), roomName);
      if (token.accountSid !== accountSid) {
        throw new TwilioError(20103, 'Invalid Access Token issuer/subject: the token belongs to another account');
      }
      return token;
    } catch (err) {
      const refused = err instanceof TwilioError && err.code >= 20101 && err.code <= 20107;
      if (refused && (await failureOverLimit(this.c.env, 'TOKEN_FAILURES', tokenBlocks, clientAddress))) throw tooManyRequests(TOO_MANY_TOKEN_FAILURES);
      throw err;
    }
  }

  private boundParticipant(a: SocketAttachment): ParticipantRecord {
    const p = a.participantSid ? this.c.participants.get(a.participantSid) : null;
    if (!p || p.status === 'disconnected' || p.conn !== a.conn) {
      throw new TwilioError(53004, 'Client sent an invalid signaling message: update before connect');
    }
    return p;
  }
}

/**
 * What participants.present() returns once `p` is saved, built from what it returned before:
 * `others` plus `p`, in its order (connected_at, then sid as SQLite compares text, byte by byte;
 * sids are ASCII, so as JavaScript compares strings). `p` has just connected, so it goes last
 * unless another connected in the same millisecond with a greater sid.
 */
function withNewcomer(others: readonly ParticipantRecord[], p: ParticipantRecord): ParticipantRecord[] {
  const after = (o: ParticipantRecord) => o.connectedAt > p.connectedAt || (o.connectedAt === p.connectedAt && o.sid > p.sid);
  const at = others.findIndex(after);
  return at < 0 ? [...others, p] : [...others.slice(0, at), p, ...others.slice(at)];
}

/**
 * The rules a participant starts with: the client's own (`connect.subscribe`), or everything.
 * Peer-to-peer and Go rooms have no track subscriptions on Twilio: everyone receives everything.
 */
function initialSubscribeRules(room: RoomRecord, fromClient: SubscribeRule[] | undefined): SubscribeRule[] {
  return isGroupType(room.type) && fromClient ? fromClient : [...DEFAULT_SUBSCRIBE_RULES];
}
