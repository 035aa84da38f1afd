import { logError, logInfo, logWarn } from '../../../core/log';
import type { RecordingSettings } from '../../../core/recording-settings';
import type { RecordingOrder, RecordingRecord, RecordingState } from '../../../core/recordings';
import type { RoomRecord } from '../../../core/room-record';
import { isGroupType } from '../../../core/room-record';
import { newSid } from '../../../core/sids';
import { recordingEvent } from '../callback-events';
import type { RecordingsReply } from '../media/sfu/media-server-client';
import { WorkQueues } from '../media/sfu/work-queue';
import type { ParticipantStore } from '../participants/participant-store';
import type { RoomRows } from '../retention';
import type { RoomStore } from '../room-store';
import type { Scheduler } from '../scheduler';
import type { PublisherSession, RecordingPlan } from './recording-plan';
import { planRecordings } from './recording-plan';
import { failedRecord, finishedRecord, isFinalState } from './recording-states';
import { storageFor } from './recording-storage';
import type { RecordingRoom, StoredRecording } from './recording-store';
import { RecordingStore } from './recording-store';
import { RecordingRulesResource, rulesInForce } from './recording-rules-resource';
import type { RecordingsCatalog } from './recording-catalog-sync';
import { RECORDINGS_CATALOG, RecordingCatalogSync } from './recording-catalog-sync';

/** Deadline key of the media server poll. */
export const RECORDINGS_POLL = 'recordings:poll';
/** How often the media server is asked about recordings while any is unsettled. */
const POLL_MS = 1_000;
/** How soon after a failed exchange (or settings read) it is tried again. */
const RETRY_MS = 5_000;
/** A media server that stays unreachable this long after its room ended leaves its recordings failed. */
export const GIVE_UP_AFTER_END_MS = 10 * 60_000;
/** How long a rule change waits for the media server to take the new orders before answering. */
const SETTLE_MS = 5_000;

/** What recording needs of a group room's media: where each publisher is, the codec, the media server's orders. */
export interface RecordingMedia {
  /** The participant's media session now, or null without one. */
  sessionOf(participantSid: string): PublisherSession | null;
  /** The codec the room's video is forwarded (and so recorded) in. */
  videoCodec(): 'VP8' | 'H264';
  /** PUT /v1/rooms/{room}/recordings at `server` (media-server-client.ts). */
  recordings(server: string, roomSid: string, orders: RecordingOrder[], acknowledged: string[]): Promise<RecordingsReply>;
}

/** What the Room object hands its recordings. */
export interface RecordingsDeps {
  sql: SqlStorage;
  scheduler: Pick<Scheduler, 'set' | 'get' | 'clear'>;
  rooms: Pick<RoomStore, 'get'>;
  participants: Pick<ParticipantStore, 'present' | 'get'>;
  /** Sends a signaling message to a participant (the `recording` update). */
  sendTo(participantSid: string, message: Record<string, unknown>): void;
  /** Queues a status callback (outbox.ts), in the same step as the change it reports. */
  callback(roomSid: string, event: ReturnType<typeof recordingEvent>): void;
  /** The room's media when it is recorded (a group room on a media server); null otherwise. */
  media(roomSid: string): RecordingMedia | null;
  catalog(): RecordingsCatalog | null;
  now?: () => number;
}

/**
 * Group rooms' recordings: the Room object decides what is recorded, the media server writes it.
 *
 * After every change that can affect it (tracks published or unpublished, participants joining or
 * leaving, a publisher moved to a new media session, the rules, the room's end), the room's rules
 * are applied to what is published (recording-plan.ts): a new Recording for each track to record
 * that has none writing, a stop for each that should no longer be written. Then the room's media
 * server is given the full set that should be writing (RecordingOrder), and its answer applied:
 * offsets once media flows, duration, size and status once a file is stored. While any recording
 * is unsettled, the server is asked again every second (RECORDINGS_POLL). Every change of a
 * resource is pushed to the account's catalog, retried until it is taken; starts and ends are
 * status callbacks; `is_recording` is sent to every client when it changes.
 *
 * A room's work runs one job at a time (work-queue.ts), so the plan, the order and its answer never
 * interleave with another of the same room. None is left `processing` forever: one the media server
 * lost in a restart fails, and so do those of a server unreachable for GIVE_UP_AFTER_END_MS after
 * the room ended.
 */
