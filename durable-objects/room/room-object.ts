import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { Result } from '../../core/errors';
import { fail, ok } from '../../core/errors';
import { accountsOf } from '../../core/accounts';
import { catalogStub } from '../addresses';
import { roomDefaults } from '../catalog/room-defaults';
import { TwilioError } from '../../core/errors';
import { adHocRoomSpec } from '../../core/room-params';
import { newSid } from '../../core/sids';
import type { CallbackParticipant } from './callback-events';
import {
  participantConnectedEvent,
  participantDisconnectedEvent,
  roomCreatedEvent,
  roomEndedEvent,
  trackAddedEvent,
  trackDisabledEvent,
  trackEnabledEvent,
  trackRemovedEvent,
} from './callback-events';
import { retryPolicyFromEnv } from './callback-policy';
import { CATALOG_RETRY, CatalogSync } from './catalog-sync';
import type { EndReason, LifecycleListener } from './lifecycle';
import { Lifecycle } from './lifecycle';
import { Outbox } from './outbox';
import type { ParticipantRules, ParticipantTracks, ParticipantView } from './participants/participants-api';
import { ParticipantsApi } from './participants/participants-api';
import type { RoomRecord, RoomSpec } from '../../core/room-record';
import { RoomStore } from './room-store';
import { Scheduler } from './scheduler';
import type { ParticipantRecord, TrackRecord } from './participants/participant-record';
import type { ParticipantQuery } from './participants/participant-store';
import { ParticipantStore } from './participants/participant-store';
import type { MediaBackend } from './media/media-backend';
import { MeshMedia } from './media/mesh/mesh-media';
import { MediaServerClient } from './media/sfu/media-server-client';
import { sfuConfig } from './media/sfu/sfu-config';
import { SfuMedia } from './media/sfu/sfu-media';
import { isGroupType } from '../../core/room-record';
import type { SignalingEvents } from './signaling/signaling';
import { Signaling } from './signaling/signaling';
import { Sockets } from './signaling/sockets';

/** Headers the Worker sets when it routes a signaling WebSocket here. */
export const ACCOUNT_HEADER = 'x-atrium-account';
export const ROOM_HEADER = 'x-atrium-room';

/** How long a REST subscribe-rule change waits for the media server to apply it. */
const SUBSCRIBE_SETTLE_MS = 5_000;

/** The heartbeat twilio-video sends; answered by the runtime without waking the object. */
const HEARTBEAT = '{"type":"heartbeat"}';

/**
 * One Room object per account + unique name (the sid, for rooms created without a name). It is the
 * single authority for that name: creates are serialized here, so exactly one of N concurrent
 * creates wins. Durable Objects run one event at a time, and every check-then-write below is
 * synchronous SQLite work with no await in between, so no other request can interleave.
 */
