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
import { Retention, retentionMs } from './retention';
import { SessionStore } from './media/sfu/session-store';
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
import { MEDIA_CHECK, SfuMedia } from './media/sfu/sfu-media';
import type { RecordingMedia } from './recordings/recordings';
import type { RecordingRulesView } from './recordings/recording-rules-resource';
import { Recordings } from './recordings/recordings';
import { isGroupType } from '../../core/room-record';
import type { SignalingEvents } from './signaling/signaling';
import { Signaling } from './signaling/signaling';
import { Sockets } from './signaling/sockets';
import type { DeadlineFailure } from './scheduler';
import { logError, logWarn } from '../../core/log';

/** Headers the Worker sets when it routes a signaling WebSocket here. */
export const ACCOUNT_HEADER = 'x-atrium-account';
export const ROOM_HEADER = 'x-atrium-room';
/** The client's address as the rate limits count it (workers/http/rate-limit.ts); absent when unknown. */
export const CLIENT_HEADER = 'x-atrium-client-address';

/** How long a REST subscribe-rule change waits for the media server to apply it. */
const SUBSCRIBE_SETTLE_MS = 5_000;

/** The earliest the alarm fires again after the scheduler itself failed in it. */
const ALARM_RETRY_MS = 1_000;

/** RPCs that change nothing the catalog mirrors. */
const READ_ONLY = { publish: false } as const;

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
  /** Completed rooms are purged a retention (ROOM_RETENTION_DAYS) after they end. */
  private readonly retention: Retention;
  /** Group rooms' recordings: what is recorded, the media server's orders, the Recording resources. */
  private readonly recordings: Recordings;
  /** The media server control client of `sfu` (its recordings are ordered through it too). */
  private mediaClient: MediaServerClient | null = null;

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
      beforeRound: () => this.publishCatalog(),
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
      publishRoom: () => this.publishCatalog(),
      recording: (roomSid) => this.recordings.recordingState(roomSid),
    });
    this.recordings = new Recordings({
      sql,
      scheduler: this.scheduler,
      rooms: this.store,
      participants: this.participants,
      sendTo: (participantSid, message) => sockets.sendTo(participantSid, message),
      callback: (roomSid, event) => this.outbox.append(roomSid, event),
      media: (roomSid) => this.recordingMedia(roomSid),
      catalog: () => this.catalog(),
    });
    this.participantsApi = new ParticipantsApi(this.store, this.participants, this.signaling, (roomSid) => this.media(roomSid));
    this.retention = new Retention({
      store: this.store,
      participants: this.participants,
      scheduler: this.scheduler,
      // Media sessions are purged whether or not a media server is configured now.
      parts: [this.mesh, new SessionStore(sql), this.outbox, this.recordings],
      forgetInCatalog: (roomSid) => this.catalogSync.forget(roomSid),
      retentionMs: retentionMs(env),
    });
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
    return this.signaling.accept(accountSid, decodeURIComponent(roomName), request.headers.get(CLIENT_HEADER));
  }

  // None of these rejects: the signaling logs what its handlers throw (once) and ends only that
  // socket's session, and the catalog publish after it always runs.

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.signaling.onMessage(ws, message); // never rejects: see Connection.onMessage
    } finally {
      await this.publishCatalog();
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.signaling.onClose(ws); // never throws: see Connection.onClose
    await this.publishCatalog();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.signaling.onClose(ws); // never throws: see Connection.onClose
    await this.publishCatalog();
  }

  // ---- RPC, called by the Worker ----

  /** Creates a room under this name; 53113 while another one is in progress. */
  async create(spec: RoomSpec): Promise<Result<RoomRecord>> {
    return this.rpc('create', {}, () => {
      const existing = this.store.current();
      if (existing) return fail(53113, `Room exists: a room named '${existing.uniqueName}' is in progress (${existing.sid})`);
      this.store.setAccount(spec.accountSid);
      return ok(this.lifecycle.start(spec));
    });
  }

  /** REST `Status=completed`: ends the room now. 53112 unless `sid` is the room in progress. */
  async complete(sid: string): Promise<Result<RoomRecord>> {
    return this.rpc('complete', { roomSid: sid }, () => {
      const room = this.store.current();
      if (!room || room.sid !== sid) return fail(53112, 'Status is invalid: the room is not in progress');
      return ok(this.lifecycle.end(room, 'rest'));
    });
  }

  // ---- RPC for the participant resources; `who` is a participant sid or identity ----

  /** One page of the room's participants, plus one row when more follow. */
  async listParticipants(roomSid: string, query: ParticipantQuery): Promise<Result<ParticipantView[]>> {
    return this.rpc('listParticipants', { roomSid }, () => this.participantsApi.list(roomSid, query), READ_ONLY);
  }

  async participant(roomSid: string, who: string): Promise<Result<ParticipantView>> {
    return this.rpc('participant', { roomSid, who }, () => this.participantsApi.participant(roomSid, who), READ_ONLY);
  }

  /** REST `Status=disconnected`. The room may end with it (ad-hoc rooms), so the catalog is updated. */
  async disconnectParticipant(roomSid: string, who: string): Promise<Result<ParticipantView>> {
    return this.rpc('disconnectParticipant', { roomSid, who }, () => this.participantsApi.disconnect(roomSid, who));
  }

  async publishedTracks(roomSid: string, who: string): Promise<Result<ParticipantTracks>> {
    return this.rpc('publishedTracks', { roomSid, who }, () => this.participantsApi.publishedTracks(roomSid, who), READ_ONLY);
  }

  async subscribedTracks(roomSid: string, who: string): Promise<Result<ParticipantTracks>> {
    return this.rpc('subscribedTracks', { roomSid, who }, () => this.participantsApi.subscribedTracks(roomSid, who), READ_ONLY);
  }

  async subscribeRules(roomSid: string, who: string): Promise<Result<ParticipantRules>> {
    return this.rpc('subscribeRules', { roomSid, who }, () => this.participantsApi.subscribeRules(roomSid, who), READ_ONLY);
  }

  /**
   * Replaces the rules (validated again here) and sends the participant its new subscriptions. In
   * a room with a media server, answers once the server forwards the new set (or after a few
   * seconds), so a SubscribedTracks read right after shows it.
   */
  async setSubscribeRules(roomSid: string, who: string, rules: unknown): Promise<Result<ParticipantRules>> {
    // Rules are not part of the room's record: nothing for the catalog.
    return this.rpc(
      'setSubscribeRules',
      { roomSid, who },
      async () => {
        const result = this.participantsApi.setSubscribeRules(roomSid, who, rules);
        if (result.ok) await this.media(roomSid).settled(result.value.participant.sid, SUBSCRIBE_SETTLE_MS);
        return result;
      },
      READ_ONLY,
    );
  }

  // ---- RPC for the RecordingRules resource ----

  /** The room's recording rules (those it was created with until they are set over REST). */
  async recordingRules(roomSid: string): Promise<Result<RecordingRulesView>> {
    return this.rpc('recordingRules', { roomSid }, () => this.recordings.rules.get(roomSid), READ_ONLY);
  }

  /**
   * Replaces the room's recording rules (validated again here; 53120, 53121 outside group rooms,
   * 53112 once it ended) and applies them: answers once the media server has the new orders (or
   * after a few seconds), so a recordings list right after shows what started.
   */
  async setRecordingRules(roomSid: string, rules: unknown): Promise<Result<RecordingRulesView>> {
    return this.rpc('setRecordingRules', { roomSid }, async () => {
      const result = this.recordings.rules.set(roomSid, rules);
      if (result.ok) await this.recordings.settled(roomSid);
      return result;
    });
  }

  /**
   * Runs an RPC, then (unless READ_ONLY) mirrors what it changed to the catalog, whatever happened.
   * An unexpected throw is logged here, once and with the room, and answered as Twilio's 20500
   * (the Worker renders it as it would its own internal error) instead of crossing the RPC as an
   * exception the Worker would log again without the room.
   */
  private async rpc<T>(
    method: string,
    about: { roomSid?: string; who?: string },
    run: () => Result<T> | Promise<Result<T>>,
    { publish = true }: { publish?: boolean } = {},
  ): Promise<Result<T>> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof TwilioError) return { ok: false, error: err.toBody() };
      logError({
        event: 'rpc-failed',
        roomSid: about.roomSid ?? this.roomSidForLogs(),
        participantSid: about.who?.startsWith('PA') ? about.who : null,
        // The words the Worker's own catch-all logs: the REST fuzzer looks for them.
        message: `unhandled error in RPC ${method}: ${err instanceof Error ? err.message : String(err)}`,
        method,
        error: err,
      });
      return fail(20500, 'Internal server error');
    } finally {
      if (publish) await this.publishCatalog();
    }
  }

  // ---- Alarm: every deadline of the room, earliest first ----

  override async alarm(): Promise<void> {
    // The runtime clears the alarm as it fires it; forget what the scheduler thinks is set.
    this.scheduler.forgetArmed();
    let failed = false;
    try {
      // Each handler runs in its own try: one that throws is logged and retried, the others run.
      await this.scheduler.runDue(
        Date.now(),
        (key) => this.onDeadline(key),
        (failure) => this.deadlineFailed(failure),
      );
    } catch (err) {
      // The scheduler's own storage failed; what is due stays due, and the alarm tries again.
      failed = true;
      logError({ event: 'alarm-failed', roomSid: this.roomSidForLogs(), error: err });
    } finally {
      await this.publishCatalog();
      this.scheduler.arm(failed ? Date.now() + ALARM_RETRY_MS : undefined);
    }
  }

  /** Runs the handler of one due deadline; throws what the handler throws (the scheduler retries it). */
  private async onDeadline(key: string): Promise<void> {
    if (this.lifecycle.onDeadline(key)) return;
    if (this.signaling.onDeadline(key, Date.now())) return;
    if (await this.sfuMedia()?.onDeadline(key, Date.now())) {
      // Recordings are checked with the media (a moved session, a server back after a restart).
      const room = key === MEDIA_CHECK ? this.store.current() : null;
      if (room) this.recordings.changed(room.sid);
      return;
    }
    if (await this.recordings.onDeadline(key)) return;
    if (this.outbox.onDeadline(key)) return; // starts delivery without awaiting it
    if (await this.retention.onDeadline(key)) return;
    if (key === CATALOG_RETRY) return; // handled by the publish after the deadlines
    logWarn({ event: 'deadline-unknown', roomSid: this.roomSidForLogs(), key, message: `no handler for deadline ${key}; dropped` });
  }

  private deadlineFailed({ key, attempt, retryAt, error }: DeadlineFailure): void {
    const fields = { roomSid: this.roomSidForLogs(), participantSid: participantOfDeadline(key), key, attempt, error };
    if (retryAt === null) {
      logError({ ...fields, event: 'deadline-dropped', message: `deadline ${key} failed ${attempt} times in a row; dropped` });
    } else {
      const wait = Math.max(0, retryAt - Date.now());
      logError({ ...fields, event: 'deadline-failed', message: `deadline ${key} failed (attempt ${attempt}); retrying in ${wait} ms`, retryAt });
    }
  }

  // ---- LifecycleListener ----

  // Callers await catalogSync.publish() after every change, so these only do same-step work.
  roomStarted(room: RoomRecord): void {
    this.outbox.append(room.sid, roomCreatedEvent(room));
    this.retention.roomStarted();
  }

  roomEnded(room: RoomRecord, _reason: EndReason): void {
    // Participants are disconnected (and their events queued) before the room-ended event.
    this.signaling.roomEnded(room);
    this.retention.roomEnded(room);
    this.outbox.append(room.sid, roomEndedEvent(room));
    // Every recording stops; their final states follow the room-ended event.
    this.recordingsChanged(room);
  }

  // ---- SignalingEvents: status callbacks for participants and tracks ----

  // Arrivals, departures and (un)publications change what is recorded: planned after the step.

  participantConnected(room: RoomRecord, p: ParticipantRecord): void {
    this.outbox.append(room.sid, participantConnectedEvent(room, callbackParticipant(p)));
    this.recordingsChanged(room);
  }

  participantDisconnected(room: RoomRecord, p: ParticipantRecord): void {
    this.outbox.append(room.sid, participantDisconnectedEvent(room, callbackParticipant(p)));
    this.recordingsChanged(room);
  }

  trackAdded(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackAddedEvent(room, callbackParticipant(p), t));
    this.recordingsChanged(room);
  }

  trackRemoved(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void {
    this.outbox.append(room.sid, trackRemovedEvent(room, callbackParticipant(p), t));
    this.recordingsChanged(room);
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
      this.mediaClient = config ? new MediaServerClient(config.secret) : null;
      const client = this.mediaClient;
      this.sfu = config && client
        ? new SfuMedia({
            sql: this.ctx.storage.sql,
            sockets: this.sockets,
            participants: this.participants,
            scheduler: this.scheduler,
            config,
            client,
            videoCodec: (roomSid) => this.videoCodec(roomSid),
            kick: async (participantSid, error) => {
              const p = this.participants.get(participantSid);
              if (p && p.status !== 'disconnected') this.signaling.kick(p, error);
              await this.publishCatalog();
            },
            sessionMoved: (roomSid) => this.recordings.changed(roomSid),
          })
        : null;
    }
    return this.sfu;
  }

  /** The codec a room's video is forwarded (and recorded) in: its VideoCodecs' VP8 if it has it, else H.264. */
  private videoCodec(roomSid: string): 'VP8' | 'H264' {
    const codecs = this.store.get(roomSid)?.videoCodecs ?? [];
    return codecs.length && !codecs.includes('VP8') ? 'H264' : 'VP8';
  }

  /**
   * Something that decides what the room records changed: planned after the step, in rooms that
   * can record at all (others skip the work on every join and publication).
   */
  private recordingsChanged(room: RoomRecord): void {
    try {
      if (isGroupType(room.type) && this.recordingMedia(room.sid, room)) this.recordings.changed(room.sid);
    } catch (err) {
      // A misconfigured media server (ConfigError) is reported by the media backend itself; the step goes on.
      logError({ event: 'recordings-unavailable', roomSid: room.sid, message: 'recordings could not be planned for the room', error: err });
    }
  }

  /** What recordings need of a room's media: only a group room on a media server is recorded. */
  private recordingMedia(roomSid: string, room = this.store.get(roomSid)): RecordingMedia | null {
    const sfu = room && isGroupType(room.type) ? this.sfuMedia() : null;
    const client = this.mediaClient;
    if (!sfu || !client) return null;
    return {
      sessionOf: (participantSid) => sfu.sessionOf(participantSid),
      videoCodec: () => this.videoCodec(roomSid),
      recordings: (server, room, orders, acknowledged) => client.recordings(server, room, orders, acknowledged),
    };
  }

  private catalog() {
    const accountSid = this.store.account();
    return accountSid ? catalogStub(this.env, accountSid) : null;
  }

  /** Mirrors room changes to the catalog. Never rejects: a failure is logged and retried on a deadline. */
  private async publishCatalog(): Promise<void> {
    try {
      await this.catalogSync.publish();
    } catch (err) {
      logError({ event: 'catalog-publish-failed', roomSid: this.roomSidForLogs(), error: err });
    }
    await this.recordings.publish(); // never rejects: retried on its own deadline
  }

  /** The room a log line is about: the one in progress (null when none). Never throws. */
  private roomSidForLogs(): string | null {
    try {
      return this.store.current()?.sid ?? null;
    } catch {
      return null;
    }
  }
}

/** The participant a deadline is about (reconnect windows, MaxParticipantDuration), if any. */
function participantOfDeadline(key: string): string | null {
  return /PA[0-9a-fA-F]{32}/.exec(key)?.[0] ?? null;
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