export class Recordings implements RoomRows {
  readonly store: RecordingStore;
  private readonly queues = new WorkQueues();
  /** Rooms with a reconcile queued that has not started yet (changes meanwhile coalesce into it). */
  private readonly dirty = new Set<string>();
  private readonly now: () => number;
  private readonly catalogSync: RecordingCatalogSync;
  /** The RecordingRules resource: read, and replaced (applied at once). */
  readonly rules: RecordingRulesResource;

  constructor(private readonly d: RecordingsDeps) {
    this.store = new RecordingStore(d.sql);
    this.now = d.now ?? Date.now;
    this.catalogSync = new RecordingCatalogSync(this.store, d.scheduler, d.catalog, this.now);
    this.rules = new RecordingRulesResource({ store: this.store, rooms: d.rooms, now: this.now, changed: (roomSid) => this.changed(roomSid) });
  }

  /** Resolves once the room's queued recording work is done (or after a few seconds). */
  settled(roomSid: string): Promise<void> {
    return this.queues.idle(roomSid, SETTLE_MS);
  }

  // ---- Changes ----

  /**
   * Something that decides what is recorded in the room may have changed. The room is planned and
   * its media server ordered right after the current step (a queued job), never inside it: the
   * step's own writes (a participant's tracks, its session) are then all in place.
   */
  changed(roomSid: string): void {
    if (this.dirty.has(roomSid)) return;
    this.dirty.add(roomSid);
    this.enqueue(roomSid);
  }

  /** Runs a due deadline of recordings; false when the key is not one. */
  async onDeadline(key: string): Promise<boolean> {
    if (key === RECORDINGS_CATALOG) {
      await this.publish();
      return true;
    }
    if (key !== RECORDINGS_POLL) return false;
    // Cleared first: the jobs set it again (for a second later) while anything is unsettled.
    this.d.scheduler.clear(RECORDINGS_POLL);
    await this.poll();
    return true;
  }

  /** Plans every room with unsettled recordings again and asks its media server about them. */
  private async poll(): Promise<void> {
    await Promise.all(this.store.unsettledRooms().map((roomSid) => this.enqueue(roomSid)));
  }

  /** Pushes every recording change the catalog has not taken (recording-catalog-sync.ts). */
  publish(): Promise<void> {
    return this.catalogSync.publish();
  }

  /** Retention: forgets the room's recordings here (the catalog keeps the resources). */
  purgeRoom(roomSid: string): void {
    this.store.purgeRoom(roomSid);
  }

  // ---- One room's job: plan, order, apply the answer ----

  private enqueue(roomSid: string): Promise<void> {
    return this.queues.run(roomSid, async () => {
      this.dirty.delete(roomSid);
      let retryAt: number | null = null;
      try {
        if (!(await this.reconcile(roomSid))) retryAt = this.now() + RETRY_MS;
      } catch (err) {
        logError({ event: 'recordings-failed', roomSid, message: `recordings of room ${roomSid} could not be brought up to date; retrying`, error: err });
        retryAt = this.now() + RETRY_MS;
      }
      await this.publish();
      if (retryAt === null && this.store.unsettledRooms().length) retryAt = this.now() + POLL_MS;
      if (retryAt !== null) this.schedulePoll(retryAt);
    });
  }

