import { logInfo, logWarn } from '../../../../core/log';
import type { TrackPriority } from '../../../../core/media-signaling';
import { isTrackPriority, mediaSignalingLabel } from '../../../../core/media-signaling';
import { TwilioError } from '../../../../core/errors';
import type { ParticipantRecord } from '../../participants/participant-record';
import type { ParticipantStore } from '../../participants/participant-store';
import type { Subscription } from '../../participants/subscribe-rules';
import { subscriptionsOf } from '../../participants/subscribe-rules';
import type { Scheduler } from '../../scheduler';
import type { Outgoing } from '../../signaling/outgoing';
import type { PeerConnectionEntry } from '../../signaling/protocol';
import type { Sockets } from '../../signaling/sockets';
import type { MediaBackend } from '../media-backend';
import { subscribedState } from '../media-backend';
import type { MediaServerClient, SubscribedTrack } from './media-server-client';
import { MediaServerError } from './media-server-client';
import type { SfuConfig } from './sfu-config';
import type { MediaSession } from './session-store';
import { SessionStore } from './session-store';
import { WorkQueues } from './work-queue';

/** Deadline key of the media check. */
export const MEDIA_CHECK = 'media:check';
/** How often a room with media sessions asks its media server whether it still holds them. */
const CHECK_INTERVAL_MS = 5_000;
/** After a failed call, check again this soon rather than at the next interval. */
const RECHECK_AFTER_FAILURE_MS = 1_000;
/** A server that failed this many checks in a row is given up for another, when there is one. */
const FAILED_CHECKS_BEFORE_MOVING = 2;

export interface SfuMediaDeps {
  sql: SqlStorage;
  sockets: Sockets;
  participants: ParticipantStore;
  scheduler: Scheduler;
  config: SfuConfig;
  client: MediaServerClient;
  /** The codec a room's video is forwarded in: its VideoCodecs' VP8 if it has it, else H.264. */
  videoCodec(roomSid: string): 'VP8' | 'H264';
  /** Removes a participant with an error, as the signaling does (it is told the code, others see it leave). */
  kick(participantSid: string, error: TwilioError): Promise<void>;
  /** A participant of the room moved to a new media session: what is recorded of it must follow. */
  sessionMoved(roomSid: string): void;
}

/**
 * Group rooms' media: one peer connection per participant, ending at a media server (SFU) that
 * forwards each published track to the participants the Room object says receive it. The media
 * server holds connections and forwarding only; who is in the room and who receives what is
 * decided here, and told to it over its control API (media-server-client.ts).
 *
 * The signaling's steps are synchronous and a media server is across the network, so this backend
 * records what must happen in the step and does the calls afterwards, one participant's in order
 * (work-queue.ts), sending each participant what the media server answers: the answer to its
 * offer, the offer that brings it new tracks, and its new `subscribed` with it, so that what a
 * client is told it receives is exactly what the media server forwards to it.
 *
 * A media server that restarts or stops answering loses no room: every few seconds the room asks
 * its server which sessions it holds (MEDIA_CHECK), and a participant whose session is gone gets a
 * new one, on another server if its own stays unreachable. The client is moved to it the way
 * twilio-video allows: its old connection is closed and it is asked to offer on a new id.
 */
export class SfuMedia implements MediaBackend {
  private readonly sessions: SessionStore;
  private readonly queues = new WorkQueues();
  /** Entries clients sent that are waiting for their participant's queue. */
  private readonly inbox = new Map<string, PeerConnectionEntry[]>();
  /** Participants whose subscriptions must be sent to the media server again. */
  private readonly dirty = new Set<string>();
  /** Consecutive failed checks per server. */
  private readonly failures = new Map<string, number>();

  constructor(private readonly d: SfuMediaDeps) {
    this.sessions = new SessionStore(d.sql);
  }

  // ---- MediaBackend: the synchronous part, inside the signaling's step ----

  checkJoin(entries: PeerConnectionEntry[]): void {
    for (const entry of entries) {
      if (this.sessions.ownerOfPc(entry.id)) {
        throw new TwilioError(53004, 'Client sent an invalid signaling message: peer connection id is already in use');
      }
    }
  }

