import type { Env } from '../../../workers/env';
import { TwilioError } from '../../../workers/errors';
import { accountsOf } from '../../../workers/accounts/accounts';
import { newSid } from '../../../workers/sids';
import { checkRoomName } from '../../../workers/rooms/room-params';
import type { VideoToken } from '../../../workers/tokens/verify-token';
import { verifyAccessToken } from '../../../workers/tokens/verify-token';
import type { Lifecycle } from '../lifecycle';
import type { RoomRecord } from '../room-record';
import { isGroupType } from '../room-record';
import type { RoomStore } from '../room-store';
import type { Scheduler } from '../scheduler';
import { FloodGuard } from './flood-guard';
import { iceServersFor } from './ice-servers';
import { Mesh } from './mesh';
import type { ParticipantRecord } from './participant-record';
import { participantState, publishedState } from './participant-record';
import type { ParticipantStore } from './participant-store';
import type { ClientParticipant, PeerConnectionEntry, RoomMessage } from './protocol';
import { parseFrame } from './protocol';
import type { SocketAttachment } from './sockets';
import { Sockets } from './sockets';
import type { SubscribeRule } from './subscribe-rules';
import { DEFAULT_SUBSCRIBE_RULES, subscriptionsOf } from './subscribe-rules';
import { applyClientState, applyTracks, changesSubscriptions } from './tracks';
import type { TrackEvents } from './tracks';

/** Deadline keys this module owns. */
export const RECONNECT_PREFIX = 'reconnect:';
export const MAX_DURATION_PREFIX = 'max-duration:';
export const SWEEP = 'sockets:sweep';

/** How often dead sockets are looked for while anyone is connected. */
const SWEEP_INTERVAL_MS = 10_000;
/** Sockets that never finish connecting are closed after this long. */
const HANDSHAKE_DEADLINE_MS = 30_000;
const DEFAULT_SESSION_TIMEOUT_S = 30;
const HEARTBEAT_TIMEOUT_RANGE = [1_000, 30_000] as const;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5_000;
/** Twilio's error for a participant over the room's MaxParticipantDuration. */
const PARTICIPANT_DURATION_EXCEEDED = 53216;

/** What happens to participants and tracks, reported in the same step as the change (status callbacks). */
export interface SignalingEvents extends TrackEvents {
  participantConnected(room: RoomRecord, p: ParticipantRecord): void;
  participantDisconnected(room: RoomRecord, p: ParticipantRecord): void;
}

export interface SignalingDeps {
  ctx: DurableObjectState;
  env: Env;
  store: RoomStore;
  participants: ParticipantStore;
  lifecycle: Lifecycle;
  scheduler: Scheduler;
  events: SignalingEvents;
  /** Creates an ad-hoc room under `name` if none is in progress (53103 when the account forbids it). */
  startAdHocRoom(accountSid: string, name: string): Promise<RoomRecord>;
  /** Mirrors room changes to the catalog (awaited by callers that changed the room). */
  publishRoom(): Promise<void>;
}

/**
 * Twilio's signaling protocol, spoken by the Room object to every twilio-video.js client in the
 * room: the connection layer (hello/welcome/heartbeat/bye), the room layer (ice, connect, update,
 * sync, disconnect), presence (reconnect windows, dead-socket sweeps) and the peer-to-peer mesh.
 *
 * Every handler reads what it needs from storage or the socket's attachment, so the object may
 * hibernate between any two messages. Checks and the writes they guard run with no await in
 * between (Durable Objects deliver no other event while code runs synchronously), so races such as
 * 100 clients joining a room with 50 places resolve exactly.
 */
export class Signaling {
  readonly sockets: Sockets;
  private readonly mesh: Mesh;
  private readonly flood = new FloodGuard();
  /** Per-socket chains: a socket's messages are handled one after another even across awaits. */
  private readonly chains = new WeakMap<WebSocket, Promise<void>>();

  constructor(private readonly d: SignalingDeps) {
    this.sockets = new Sockets(d.ctx);
    this.mesh = new Mesh(d.ctx.storage.sql, this.sockets);
  }

  // ---- WebSocket lifecycle ----

  /** Accepts a signaling WebSocket for `roomName` of `accountSid`. */
  accept(accountSid: string, roomName: string): Response {
    const pair = new WebSocketPair();
    const now = Date.now();
    this.sockets.accept(pair[1], {
      conn: crypto.randomUUID(),
      accountSid,
      roomName,
      phase: 'open',
      negotiatedTimeout: DEFAULT_HEARTBEAT_TIMEOUT_MS,
      participantSid: null,
      identity: null,
      openedAt: now,
      lastSeen: now,
    });
    this.ensureSweep(now);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const previous = this.chains.get(ws) ?? Promise.resolve();
    const next = previous.then(() => this.handle(ws, data));
    this.chains.set(ws, next);
    return next;
  }