  /** Plans the room, starts and stops recordings, then orders its media servers. False when something must be retried. */
  private async reconcile(roomSid: string): Promise<boolean> {
    const room = this.d.rooms.get(roomSid);
    if (!room) return true;
    const media = isGroupType(room.type) ? this.d.media(roomSid) : null;
    let settings: RecordingSettings | null = null;
    if (this.plan(room, media).start.length) {
      // Storage is chosen when a recording is created, from the account's settings now.
      try {
        settings = (await this.d.catalog()?.recordingSettings()) ?? null;
      } catch (err) {
        logWarn({ event: 'recording-settings-unavailable', roomSid, message: 'the account recording settings could not be read; recordings start on the next try', error: err });
        return false;
      }
    }
    // Planned again: the room may have changed during the read.
    const current = this.d.rooms.get(roomSid) ?? room;
    this.apply(current, this.plan(current, media), settings, media);
    return this.exchange(roomSid, media);
  }

  private plan(room: RoomRecord, media: RecordingMedia | null): RecordingPlan {
    const writing = this.store.ofRoom(room.sid).filter((r) => r.wanted && r.record.status === 'processing');
    if (!media || room.status !== 'in-progress') return { start: [], stop: writing };
    const rules = rulesInForce(room, this.store.room(room.sid));
    return planRecordings(rules, this.d.participants.present(room.sid), (sid) => media.sessionOf(sid), writing);
  }

  /** Creates the plan's new recordings (recording-started) and takes the stopped ones out of the orders. */
  private apply(room: RoomRecord, plan: RecordingPlan, settings: RecordingSettings | null, media: RecordingMedia | null): void {
    const now = this.now();
    for (const r of plan.stop) this.store.save({ ...r, wanted: false }, false);
    for (const { participant, track, session } of plan.start) {
      const sid = newSid('RT');
      const audio = track.kind === 'audio';
      const container = audio ? 'mka' : 'mkv';
      const record: RecordingRecord = {
        sid,
        accountSid: room.accountSid,
        roomSid: room.sid,
        participantSid: participant.sid,
        sourceSid: track.sid,
        trackName: track.name || track.sid,
        type: track.kind,
        codec: audio ? 'OPUS' : (media?.videoCodec() ?? 'VP8'),
        container,
        status: 'processing',
        dateCreated: now,
        dateUpdated: now,
        duration: null,
        size: null,
        offset: null,
        key: `${room.accountSid}/${sid}.${container}`,
        storage: storageFor(settings, session.server),
        statusCallback: room.statusCallback,
        statusCallbackMethod: room.statusCallbackMethod,
      };
      // The resource (catalog, recording-started) appears with the first media (applyState).
      this.store.save({ record, session: session.id, trackId: track.id, server: session.server, wanted: true, told: false, acknowledged: false, startedAt: null }, true);
      logInfo({ event: 'recording-ordered', roomSid: room.sid, participantSid: participant.sid, message: `recording ${sid} of track ${track.sid} ordered`, recordingSid: sid });
    }
    if (plan.start.length || plan.stop.length) this.updateIsRecording(room.sid);
  }

  /** Orders each media server the room's recordings are on; false when one did not answer. */
  private async exchange(roomSid: string, media: RecordingMedia | null): Promise<boolean> {
    const servers = new Set(this.store.ofRoom(roomSid).filter(unsettled).map((r) => r.server));
    let answered = true;
    for (const server of servers) {
      const rows = this.store.ofRoom(roomSid).filter((r) => r.server === server && unsettled(r));
      const orders = rows.filter((r) => r.wanted && r.record.status === 'processing').map(orderOf);
      const acknowledged = rows.filter((r) => r.record.status !== 'processing').map((r) => r.record.sid);
      let reply: RecordingsReply;
      try {
        if (!media) throw new Error('the room has no media server to record it');
        reply = await media.recordings(server, roomSid, orders, acknowledged);
      } catch (err) {
        this.unreachable(roomSid, server, err);
        answered = false;
        continue;
      }
      this.applyReply(roomSid, server, orders, acknowledged, reply);
    }
    return answered;
  }

