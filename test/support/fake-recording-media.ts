import type { RecordingOrder, RecordingState } from '../../core/recordings';
import type { RecordingMedia } from '../../durable-objects/room/recordings/recordings';
import type { RecordingsReply } from '../../durable-objects/room/media/sfu/media-server-client';
import { insideRoomObject, roomObject } from './room-object';

export const FAKE_SERVER = 'http://sfu.atrium.test';

/** One PUT the Room object made: what it ordered and acknowledged. */
export interface RecordingCall {
  orders: RecordingOrder[];
  acknowledged: string[];
}

/**
 * A media server's recordings, in memory, as the control API answers them (the workerd pool runs
 * no media server): an order it does not know starts writing (its media flowing at once unless
 * `autoStart` is off; then `started` says when), one no longer listed finishes (completed, failed
 * when told to, and failed "no media" when none came), acknowledged ones are forgotten. `down`
 * makes every call fail.
 */
export class FakeRecordingMedia implements RecordingMedia {
  boot = 'boot-1';
  down = false;
  /** Media flows as soon as a recording is ordered (its startedAt is the order's time). */
  autoStart = true;
  readonly calls: RecordingCall[] = [];
  readonly states = new Map<string, RecordingState>();
  /** Session generation per participant sid: bump one to simulate a moved session. */
  readonly generations = new Map<string, number>();
  /** What finishing recordings report: media written and file size. */
  finish: { durationMs: number; size: number; status: 'completed' | 'failed' } = { durationMs: 2_400, size: 4_321, status: 'completed' };

  sessionOf(participantSid: string) {
    return { id: `${participantSid}.${this.generations.get(participantSid) ?? 1}`, server: FAKE_SERVER };
  }

  videoCodec(): 'VP8' | 'H264' {
    return 'VP8';
  }

  async recordings(server: string, _roomSid: string, orders: RecordingOrder[], acknowledged: string[]): Promise<RecordingsReply> {
    if (this.down) throw new Error(`media server ${server} did not answer: connection refused`);
    this.calls.push({ orders, acknowledged });
    for (const sid of acknowledged) this.states.delete(sid);
    const ordered = new Set(orders.map((o) => o.sid));
    for (const o of orders) {
      if (!this.states.has(o.sid)) {
        this.states.set(o.sid, { sid: o.sid, status: 'recording', startedAt: this.autoStart ? Date.now() : null, durationMs: 0, size: 0, codec: null, container: o.kind === 'audio' ? 'mka' : 'mkv' });
      }
    }
    for (const [sid, s] of this.states) {
      if (s.status !== 'recording' || ordered.has(sid)) continue;
      const codec = s.container === 'mka' ? 'OPUS' : 'VP8';
      this.states.set(sid, s.startedAt === null ? { ...s, status: 'failed', error: 'no media' } : { ...s, ...this.finish, codec });
    }
    return { boot: this.boot, recordings: [...this.states.values()].map((s) => ({ ...s })) };
  }

  /** Media starts flowing for `sid` at `at` (server clock). */
  started(sid: string, at: number): void {
    const s = this.states.get(sid);
    if (s) this.states.set(sid, { ...s, startedAt: at });
  }

  /** The last PUT's orders, as `<kind>:<track id>@<session>`. */
  lastOrders(): string[] {
    return (this.calls.at(-1)?.orders ?? []).map((o) => `${o.kind}:${o.track}@${o.session}`);
  }
}

/** Makes the Room object of `name` record through `media` (as if its room were on a media server). */
export function useFakeMedia(name: string, media: FakeRecordingMedia): Promise<void> {
  return insideRoomObject(roomObject(name), (instance) => {
    instance.recordingMedia = () => media;
  });
}