  /** The socket closed (or errored) without a `disconnect`: its participant starts reconnecting. */
  onClose(ws: WebSocket): void {
    const a = this.sockets.attachment(ws);
    this.sockets.close(ws, 1000, 'closed');
    if (!a?.participantSid) return;
    this.sockets.unbind(a.participantSid, ws);
    this.dropped(a.participantSid, a.conn);
  }

  // ---- Deadlines ----

  /** Handles a due deadline; false if the key is not signaling's. */
  onDeadline(key: string, now: number): boolean {
    if (key.startsWith(RECONNECT_PREFIX)) {
      const p = this.d.participants.get(key.slice(RECONNECT_PREFIX.length));
      if (p && p.status === 'reconnecting') this.leave(p);
      return true;
    }
    if (key.startsWith(MAX_DURATION_PREFIX)) {
      const p = this.d.participants.get(key.slice(MAX_DURATION_PREFIX.length));
      if (p && p.status !== 'disconnected') {
        this.kick(p, new TwilioError(PARTICIPANT_DURATION_EXCEEDED, 'Participant session length exceeded: MaxParticipantDuration reached'));
      }
      return true;
    }
    if (key === SWEEP) {
      this.sweep(now);
      return true;
    }
    return false;
  }

  // ---- Room-wide ----

  /** The room completed (REST, timeout or cap): everyone is told, disconnected and closed. */
  roomEnded(room: RoomRecord): void {
    const now = Date.now();
    for (const p of this.d.participants.present(room.sid)) {
      const ws = this.sockets.of(p.sid);
      if (ws) {
        this.sockets.sendMsg(ws, { type: 'disconnected', status: 'completed' });
        this.sockets.close(ws, 1000, 'room completed');
        this.sockets.unbind(p.sid, ws);
      }
      const gone = { ...p, status: 'disconnected' as const, disconnectedAt: now, revision: p.revision + 1 };
      this.d.participants.save(gone);
      this.mesh.closeAllFor(p.sid);
      this.d.events.participantDisconnected(room, gone);
    }
    this.d.scheduler.clearPrefix(RECONNECT_PREFIX);
    this.d.scheduler.clearPrefix(MAX_DURATION_PREFIX);
    // Sockets still handshaking belong to no participant; close them too.
    for (const ws of this.sockets.all()) {
      const a = this.sockets.attachment(ws);
      if (a && !a.participantSid) {
        this.sockets.sendMsg(ws, { type: 'disconnected', status: 'completed' });
        this.sockets.close(ws, 1000, 'room completed');
      }
    }
  }

  /** REST `Status=disconnected`: removes a participant at once. */
  disconnectParticipant(sid: string): ParticipantRecord | null {
    const p = this.d.participants.get(sid);
    if (!p || p.status === 'disconnected') return null;
    const ws = this.sockets.of(p.sid);
    if (ws) {
      this.sockets.sendMsg(ws, { type: 'disconnected' });
      this.sockets.close(ws, 1000, 'disconnected');
    }
    return this.leave(p);
  }

  /**
   * REST subscribe rules: replaces `sid`'s rules and sends it what it receives now, under a new
   * `subscribed` revision. Null when the participant is gone. A reconnecting participant gets the
   * new set in its `synced`.
   */
  setSubscribeRules(sid: string, rules: SubscribeRule[]): ParticipantRecord | null {
    const p = this.d.participants.get(sid);
    if (!p || p.status === 'disconnected') return null;
    p.subscribeRules = rules;
    this.bumpSubscribed(p);
    this.sockets.sendTo(p.sid, { type: 'update', subscribed: this.subscribed(p, p.roomSid) });
    return p;
  }

  // ---- Message handling ----