  /**
   * The client's own offer becomes its media session's connection; `connected` carries no answer
   * yet (the media server is asked after the step, and the answer follows in an `update`).
   */
  join(p: ParticipantRecord, entries: PeerConnectionEntry[], _others: ParticipantRecord[], _out: Outgoing): PeerConnectionEntry[] {
    const offer = entries.find((e) => e.description?.type === 'offer');
    const pc = offer?.id ?? crypto.randomUUID();
    const session = this.sessions.open({
      participantSid: p.sid,
      roomSid: p.roomSid,
      server: this.serverFor(p.roomSid),
      id: `${p.sid}.1`,
      pc,
      generation: 1,
    });
    for (const e of entries) this.sessions.claimPc(e.id, p.sid);
    this.scheduleCheck(Date.now() + CHECK_INTERVAL_MS, false);
    this.enqueue(p.sid, () => this.establish(p.sid, session, offer ? entries.filter((e) => e.id === pc) : null));
    // A client offers on one connection; any other it named is closed at once.
    return entries.filter((e) => e.id !== pc).map((e) => ({ id: e.id, description: { type: 'close', revision: (e.description?.revision ?? 0) + 1 } }));
  }

  receive(p: ParticipantRecord, entries: PeerConnectionEntry[]): void {
    const session = this.sessions.get(p.sid);
    const mine: PeerConnectionEntry[] = [];
    for (const entry of entries) {
      const owner = this.sessions.ownerOfPc(entry.id);
      if (owner !== p.sid) {
        throw new TwilioError(53004, `Client sent an invalid signaling message: peer connection ${entry.id.slice(0, 64)} is not one of yours`);
      }
      // Late messages for a connection this participant was moved away from are dropped.
      if (session && entry.id === session.pc) mine.push(entry);
    }
    if (!session || mine.length === 0) return;
    this.inbox.set(p.sid, [...(this.inbox.get(p.sid) ?? []), ...mine]);
    this.enqueue(p.sid, () => this.deliverInbox(p.sid));
  }

  subscriptions(p: ParticipantRecord, present: readonly ParticipantRecord[]): Subscription[] {
    const session = this.sessions.get(p.sid);
    if (!session) return [];
    const out: Subscription[] = [];
    for (const { publisher, track } of session.subscribed) {
      const pub = present.find((o) => o.sid === publisher);
      const t = pub?.tracks.find((x) => x.sid === track);
      if (pub && t) out.push({ publisher: pub, track: t });
    }
    return out;
  }

  resubscribe(subscribers: readonly ParticipantRecord[]): void {
    for (const s of subscribers) this.markDirty(s.sid);
  }

  syncStates(p: ParticipantRecord): PeerConnectionEntry[] {
    const session = this.sessions.get(p.sid);
    if (!session) return [];
    return [session.sent ? { id: session.pc, description: session.sent } : { id: session.pc }];
  }

  /** Each feature the client asked for, on its own channel that the media server opens on its connection. */
  mediaSignaling(p: ParticipantRecord): Record<string, unknown> | undefined {
    if (!p.mediaSignaling?.length) return undefined;
    return Object.fromEntries(p.mediaSignaling.map((f) => [f, { transport: { type: 'data-channel', label: mediaSignalingLabel(f) } }]));
  }

  profileChanged(p: ParticipantRecord): void {
    const session = this.sessions.get(p.sid);
    // Opening is idempotent: the server takes the newest profile for the session it holds.
    if (session) this.enqueue(p.sid, () => this.open(session));
  }

  leave(p: ParticipantRecord): void {
    const session = this.sessions.get(p.sid);
    this.sessions.close(p.sid);
    this.inbox.delete(p.sid);
    this.dirty.delete(p.sid);
    if (session) this.enqueue(p.sid, () => this.quietly(this.d.client.closeSession(session.server, session.id)));
  }