  /** Applies a media server's answer: states of what it writes, and what it no longer knows. */
  private applyReply(roomSid: string, server: string, orders: RecordingOrder[], acknowledged: string[], reply: RecordingsReply): void {
    const now = this.now();
    const state = this.store.room(roomSid);
    const previousBoot = state.boots[server];
    const restarted = previousBoot !== undefined && previousBoot !== reply.boot;
    state.boots = { ...state.boots, [server]: reply.boot };
    state.unreachableSince = null;
    const states = new Map(reply.recordings.map((s) => [s.sid, s]));
    const ordered = new Set(orders.map((o) => o.sid));
    const acked = new Set(acknowledged);
    const room = this.d.rooms.get(roomSid);
    const rows = this.store.ofRoom(roomSid);
    // Offsets count from the room's earliest start, whichever recording this answer reports first.
    for (const r of rows) {
      const startedAt = r.startedAt === null ? states.get(r.record.sid)?.startedAt : null;
      if (typeof startedAt === 'number') state.firstStartedAt = Math.min(state.firstStartedAt ?? startedAt, startedAt);
    }
    let finished = false;
    for (const r of rows) {
      if (r.server !== server) continue;
      if (acked.has(r.record.sid)) {
        this.store.save({ ...r, acknowledged: true }, false);
        continue;
      }
      if (r.record.status !== 'processing') continue;
      const toldBefore = r.told;
      const told = { ...r, told: r.told || ordered.has(r.record.sid) };
      const s = states.get(r.record.sid);
      // A server that restarted lists what it recovered as final; one it lists as writing again,
      // after it had started, is our own order re-sent to a server that lost it.
      if (s && !(restarted && toldBefore && s.status === 'recording' && r.startedAt !== null)) {
        finished = this.applyState(room, state, told, s, now) || finished;
      } else if (s || !ordered.has(r.record.sid)) {
        const why = s || toldBefore ? `the media server at ${server} lost it${restarted ? ' in a restart' : ''}` : 'it stopped before the media server was told to write it';
        this.fail(room, told, now, why, s !== undefined);
        finished = true;
      } else {
        this.store.save(told, false);
      }
    }
    this.store.saveRoom(roomSid, { ...this.store.room(roomSid), boots: state.boots, unreachableSince: null, firstStartedAt: state.firstStartedAt });
    if (finished) this.updateIsRecording(roomSid);
  }

  /** Applies one recording's state; true when it became final. */
  private applyState(room: RoomRecord | null, state: RecordingRoom, r: StoredRecording, s: RecordingState, now: number): boolean {
    let changed = false;
    let next = r;
    if (s.startedAt !== null && r.startedAt === null) {
      const first = state.firstStartedAt ?? s.startedAt;
      next = { ...next, startedAt: s.startedAt, record: { ...next.record, offset: Math.max(0, s.startedAt - first), dateUpdated: now } };
      changed = true;
      this.event(room, 'recording-started', next.record);
      logInfo({ event: 'recording-started', roomSid: r.record.roomSid, participantSid: r.record.participantSid, message: `recording ${r.record.sid} started`, recordingSid: r.record.sid });
    }
    if (!isFinalState(s)) {
      this.store.save(next, changed);
      return false;
    }
    if (next.startedAt === null) {
      // No media ever came (its publisher left, or moved, before sending any): no resource, no events.
      this.store.save({ ...next, wanted: false, record: { ...next.record, status: 'failed', dateUpdated: now } }, false);
      logInfo({ event: 'recording-discarded', roomSid: r.record.roomSid, participantSid: r.record.participantSid, message: `recording ${r.record.sid} got no media: discarded`, recordingSid: r.record.sid });
      return true;
    }
    next = { ...next, record: finishedRecord(next.record, s, now) };
    this.store.save(next, true);
    if (s.status === 'failed') {
      logWarn({ event: 'recording-failed', roomSid: r.record.roomSid, participantSid: r.record.participantSid, message: `recording ${r.record.sid} failed: ${s.error ?? 'no reason given'}`, recordingSid: r.record.sid });
    }
    this.finalEvent(room, next.record);
    return true;
  }