  private async handle(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const a = this.sockets.attachment(ws);
    if (!a || ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    this.sockets.touch(ws, now);
    try {
      if (!this.flood.allow(a.conn, now)) {
        throw new TwilioError(53004, 'Client sent an invalid signaling message: too many messages, slow down');
      }
      const frame = parseFrame(data);
      switch (frame.type) {
        case 'heartbeat':
          // The exact heartbeat string is auto-answered without waking us; a variant (extra spaces,
          // other key order) lands here and gets the same answer.
          this.sockets.sendRaw(ws, '{"type":"heartbeat"}');
          return;
        case 'bye':
          return this.bye(ws, a);
        case 'hello': {
          const timeout = clamp(frame.timeout ?? DEFAULT_HEARTBEAT_TIMEOUT_MS, HEARTBEAT_TIMEOUT_RANGE);
          const attachment = this.sockets.update(ws, { phase: 'welcomed', negotiatedTimeout: timeout });
          this.sockets.sendRaw(ws, JSON.stringify({ type: 'welcome', negotiatedTimeout: timeout }));
          // A repeated hello (the client retries when a welcome is slow) must not join twice.
          if (frame.body && !(a.phase === 'welcomed' && attachment.participantSid)) await this.room(ws, attachment, frame.body);
          return;
        }
        case 'msg':
          if (a.phase !== 'welcomed') {
            this.sockets.sendRaw(ws, JSON.stringify({ type: 'bad', reason: 'msg before hello' }));
            return;
          }
          return await this.room(ws, a, frame.body);
      }
    } catch (err) {
      this.fail(ws, err);
    }
  }

  private async room(ws: WebSocket, a: SocketAttachment, m: RoomMessage): Promise<void> {
    switch (m.type) {
      case 'ice': {
        const token = await this.verify(m.token, a.roomName, a.accountSid);
        this.sockets.update(ws, { identity: token.identity });
        this.sockets.sendMsg(ws, { type: 'iced', ice_servers: await iceServersFor(this.d.env, token.identity) });
        return;
      }
      case 'connect':
        return this.connect(ws, a, m);
      case 'sync':
        return this.sync(ws, a, m);
      case 'update': {
        const p = this.boundParticipant(a);
        if (m.participant) this.applyParticipant(p, m.participant);
        this.relay(p, m.peerConnections);
        return;
      }
      case 'disconnect': {
        const p = a.participantSid ? this.d.participants.get(a.participantSid) : null;
        this.sockets.update(ws, { participantSid: null });
        // Closed before leaving: if this was the last participant, the room ends in leave(), and
        // an open socket with no participant would be told `disconnected: completed` (53118 on
        // the client) after it had already left.
        this.sockets.close(ws, 1000, 'disconnected');
        if (p && p.status !== 'disconnected') {
          this.sockets.unbind(p.sid, ws);
          this.leave(p);
        }
        return;
      }
    }
  }

  private async connect(ws: WebSocket, a: SocketAttachment, m: Extract<RoomMessage, { type: 'connect' }>): Promise<void> {
    if (a.participantSid) throw new TwilioError(53004, 'Client sent an invalid signaling message: already connected');
    if (m.name !== a.roomName) {
      throw new TwilioError(53104, 'Unable to connect to Room: the room name does not match the signaling URL');
    }
    checkRoomName(m.name);
    const token = await this.verify(m.token, a.roomName, a.accountSid);
    // Before an ad-hoc room is started for this join, so a refused connect leaves no empty room
    // behind. retireInitial checks again below, against a connect racing this one with the same id.
    this.mesh.checkInitial(m.peerConnections);
    // From here to the end of the join nothing yields but startAdHocRoom, which re-checks after its
    // one await; so the checks in join() hold for the writes that follow them.
    let room = this.d.store.current();
    let created = false;
    if (!room) {
      room = await this.d.startAdHocRoom(a.accountSid, a.roomName);
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
      if (created) await this.d.publishRoom();
    }
  }

  /** The synchronous part of a connect: checks that need the room, then the join itself. */
  private join(ws: WebSocket, a: SocketAttachment, m: Extract<RoomMessage, { type: 'connect' }>, token: VideoToken, room: RoomRecord): void {
    const now = Date.now();

    // A second connection with a connected identity takes over; the first is told 53205.
    for (const other of this.d.participants.present(room.sid)) {
      if (other.identity === token.identity) {
        // The newcomer takes the place at once, so this leave must not count as the room emptying.
        this.kick(other, new TwilioError(53205, 'Participant disconnected because of duplicate identity'), { replaced: true });
      }
    }
    const others = this.d.participants.present(room.sid);
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
      connectedAt: now,
      disconnectedAt: null,
    };
    const change = applyTracks(p, m.participant.tracks, room, now);
    // The client offered on a connection of its own; the mesh replaces it with one per pair. This
    // is also the join's last check (an id of another pair is a 53004), so it runs before anything
    // is saved or announced: a refused connect must leave no participant behind, whose departure
    // the others would be told about without ever having seen it arrive.
    const closed = this.mesh.retireInitial(p.sid, room.sid, m.peerConnections);
    this.d.participants.save(p);
    this.sockets.bind(ws, p.sid);
    this.d.lifecycle.participantJoined();
    this.d.scheduler.set(MAX_DURATION_PREFIX + p.sid, now + room.maxParticipantDuration * 1000);
    this.ensureSweep(now);
    this.d.events.participantConnected(room, p);
    for (const t of change.added) this.d.events.trackAdded(room, p, t);

    // Read once for all of them: each `subscribed` below would otherwise query and parse every
    // participant again, O(N²) per join. Bumping a revision changes neither the set nor its tracks.
    const present = this.d.participants.present(room.sid);
    for (const other of others) {
      this.sockets.sendTo(other.sid, {
        type: 'update',
        participants: [participantState(p)],
        peer_connections: [this.mesh.pairUp(room.sid, other.sid, p.sid)],
        subscribed: this.subscribed(this.bumpSubscribed(other), room.sid, present),
      });
    }
    this.sockets.sendMsg(ws, this.fullState('connected', p, room, others, closed));
  }