  roomEnded(roomSid: string): void {
    const server = this.sessions.serverOf(roomSid);
    for (const s of this.sessions.ofRoom(roomSid)) {
      this.inbox.delete(s.participantSid);
      this.dirty.delete(s.participantSid);
    }
    this.sessions.purgeRoom(roomSid, this.d.participants.all(roomSid).map((p) => p.sid));
    if (server) this.enqueue(`room:${roomSid}`, () => this.quietly(this.d.client.closeRoom(server, roomSid)));
  }

  /** Where a participant's media is now (its session id and server), for recordings; null without a session. */
  sessionOf(participantSid: string): { id: string; server: string } | null {
    const session = this.sessions.get(participantSid);
    return session ? { id: session.id, server: session.server } : null;
  }

  settled(participantSid: string, timeoutMs: number): Promise<void> {
    return this.queues.idle(participantSid, timeoutMs);
  }

  async onDeadline(key: string, now: number): Promise<boolean> {
    if (key !== MEDIA_CHECK) return false;
    await this.check(now);
    return true;
  }

  // ---- The asynchronous part: calls to the media server, one participant's at a time ----

  /** Creates the session at its server, answers the client's offer, then sends what it receives. */
  private async establish(participantSid: string, session: MediaSession, initial: PeerConnectionEntry[] | null): Promise<void> {
    if (!this.isCurrent(session)) return;
    await this.open(session);
    if (initial) {
      this.inbox.set(participantSid, [...initial, ...(this.inbox.get(participantSid) ?? [])]);
      await this.deliverInbox(participantSid);
    } else {
      // No offer to answer (a client that connected without one, or one moved to a new session):
      // it is asked to offer on the session's connection.
      this.send(participantSid, session, [{ id: session.pc, description: { type: 'create-offer', revision: 1 } }]);
    }
    this.markDirty(participantSid);
  }

  /** Creates the session at its server (or updates it): its room, connection, codec and the client's options. */
  private async open(session: MediaSession): Promise<void> {
    if (!this.isCurrent(session)) return;
    const p = this.d.participants.get(session.participantSid);
    await this.d.client.openSession(session.server, session.id, {
      room: session.roomSid,
      participant: session.participantSid,
      pc: session.pc,
      videoCodec: this.d.videoCodec(session.roomSid),
      features: p?.mediaSignaling ?? [],
      profile: p?.bandwidthProfile ?? {},
    });
  }

  /** Hands the media server everything the client sent since the last call, in one request. */
  private async deliverInbox(participantSid: string): Promise<void> {
    const entries = this.inbox.get(participantSid);
    this.inbox.delete(participantSid);
    const session = this.sessions.get(participantSid);
    if (!entries?.length || !session) return;
    const { entries: replies } = await this.d.client.signal(session.server, session.id, coalesceIce(entries));
    this.send(participantSid, session, replies);
  }

  /** Tells the media server what the participant receives now; sends the client the result. */
  private async reconcile(participantSid: string): Promise<void> {
    this.dirty.delete(participantSid);
    const session = this.sessions.get(participantSid);
    const p = this.d.participants.get(participantSid);
    if (!session || !p || p.status === 'disconnected') return;
    const present = this.d.participants.present(p.roomSid);
    // Only publishers with a media session can be received from (one that has none yet is added
    // once it has: its join marks everyone for another reconcile).
    const applied: Subscription[] = [];
    const tracks: SubscribedTrack[] = [];
    for (const s of subscriptionsOf(p, present)) {
      const source = this.sessions.get(s.publisher.sid);
      if (!source) continue;
      applied.push(s);
      tracks.push({ session: source.id, id: s.track.id, kind: s.track.kind, sid: s.track.sid, priority: trackPriority(s.track.priority) });
    }
    const { entries } = await this.d.client.subscribe(session.server, session.id, tracks);
    // Read again after the await: the participant may have left, or changed, meanwhile.
    const now = this.d.participants.get(participantSid);
    const current = this.sessions.get(participantSid);
    if (!now || now.status === 'disconnected' || !current || current.id !== session.id) return;
    this.sessions.setSubscribed(participantSid, applied.map(({ publisher, track }) => ({ publisher: publisher.sid, track: track.sid })));
    now.subscribedRevision += 1;
    this.d.participants.save(now);
    this.send(participantSid, current, entries, subscribedState(now, applied));
  }

