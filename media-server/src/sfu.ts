import { randomUUID } from 'node:crypto';
import type { RecordingState } from '../../core/recordings';
import { DEFAULT_RECORDINGS_DIR, type MediaServerConfig } from './config';
import type { ControlTarget } from './control/http-server';
import { ControlError, notFound } from './control/errors';
import type { RecordingsBody, SessionBody } from './control/validate';
import { Recordings } from './recording/recordings';
import { Room } from './room';
import { Session } from './session/session';
import type { LocalStore } from './storage/local-store';
import type { PeerConnectionEntry, SessionInfo, TrackRef } from './types';

/** How often sessions run their periodic work (receiver reports, NACK retries, bitrate estimates). */
const TICK_MS = 1_000;
/** How often rooms look for their dominant speaker. */
const SPEAKER_TICK_MS = 250;

/**
 * The media server: rooms and the participants' sessions in them, driven by the Room objects over
 * the control API. It decides nothing about who is in a room or who receives what; it holds the
 * connections, forwards what it is told to, and records what it is ordered to (recording/). A
 * session whose connection never comes up, or fails, is closed after SFU_SESSION_IDLE_SECONDS; the
 * Room object notices at its next check.
 */
export class Sfu implements ControlTarget {
  readonly boot = randomUUID();
  private readonly rooms = new Map<string, Room>();
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;
  private readonly speakerTimer: NodeJS.Timeout;
  private readonly counters = { sessionsOpened: 0, sessionsClosed: 0, signals: 0, subscriptions: 0, rejected: 0 };
  /** The rooms' recordings: kept apart from the rooms, which go when their last session does. */
  private readonly recorded: Recordings;

  constructor(private readonly config: MediaServerConfig) {
    this.recorded = new Recordings({
      dir: config.recordingsDir ?? DEFAULT_RECORDINGS_DIR,
      publication: (room, key) => this.rooms.get(room)?.publication(key),
      log,
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.speakerTimer = setInterval(() => {
      const now = Date.now();
      for (const room of this.rooms.values()) room.detectSpeaker(now);
    }, SPEAKER_TICK_MS);
    this.speakerTimer.unref();
  }

  /** Creates a session, or finds it (a repeated request), taking the client's newest bandwidth profile. */
  openSession(id: string, body: SessionBody): SessionInfo {
    const existing = this.sessions.get(id);
    if (existing) {
      if (existing.roomSid !== body.room || existing.participant !== body.participant || existing.pc !== body.pc) {
        throw new ControlError(409, 53000, `session ${id} exists for another room, participant or connection`);
      }
      existing.setProfile(body.profile);
      return existing.info();
    }
    let room = this.rooms.get(body.room);
    if (!room) {
      // The room's video codec is fixed by its first session: everyone forwards the same one.
      room = new Room(body.room, body.videoCodec ?? 'VP8', this.recorded);
      this.rooms.set(body.room, room);
    }
    const r = room;
    const options = { portRange: this.config.rtcPortRange, bindAddress: this.config.bindAddress, announcedAddresses: this.config.announcedAddresses };
    const session = new Session(id, body.room, body.participant, body.pc, r, options, (s) => this.forget(s), { features: body.features, profile: body.profile });
    this.sessions.set(id, session);
    r.sessions.set(id, session);
    this.counters.sessionsOpened++;
    log('session-opened', { room: body.room, participant: body.participant, session: id });
    return session.info();
  }

  async signal(id: string, entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]> {
    this.counters.signals++;
    return this.guard(id, () => this.session(id).signal(entries));
  }

  async subscribe(id: string, tracks: TrackRef[]): Promise<PeerConnectionEntry[]> {
    this.counters.subscriptions++;
    return this.guard(id, () => this.session(id).subscribe(tracks));
  }

  closeSession(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    session.close();
    return true;
  }

  room(roomSid: string): SessionInfo[] {
    return [...(this.rooms.get(roomSid)?.sessions.values() ?? [])].map((s) => s.info());
  }

  closeRoom(roomSid: string): number {
    this.recorded.closeRoom(roomSid);
    const room = this.rooms.get(roomSid);
    if (!room) return 0;
    const sessions = [...room.sessions.values()];
    for (const s of sessions) s.close();
    this.rooms.delete(roomSid);
    return sessions.length;
  }

  stats(): Record<string, unknown> {
    const usage = process.cpuUsage();
    return {
      boot: this.boot,
      rooms: this.rooms.size,
      sessions: this.sessions.size,
      ...this.counters,
      cpuMicros: usage.user + usage.system,
      rss: process.memoryUsage().rss,
      detail: [...this.rooms.values()].map((r) => ({ room: r.sid, ...r.counts(), sessions: [...r.sessions.values()].map((s) => s.stats()) })),
    };
  }

  recordings(roomSid: string): RecordingState[] {
    return this.recorded.list(roomSid);
  }

  putRecordings(roomSid: string, body: RecordingsBody): RecordingState[] {
    return this.recorded.put(roomSid, body.recordings, body.acknowledged);
  }

  get media(): LocalStore {
    return this.recorded.local;
  }

  /** Startup, before listening: finishes every recording a previous process left in the spool. */
  recover(): Promise<void> {
    return this.recorded.recover();
  }

  /** Shutdown: stops every recording and resolves once each is stored (or failed). */
  finishRecordings(): Promise<void> {
    return this.recorded.stopAll();
  }

  /** Closes everything (shutdown). */
  close(): void {
    clearInterval(this.timer);
    clearInterval(this.speakerTimer);
    for (const s of [...this.sessions.values()]) s.close();
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`session ${id}`);
    return s;
  }

  /** A request that fails on a session's own input (bad SDP, an ICE restart) is logged with it. */
  private async guard<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ControlError && err.status !== 404) {
        this.counters.rejected++;
        log('request-rejected', { session: id, code: err.code, status: err.status, message: err.message });
      }
      throw err;
    }
  }

  private forget(s: Session): void {
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    this.counters.sessionsClosed++;
    const room = this.rooms.get(s.roomSid);
    room?.sessions.delete(s.id);
    if (room && room.sessions.size === 0) this.rooms.delete(s.roomSid);
    log('session-closed', { room: s.roomSid, participant: s.participant, session: s.id });
  }

  private tick(): void {
    const now = Date.now();
    const idleMs = this.config.sessionIdleSeconds * 1000;
    for (const s of [...this.sessions.values()]) {
      const state = s.info().state;
      if (state === 'failed' || state === 'closed' || (s.connectedAt === null && now - s.createdAt > idleMs)) {
        log('session-expired', { session: s.id, state });
        s.close();
        continue;
      }
      s.tick(now);
    }
  }
}

export function log(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ at: new Date().toISOString(), event, ...fields }));
}
