import type { RoomRecord, RoomSpec } from '../../core/room-record';
import { ROOM_MAX_LIFETIME_MS } from '../../core/room-record';
import type { RoomStore } from './room-store';
import type { Scheduler } from './scheduler';

/** Deadline keys the lifecycle owns. */
export const UNUSED = 'room:unused';
export const EMPTY = 'room:empty';
export const LIFETIME = 'room:lifetime';
const ROOM_DEADLINES = 'room:';

export type EndReason = 'rest' | 'unused-timeout' | 'empty-timeout' | 'max-lifetime';

/** What the owner does after a status change: mirror to the catalog, notify, disconnect sockets. */
/**
 * What the owner does in the same synchronous step as a status change (so that, for example, a
 * status callback is queued in the same storage transaction as the change that causes it).
 */
export interface LifecycleListener {
  roomStarted(room: RoomRecord): void;
  roomEnded(room: RoomRecord, reason: EndReason): void;
}

/**
 * The room's state machine. Status moves in-progress → completed once; the deadlines that can end a
 * room are kept in the scheduler. Participants only report "joined" and "left".
 */
export class Lifecycle {
  constructor(
    private readonly store: RoomStore,
    private readonly scheduler: Scheduler,
    private readonly listener: LifecycleListener,
    private readonly now: () => number = Date.now,
  ) {}

  start(spec: RoomSpec): RoomRecord {
    const now = this.now();
    const room = this.store.save({ ...spec, status: 'in-progress', dateCreated: now, dateUpdated: now, endTime: null, revision: 0 });
    this.scheduler.set(LIFETIME, now + ROOM_MAX_LIFETIME_MS);
    if (room.unusedRoomTimeout > 0) this.scheduler.set(UNUSED, now + room.unusedRoomTimeout * 60_000);
    this.listener.roomStarted(room);
    return room;
  }

  /** A participant connected: the room is used and not empty. */
  participantJoined(): void {
    this.scheduler.clear(UNUSED);
    this.scheduler.clear(EMPTY);
  }

  /** A participant left; `remaining` are still connected. The last one out starts the empty timeout. */
  participantLeft(remaining: number): void {
    if (remaining > 0) return;
    const room = this.store.current();
    if (!room) return;
    if (room.emptyRoomTimeout > 0) this.scheduler.set(EMPTY, this.now() + room.emptyRoomTimeout * 60_000);
    else this.end(room, 'empty-timeout');
  }

  /** Ends the room now: completed, end time and duration fixed, its deadlines dropped. */
  end(room: RoomRecord, reason: EndReason): RoomRecord {
    const now = this.now();
    const ended = this.store.save({ ...room, status: 'completed', endTime: now, dateUpdated: now });
    this.scheduler.clearPrefix(ROOM_DEADLINES);
    this.listener.roomEnded(ended, reason);
    return ended;
  }

  /** Handles a due deadline; returns false if the key is not the lifecycle's. */
  onDeadline(key: string): boolean {
    const reason: EndReason | undefined =
      key === UNUSED ? 'unused-timeout' : key === EMPTY ? 'empty-timeout' : key === LIFETIME ? 'max-lifetime' : undefined;
    if (!reason) return false;
    const room = this.store.current();
    if (room) this.end(room, reason);
    return true;
  }
}