  /**
   * Moves a participant to a new session: on the room's server (which may have just changed), with
   * a new connection id. The client closes its old connection and offers on the new one; everyone
   * who receives its tracks is pointed at the new session.
   */
  private async move(participantSid: string, why: string): Promise<void> {
    const old = this.sessions.get(participantSid);
    const p = this.d.participants.get(participantSid);
    if (!old || !p || p.status === 'disconnected') return;
    const server = this.serverFor(old.roomSid);
    logInfo({ event: 'media-session-moved', roomSid: old.roomSid, participantSid, message: `media session moved to ${server}: ${why}`, from: old.server, to: server, why });
    const session = this.sessions.open({
      participantSid,
      roomSid: old.roomSid,
      server,
      id: `${participantSid}.${old.generation + 1}`,
      pc: crypto.randomUUID(),
      generation: old.generation + 1,
    });
    this.inbox.delete(participantSid);
    this.d.sessionMoved(old.roomSid);
    // The old connection is closed on the client now, so it stops using a dead server at once; and
    // it is told it receives nothing until the new one carries its tracks again. Its remote tracks
    // are bound to the old connection's receivers, which the client never re-binds: only a new
    // subscription (trackUnsubscribed, then trackSubscribed) gives the app tracks that play.
    p.subscribedRevision += 1;
    this.d.participants.save(p);
    this.d.sockets.sendTo(participantSid, {
      type: 'update',
      subscribed: subscribedState(p, []),
      peer_connections: [{ id: old.pc, description: { type: 'close', revision: 1 } }],
    });
    if (old.server !== server) void this.quietly(this.d.client.closeSession(old.server, old.id));
    for (const other of this.d.participants.present(old.roomSid)) if (other.sid !== participantSid) this.markDirty(other.sid);
    await this.establish(participantSid, session, null);
  }

  /**
   * The media check: asks each server this object's rooms are on which sessions it holds. Sessions
   * it lost (it restarted) are re-created; a server that stays unreachable is given up for the next
   * configured one. Runs again while any session is open.
   */
  private async check(now: number): Promise<void> {
    const rooms = this.sessions.rooms();
    for (const { roomSid, server } of rooms) {
      let held: Set<string>;
      try {
        const info = await this.d.client.room(server, roomSid);
        held = new Set(info.sessions.filter((s) => s.state !== 'closed' && s.state !== 'failed').map((s) => s.id));
        this.failures.delete(server);
      } catch (err) {
        const failed = (this.failures.get(server) ?? 0) + 1;
        this.failures.set(server, failed);
        logWarn({ event: 'media-check-failed', roomSid, message: `media server ${server} did not answer the check`, server, failed, error: err });
        if (failed >= FAILED_CHECKS_BEFORE_MOVING && this.d.config.servers.length > 1) {
          this.sessions.setServer(roomSid, this.nextServer(server));
          for (const s of this.sessions.ofRoom(roomSid)) this.enqueue(s.participantSid, () => this.move(s.participantSid, `server ${server} unreachable`));
        }
        continue;
      }
      for (const s of this.sessions.ofRoom(roomSid)) {
        // A session created since the question was asked may not be listed yet; its queue is busy.
        if (!held.has(s.id) && !this.queues.has(s.participantSid)) {
          this.enqueue(s.participantSid, () => this.move(s.participantSid, 'session lost by the media server'));
        }
      }
    }
    if (this.sessions.rooms().length > 0) this.scheduleCheck(now + CHECK_INTERVAL_MS, true);
  }

  // ---- Helpers ----

  private enqueue(key: string, job: () => Promise<void>): void {
    void this.queues.run(key, async () => {
      try {
        await job();
      } catch (err) {
        await this.failed(key, err);
      }
    });
  }