  /**
   * Marks a recording failed without a final state from its media server (it is lost to it).
   * `known`: the server still lists it, so it is told to forget it on the next exchange.
   */
  private fail(room: RoomRecord | null, r: StoredRecording, now: number, why: string, known = false): void {
    const record = failedRecord(r.record, now);
    this.store.save({ ...r, wanted: false, acknowledged: !known, record }, true);
    logWarn({ event: 'recording-failed', roomSid: record.roomSid, participantSid: record.participantSid, message: `recording ${record.sid} failed: ${why}`, recordingSid: record.sid });
    // One that never got media was never a resource: nothing to report.
    if (r.startedAt !== null) this.finalEvent(room, record);
  }

  private finalEvent(room: RoomRecord | null, record: RecordingRecord): void {
    this.event(room, record.status === 'completed' ? 'recording-completed' : 'recording-failed', record);
  }

  private event(room: RoomRecord | null, event: Parameters<typeof recordingEvent>[1], record: RecordingRecord): void {
    if (!room) return;
    const identity = this.d.participants.get(record.participantSid)?.identity ?? '';
    this.d.callback(room.sid, recordingEvent(room, event, record, identity));
  }

  /**
   * A media server did not answer. While the room is in progress it is asked again (its sessions
   * move to another server if it is gone, and their recordings with them); once the room has ended,
   * its recordings fail after GIVE_UP_AFTER_END_MS of silence.
   */
  private unreachable(roomSid: string, server: string, err: unknown): void {
    const now = this.now();
    const state = this.store.room(roomSid);
    if (state.unreachableSince === null) {
      logWarn({ event: 'recording-server-unreachable', roomSid, message: `media server ${server} did not answer about recordings; asking again`, server, error: err });
      this.store.saveRoom(roomSid, { ...state, unreachableSince: now });
      return;
    }
    const room = this.d.rooms.get(roomSid);
    if (room?.status === 'in-progress') return;
    const since = Math.max(state.unreachableSince, room?.endTime ?? 0);
    if (now - since < GIVE_UP_AFTER_END_MS) return;
    for (const r of this.store.ofRoom(roomSid)) {
      if (r.server !== server) continue;
      if (r.record.status === 'processing') this.fail(room, r, now, `media server ${server} unreachable since ${new Date(since).toISOString()}`);
      else if (!r.acknowledged) this.store.save({ ...r, acknowledged: true }, false);
    }
    this.updateIsRecording(roomSid);
  }

  /** Sends every client of the room the new `recording` state when whether it records changed. */
  private updateIsRecording(roomSid: string): void {
    const isRecording = this.store.ofRoom(roomSid).some((r) => r.wanted && r.record.status === 'processing');
    const state = this.store.room(roomSid);
    if (state.isRecording === isRecording) return;
    this.store.saveRoom(roomSid, { ...state, isRecording, revision: state.revision + 1 });
    const recording = this.recordingState(roomSid);
    for (const p of this.d.participants.present(roomSid)) this.d.sendTo(p.sid, { type: 'update', recording });
  }

  /** The room's `recording` field: whether any of its recordings is being written, under its revision. */
  recordingState(roomSid: string): { revision: number; is_recording: boolean } {
    const state = this.store.room(roomSid);
    return { revision: state.revision, is_recording: state.isRecording };
  }

  private schedulePoll(at: number): void {
    const due = this.d.scheduler.get(RECORDINGS_POLL);
    if (due === undefined || at < due) this.d.scheduler.set(RECORDINGS_POLL, at);
  }
}

/** Still needing the media server: writing or finishing, or final but not yet acknowledged to it. */
function unsettled(r: StoredRecording): boolean {
  return r.record.status === 'processing' || !r.acknowledged;
}

function orderOf(r: StoredRecording): RecordingOrder {
  return { sid: r.record.sid, session: r.session, track: r.trackId, kind: r.record.type, key: r.record.key, storage: r.record.storage };
}