  /** Ends `room` if it is the ad-hoc room in progress and nobody is in it. */
  private endIfEmptyAdHoc(room: RoomRecord): void {
    const current = this.d.store.current();
    if (current?.sid === room.sid && current.adHoc && this.d.participants.present(room.sid).length === 0) {
      this.d.lifecycle.end(current, 'empty-timeout');
    }
  }

  private async sync(ws: WebSocket, a: SocketAttachment, m: Extract<RoomMessage, { type: 'sync' }>): Promise<void> {
    const token = await this.verify(m.token, a.roomName, a.accountSid);
    const p = this.d.participants.bySession(m.session);
    const room = this.d.store.current();
    if (!p || !room || p.roomSid !== room.sid || p.status === 'disconnected') {
      throw new TwilioError(53002, 'Signaling connection timed out: the session expired or is unknown');
    }
    if (p.identity !== token.identity) throw new TwilioError(20103, 'Invalid Access Token issuer/subject: the token is for another identity');
    if (ws.readyState !== WebSocket.OPEN) return;

    // The previous socket, if the server still holds it, is replaced.
    const old = this.sockets.of(p.sid);
    if (old && old !== ws) {
      this.sockets.update(old, { participantSid: null });
      this.sockets.close(old, 1000, 'replaced by a newer connection');
    }
    const wasReconnecting = p.status === 'reconnecting';
    p.status = 'connected';
    p.conn = a.conn;
    if (wasReconnecting) p.revision += 1;
    p.publishedRevision += 1;
    p.subscribedRevision += 1;
    const change = m.participant && m.participant.revision > p.clientRevision ? applyClientState(this.d.events, p, m.participant, room) : null;
    this.d.participants.save(p);
    this.sockets.bind(ws, p.sid);
    this.d.scheduler.clear(RECONNECT_PREFIX + p.sid);
    this.ensureSweep(Date.now());

    const others = this.d.participants.present(room.sid).filter((o) => o.sid !== p.sid);
    if (wasReconnecting || change?.visibleChanged) this.announce(p, others, !!change && changesSubscriptions(change));
    this.sockets.sendMsg(ws, this.fullState('synced', p, room, others, this.mesh.syncStates(p.sid)));
    this.relay(p, m.peerConnections);
  }

  /** Applies the client's participant state (tracks) and tells everyone what changed. */
  private applyParticipant(p: ParticipantRecord, state: ClientParticipant): void {
    const room = this.d.store.current();
    if (!room || state.revision <= p.clientRevision) return;
    const change = applyClientState(this.d.events, p, state, room);
    this.d.participants.save(p);
    if (change.publishedChanged) this.sockets.sendTo(p.sid, { type: 'update', published: publishedState(p) });
    if (change.visibleChanged) {
      const others = this.d.participants.present(room.sid).filter((o) => o.sid !== p.sid);
      this.announce(p, others, changesSubscriptions(change));
    }
  }

  /** Tells `others` about `p`'s new state, with their new `subscribed` when its tracks changed. */
  private announce(p: ParticipantRecord, others: ParticipantRecord[], subscriptionsChanged: boolean): void {
    const present = subscriptionsChanged ? this.d.participants.present(p.roomSid) : [];
    for (const other of others) {
      const body: Record<string, unknown> = { type: 'update', participants: [participantState(p)] };
      if (subscriptionsChanged) body.subscribed = this.subscribed(this.bumpSubscribed(other), p.roomSid, present);
      this.sockets.sendTo(other.sid, body);
    }
  }