  /** Coalesces subscription changes: one reconcile runs for any number of changes queued meanwhile. */
  private markDirty(participantSid: string): void {
    if (this.dirty.has(participantSid)) return;
    this.dirty.add(participantSid);
    this.enqueue(participantSid, async () => {
      if (this.dirty.has(participantSid)) await this.reconcile(participantSid);
    });
  }

  private async failed(key: string, err: unknown): Promise<void> {
    if (!(err instanceof MediaServerError)) throw err;
    const session = this.sessions.get(key);
    if (err.failure === 'unknown-session' && session) {
      await this.move(key, 'session unknown to the media server');
    } else if (err.failure === 'needs-new-session' && session) {
      await this.move(key, err.message);
    } else if (err.failure === 'rejected' && session) {
      logWarn({ event: 'media-request-rejected', roomSid: session.roomSid, participantSid: key, code: err.code, message: err.message });
      await this.d.kick(key, new TwilioError(err.code, err.message));
    } else {
      // Unreachable: the media check soon finds out whether the server is gone.
      logWarn({ event: 'media-server-unreachable', participantSid: key, message: err.message });
      this.scheduleCheck(Date.now() + RECHECK_AFTER_FAILURE_MS, true);
    }
  }

  private send(participantSid: string, session: MediaSession, entries: PeerConnectionEntry[], subscribed?: unknown): void {
    const last = [...entries].reverse().find((e) => e.id === session.pc && e.description)?.description;
    if (last) this.sessions.setSent(participantSid, last);
    if (entries.length === 0 && subscribed === undefined) return;
    const body: Record<string, unknown> = { type: 'update' };
    if (entries.length) body.peer_connections = entries;
    // Announced again with every negotiation: a client moved to a new connection lost its feature
    // channels with the old one, and sets them up again only from a message that names them.
    if (last) {
      const p = this.d.participants.get(participantSid);
      const features = p ? this.mediaSignaling(p) : undefined;
      if (features) body.media_signaling = features;
    }
    if (subscribed !== undefined) body.subscribed = subscribed;
    this.d.sockets.sendTo(participantSid, body);
  }

  /** The server the room is on, placing it first if needed: a stable choice among the configured ones. */
  private serverFor(roomSid: string): string {
    const placed = this.sessions.serverOf(roomSid);
    if (placed && this.d.config.servers.includes(placed)) return placed;
    const servers = this.d.config.servers;
    const server = servers[hash(roomSid) % servers.length]!;
    this.sessions.setServer(roomSid, server);
    return server;
  }

  private nextServer(server: string): string {
    const servers = this.d.config.servers;
    return servers[(servers.indexOf(server) + 1) % servers.length]!;
  }

  private isCurrent(session: MediaSession): boolean {
    return this.sessions.get(session.participantSid)?.id === session.id;
  }

  private scheduleCheck(at: number, sooner: boolean): void {
    const due = this.d.scheduler.get(MEDIA_CHECK);
    if (due === undefined || (sooner && at < due)) this.d.scheduler.set(MEDIA_CHECK, at);
  }

  private async quietly(call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (err) {
      // Closing what may already be gone: the server forgets sessions it no longer needs on its own.
      logWarn({ event: 'media-close-failed', message: 'closing a media session failed', error: err });
    }
  }
}

/** A publisher's priority as the media server takes it; anything else counts as standard. */
function trackPriority(priority: string): TrackPriority {
  return isTrackPriority(priority) ? priority : 'standard';
}

/** ICE entries are cumulative per connection: of several queued, only the newest matters. */
function coalesceIce(entries: PeerConnectionEntry[]): PeerConnectionEntry[] {
  const out: PeerConnectionEntry[] = [];
  for (const entry of entries) {
    const previous = out[out.length - 1];
    if (previous && previous.id === entry.id && !previous.description && !entry.description && previous.ice && entry.ice) {
      out[out.length - 1] = entry;
    } else {
      out.push(entry);
    }
  }
  return out;
}

/** FNV-1a: a stable spread of rooms over servers. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