export class RoomObject extends DurableObject<Env> implements LifecycleListener, SignalingEvents {
  private readonly store: RoomStore;
  private readonly scheduler: Scheduler;
  private readonly lifecycle: Lifecycle;
  private readonly catalogSync: CatalogSync;
  /** Status callbacks. Append in the same step as the change they report; the alarm delivers them. */
  private readonly outbox: Outbox;
  private readonly participants: ParticipantStore;
  private readonly signaling: Signaling;
  /** Peer-to-peer media: every room whose type has no media server, and group rooms when none is configured. */
  private readonly mesh: MeshMedia;
  /** Group rooms' media through a media server; created on first use, absent when SFU_URL is unset. */
  private sfu: SfuMedia | null | undefined;
  private readonly sockets: Sockets;
  /** The REST participant resources' view of the room (RPC methods below delegate to it). */
  private readonly participantsApi: ParticipantsApi;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.store = new RoomStore(sql);
    this.scheduler = new Scheduler(sql, ctx.storage);
    this.lifecycle = new Lifecycle(this.store, this.scheduler, this);
    this.catalogSync = new CatalogSync(this.store, this.scheduler, () => this.catalog());
    this.outbox = new Outbox({
      sql,
      scheduler: this.scheduler,
      rooms: this.store,
      signingKey: (accountSid) => accountsOf(env).byAccountSid(accountSid)?.authToken,
      policy: retryPolicyFromEnv(env),
      beforeRound: () => this.catalogSync.publish(),
    });
    this.participants = new ParticipantStore(sql);
    const sockets = new Sockets(ctx);
    this.sockets = sockets;
    this.mesh = new MeshMedia(sql, sockets, this.participants);
    this.signaling = new Signaling({
      ctx,
      env,
      store: this.store,
      participants: this.participants,
      lifecycle: this.lifecycle,
      scheduler: this.scheduler,
      events: this,
      sockets,
      media: (roomSid) => this.media(roomSid),
      startAdHocRoom: (accountSid, name) => this.startAdHocRoom(accountSid, name),
      publishRoom: () => this.catalogSync.publish(),
    });
    this.participantsApi = new ParticipantsApi(this.store, this.participants, this.signaling, (roomSid) => this.media(roomSid));
    // Heartbeats are answered by the runtime itself, so idle rooms stay hibernated; the time of
    // the last one answered tells the sweep which sockets are alive.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT, HEARTBEAT));
  }

  // ---- Signaling WebSockets (Hibernation API) ----

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const accountSid = request.headers.get(ACCOUNT_HEADER) ?? '';
    const roomName = request.headers.get(ROOM_HEADER) ?? '';
    return this.signaling.accept(accountSid, decodeURIComponent(roomName));
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.signaling.onMessage(ws, message);
    await this.catalogSync.publish();
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.signaling.onClose(ws);
    await this.catalogSync.publish();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.signaling.onClose(ws);
    await this.catalogSync.publish();
  }

  // ---- RPC, called by the Worker ----

  /** Creates a room under this name; 53113 while another one is in progress. */
  async create(spec: RoomSpec): Promise<Result<RoomRecord>> {
    const existing = this.store.current();
    if (existing) return fail(53113, `Room exists: a room named '${existing.uniqueName}' is in progress (${existing.sid})`);
    this.store.setAccount(spec.accountSid);
    const room = this.lifecycle.start(spec);
    await this.catalogSync.publish();
    return ok(room);
  }

  /** REST `Status=completed`: ends the room now. 53112 unless `sid` is the room in progress. */
  async complete(sid: string): Promise<Result<RoomRecord>> {
    const room = this.store.current();
    if (!room || room.sid !== sid) return fail(53112, 'Status is invalid: the room is not in progress');
    const ended = this.lifecycle.end(room, 'rest');
    await this.catalogSync.publish();
    return ok(ended);
  }

  // ---- RPC for the participant resources; `who` is a participant sid or identity ----

  /** One page of the room's participants, plus one row when more follow. */
  async listParticipants(roomSid: string, query: ParticipantQuery): Promise<Result<ParticipantView[]>> {
    return this.participantsApi.list(roomSid, query);
  }

  async participant(roomSid: string, who: string): Promise<Result<ParticipantView>> {
    return this.participantsApi.participant(roomSid, who);
  }

  /** REST `Status=disconnected`. The room may end with it (ad-hoc rooms), so the catalog is updated. */
  async disconnectParticipant(roomSid: string, who: string): Promise<Result<ParticipantView>> {
    const result = this.participantsApi.disconnect(roomSid, who);
    await this.catalogSync.publish();
    return result;
  }

  async publishedTracks(roomSid: string, who: string): Promise<Result<ParticipantTracks>> {
    return this.participantsApi.publishedTracks(roomSid, who);
  }

  async subscribedTracks(roomSid: string, who: string): Promise<Result<ParticipantTracks>> {
    return this.participantsApi.subscribedTracks(roomSid, who);
  }

  async subscribeRules(roomSid: string, who: string): Promise<Result<ParticipantRules>> {
    return this.participantsApi.subscribeRules(roomSid, who);
  }

  /**
   * Replaces the rules (validated again here) and sends the participant its new subscriptions. In
   * a room with a media server, answers once the server forwards the new set (or after a few
   * seconds), so a SubscribedTracks read right after shows it.
   */
  async setSubscribeRules(roomSid: string, who: string, rules: unknown): Promise<Result<ParticipantRules>> {
    const result = this.participantsApi.setSubscribeRules(roomSid, who, rules);
    if (result.ok) await this.media(roomSid).settled(result.value.participant.sid, SUBSCRIBE_SETTLE_MS);
    return result;
  }

  // ---- Alarm: every deadline of the room, earliest first ----

  override async alarm(): Promise<void> {
    // The runtime clears the alarm as it fires it; forget what the scheduler thinks is set.
    this.scheduler.forgetArmed();
    for (const key of this.scheduler.takeDue(Date.now())) {
      if (this.lifecycle.onDeadline(key)) continue;
      if (this.signaling.onDeadline(key, Date.now())) continue;
      if (await this.sfuMedia()?.onDeadline(key, Date.now())) continue;
      if (this.outbox.onDeadline(key)) continue; // starts delivery without awaiting it
      if (key === CATALOG_RETRY) continue; // handled by the publish below
      console.warn(`room ${this.ctx.id}: no handler for deadline ${key}`);
    }
    await this.catalogSync.publish();
    this.scheduler.arm();
  }

  // ---- LifecycleListener ----

  // Callers await catalogSync.publish() after every change, so these only do same-step work.
  roomStarted(room: RoomRecord): void {
    this.outbox.append(room.sid, roomCreatedEvent(room));
  }

  roomEnded(room: RoomRecord, _reason: EndReason): void {
    // Participants are disconnected (and their events queued) before the room-ended event.
    this.signaling.roomEnded(room);
    this.outbox.append(room.sid, roomEndedEvent(room));
  }

  // ---- SignalingEvents: status callbacks for participants and tracks ----

  participantConnected(room: RoomRecord, p: ParticipantRecord): void {
    this.outbox.append(room.sid, participantConnectedEvent(room, callbackParticipant(p)));
  }

  participantDisconnected(room: RoomRecord, p: ParticipantRecord): void {
    this.outbox.append(room.sid, participantDisconnectedEvent(room, callbackParticipant(p)));
  }

  trackAdded(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackAddedEvent(room, callbackParticipant(p), t));
  }

  trackRemoved(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackRemovedEvent(room, callbackParticipant(p), t));
  }

  trackEnabled(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackEnabledEvent(room, callbackParticipant(p), t));
  }

  trackDisabled(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackDisabledEvent(room, callbackParticipant(p), t));
  }

  /**
   * Starts an ad-hoc room for a connecting participant, with the account's room settings; 53103
   * when the account has client-side room creation off. Re-checks after its one await, so two
   * participants racing to create the same room get the same room.
   */
  private async startAdHocRoom(accountSid: string, name: string): Promise<RoomRecord> {
    const defaults = await roomDefaults(this.env, accountSid);
    const existing = this.store.current();
    if (existing) return existing;
    if (!defaults.clientRoomCreation) {
      throw new TwilioError(53103, 'Unable to create Room: client-side room creation is disabled for this account');
    }
    this.store.setAccount(accountSid);
    return this.lifecycle.start(adHocRoomSpec(accountSid, newSid('RM'), name, defaults));
  }

  /**
   * The media backend of a room of this object: group rooms go through a media server when one is
   * configured (SFU_URL); peer-to-peer and Go rooms, and group rooms without one, use the mesh.
   */
  private media(roomSid: string): MediaBackend {
    const room = this.store.get(roomSid);
    return (room && isGroupType(room.type) && this.sfuMedia()) || this.mesh;
  }

  private sfuMedia(): SfuMedia | null {
    if (this.sfu === undefined) {
      const config = sfuConfig(this.env);
      this.sfu = config
        ? new SfuMedia({
            sql: this.ctx.storage.sql,
            sockets: this.sockets,
            participants: this.participants,
            scheduler: this.scheduler,
            config,
            client: new MediaServerClient(config.secret),
            videoCodec: (roomSid) => {
              const codecs = this.store.get(roomSid)?.videoCodecs ?? [];
              return codecs.length && !codecs.includes('VP8') ? 'H264' : 'VP8';
            },
            kick: async (participantSid, error) => {
              const p = this.participants.get(participantSid);
              if (p && p.status !== 'disconnected') this.signaling.kick(p, error);
              await this.catalogSync.publish();
            },
          })
        : null;
    }
    return this.sfu;
  }

  private catalog() {
    const accountSid = this.store.account();
    return accountSid ? catalogStub(this.env, accountSid) : null;
  }
}

function callbackParticipant(p: ParticipantRecord): CallbackParticipant {
  return {
    sid: p.sid,
    identity: p.identity,
    status: p.status === 'disconnected' ? 'disconnected' : 'connected',
    connectedAt: p.connectedAt,
    disconnectedAt: p.disconnectedAt,
  };
}