  /** The whole room as `connected` and `synced` carry it. */
  private fullState(
    type: 'connected' | 'synced',
    p: ParticipantRecord,
    room: RoomRecord,
    others: ParticipantRecord[],
    peerConnections: PeerConnectionEntry[],
  ) {
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
      subscribed: this.subscribed(p, room.sid),
      options: { session_timeout: this.sessionTimeoutSeconds() },
    };
  }

  /** Relays peer connection entries within their pairs; ids of other pairs are refused. */
  private relay(p: ParticipantRecord, entries: PeerConnectionEntry[]): void {
    for (const entry of entries) this.mesh.relay(p.sid, entry);
  }

  // ---- Presence ----

  /** A participant's socket went away without `disconnect`: reconnecting for the session timeout. */
  private dropped(participantSid: string, conn: string): void {
    const p = this.d.participants.get(participantSid);
    if (!p || p.status !== 'connected' || p.conn !== conn) return;
    p.status = 'reconnecting';
    p.revision += 1;
    this.d.participants.save(p);
    this.d.scheduler.set(RECONNECT_PREFIX + p.sid, Date.now() + this.sessionTimeoutSeconds() * 1000);
    for (const other of this.d.participants.present(p.roomSid)) {
      if (other.sid !== p.sid) this.sockets.sendTo(other.sid, { type: 'update', participants: [participantState(p)] });
    }
  }

  /**
   * Finds sockets whose peer vanished: the runtime does not always deliver webSocketClose for a
   * hibernated socket, so liveness comes from the last auto-answered heartbeat and the last
   * message. A socket silent for three heartbeat intervals is closed and its participant dropped.
   */
  private sweep(now: number): void {
    let live = 0;
    for (const ws of this.sockets.all()) {
      const a = this.sockets.attachment(ws);
      if (!a) continue;
      const heartbeat = this.d.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const last = Math.max(heartbeat, a.lastSeen, a.openedAt);
      const handshakeStale = !a.participantSid && now - a.openedAt > HANDSHAKE_DEADLINE_MS;
      if (now - last > 3 * a.negotiatedTimeout + 1_000 || handshakeStale) {
        this.sockets.close(ws, 3001, 'heartbeat timeout');
        if (a.participantSid) {
          this.sockets.unbind(a.participantSid, ws);
          this.dropped(a.participantSid, a.conn);
        }
      } else {
        live++;
      }
    }
    // Connected participants with no socket at all: a restart of the runtime (a crash, a deploy,
    // `wrangler dev` restarting) drops every WebSocket without a close event, and the new instance
    // has neither the sockets nor their attachments. Left alone they would stay `connected` for
    // good, holding places and keeping the room from ever emptying; like any vanished socket they
    // get the reconnect window instead.
    const room = this.d.store.current();
    for (const p of room ? this.d.participants.present(room.sid) : []) {
      if (p.status === 'connected' && !this.sockets.of(p.sid)) this.dropped(p.sid, p.conn);
    }
    if (live > 0) this.d.scheduler.set(SWEEP, now + SWEEP_INTERVAL_MS);
  }

  private ensureSweep(now: number): void {
    if (this.d.scheduler.get(SWEEP) === undefined) this.d.scheduler.set(SWEEP, now + SWEEP_INTERVAL_MS);
  }

  /**
   * Removes a participant: others are told, its pairs closed, the room may empty. `replaced`: a
   * participant with the same identity is joining in the same step, so the room is not emptying.
   */
  private leave(p: ParticipantRecord, opts: { replaced?: boolean } = {}): ParticipantRecord {
    const now = Date.now();
    const gone: ParticipantRecord = { ...p, status: 'disconnected', disconnectedAt: now, revision: p.revision + 1 };
    this.d.participants.save(gone);
    this.d.scheduler.clear(RECONNECT_PREFIX + p.sid);
    this.d.scheduler.clear(MAX_DURATION_PREFIX + p.sid);
    const room = this.d.store.get(p.roomSid);
    const closes = this.mesh.closeAllFor(p.sid);
    const remaining = this.d.participants.present(p.roomSid);
    for (const other of remaining) {
      const body: Record<string, unknown> = { type: 'update', participants: [participantState(gone)] };
      const close = closes.get(other.sid);
      if (close) body.peer_connections = [close];
      if (p.tracks.length) body.subscribed = this.subscribed(this.bumpSubscribed(other), p.roomSid, remaining);
      this.sockets.sendTo(other.sid, body);
    }
    if (room) {
      for (const t of p.tracks) this.d.events.trackRemoved(room, gone, t);
      this.d.events.participantDisconnected(room, gone);
    }
    if (room?.status === 'in-progress' && !opts.replaced) this.d.lifecycle.participantLeft(remaining.length);
    return gone;
  }

  /** Tells a participant why it is removed, closes its socket and removes it. */
  private kick(p: ParticipantRecord, error: TwilioError, opts: { replaced?: boolean } = {}): void {
    const ws = this.sockets.of(p.sid);
    if (ws) {
      this.sockets.sendMsg(ws, { type: 'error', code: error.code, message: error.message });
      this.sockets.update(ws, { participantSid: null });
      this.sockets.close(ws, 1000, error.message.slice(0, 120));
      this.sockets.unbind(p.sid, ws);
    }
    this.leave(p, opts);
  }

  private bye(ws: WebSocket, a: SocketAttachment): void {
    // `bye` ends the connection layer; without a `disconnect` first, the participant may come
    // back with `sync`, so treat it like a dropped socket.
    this.sockets.close(ws, 1000, 'bye');
    if (a.participantSid) {
      this.sockets.unbind(a.participantSid, ws);
      this.dropped(a.participantSid, a.conn);
    }
  }

  /**
   * A message the server cannot accept: the sender gets a Twilio `error` (which ends its session
   * on the client) and is removed; nobody else is affected.
   */
  private fail(ws: WebSocket, err: unknown): void {
    const error = err instanceof TwilioError ? err : new TwilioError(53000, 'Signaling connection error');
    if (!(err instanceof TwilioError)) console.error('signaling handler failed', err);
    const a = this.sockets.attachment(ws);
    this.sockets.sendMsg(ws, { type: 'error', code: error.code, message: error.message });
    this.sockets.close(ws, 1000, error.message.slice(0, 120));
    if (a?.participantSid) {
      const p = this.d.participants.get(a.participantSid);
      this.sockets.update(ws, { participantSid: null });
      this.sockets.unbind(a.participantSid, ws);
      if (p && p.status !== 'disconnected' && p.conn === a.conn) this.leave(p);
    }
  }

  // ---- Helpers ----

  private async verify(jwt: string, roomName: string, accountSid: string): Promise<VideoToken> {
    const token = await verifyAccessToken(jwt, accountsOf(this.d.env), roomName);
    if (token.accountSid !== accountSid) {
      throw new TwilioError(20103, 'Invalid Access Token issuer/subject: the token belongs to another account');
    }
    return token;
  }

  private boundParticipant(a: SocketAttachment): ParticipantRecord {
    const p = a.participantSid ? this.d.participants.get(a.participantSid) : null;
    if (!p || p.status === 'disconnected' || p.conn !== a.conn) {
      throw new TwilioError(53004, 'Client sent an invalid signaling message: update before connect');
    }
    return p;
  }

  /**
   * What `p` receives: the tracks of the other present participants that its subscribe rules let
   * through. Callers sending to everyone pass `present`, read once, rather than a query per participant.
   */
  private subscribed(p: ParticipantRecord, roomSid: string, present: readonly ParticipantRecord[] = this.d.participants.present(roomSid)) {
    const tracks = subscriptionsOf(p, present).map(({ track }) => ({ sid: track.sid, id: track.id }));
    return { revision: p.subscribedRevision, tracks };
  }

  private bumpSubscribed(p: ParticipantRecord): ParticipantRecord {
    p.subscribedRevision += 1;
    this.d.participants.save(p);
    return p;
  }

  sessionTimeoutSeconds(): number {
    const configured = Number(this.d.env.SESSION_TIMEOUT_SECONDS);
    return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_SESSION_TIMEOUT_S;
  }
}

/**
 * The rules a participant starts with: the client's own (`connect.subscribe`), or everything.
 * Peer-to-peer and Go rooms have no track subscriptions on Twilio: everyone receives everything.
 */
function initialSubscribeRules(room: RoomRecord, fromClient: SubscribeRule[] | undefined): SubscribeRule[] {
  return isGroupType(room.type) && fromClient ? fromClient : [...DEFAULT_SUBSCRIBE_RULES];
}

function clamp(v: number, [min, max]: readonly [number, number]): number {
  return Math.min(max, Math.max(min, v));
}
