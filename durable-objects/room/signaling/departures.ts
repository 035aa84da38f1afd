import { TwilioError } from '../../../core/errors';
import type { ParticipantRecord } from '../participants/participant-record';
import { participantState } from '../participants/participant-record';
import type { RoomRecord } from '../../../core/room-record';
import type { SignalingContext } from './context';
import { Outgoing } from './outgoing';

/** Deadline keys of a participant's stay: the reconnect window and MaxParticipantDuration. */
export const RECONNECT_PREFIX = 'reconnect:';
export const MAX_DURATION_PREFIX = 'max-duration:';

/**
 * How participants leave: on their own, removed by the server (kicked), or all at once when the
 * room ends. Every way out tells the others, ends the participant's media, reports the status
 * callbacks and may empty the room.
 */
export class Departures {
  constructor(private readonly c: SignalingContext) {}

  /**
   * Removes a participant: others are told, its media ends, the room may empty. `replaced`: a
   * participant with the same identity is joining in the same step, so the room is not emptying.
   */
  leave(p: ParticipantRecord, opts: { replaced?: boolean } = {}): ParticipantRecord {
    const { c } = this;
    const gone: ParticipantRecord = { ...p, status: 'disconnected', disconnectedAt: Date.now(), revision: p.revision + 1 };
    c.participants.save(gone);
    c.scheduler.clear(RECONNECT_PREFIX + p.sid);
    c.scheduler.clear(MAX_DURATION_PREFIX + p.sid);
    const room = c.store.get(p.roomSid);
    const remaining = c.participants.present(p.roomSid);
    const out = new Outgoing();
    for (const other of remaining) out.to(other.sid).participants = [participantState(gone)];
    const media = c.media(p.roomSid);
    media.leave(gone, remaining, out);
    if (p.tracks.length) media.resubscribe(remaining, remaining, out);
    out.flush(c.sockets);
    if (room) {
      for (const t of p.tracks) c.events.trackRemoved(room, gone, t);
      c.events.participantDisconnected(room, gone);
    }
    if (room?.status === 'in-progress' && !opts.replaced) c.lifecycle.participantLeft(remaining.length);
    return gone;
  }

  /** Tells a participant why it is removed, closes its socket and removes it. */
  kick(p: ParticipantRecord, error: TwilioError, opts: { replaced?: boolean } = {}): void {
    const { sockets } = this.c;
    const ws = sockets.of(p.sid);
    if (ws) {
      sockets.sendMsg(ws, { type: 'error', code: error.code, message: error.message });
      sockets.update(ws, { participantSid: null });
      sockets.close(ws, 1000, error.message.slice(0, 120));
      sockets.unbind(p.sid, ws);
    }
    this.leave(p, opts);
  }

  /** REST `Status=disconnected`: removes a participant at once. Null when it had already left. */
  disconnectParticipant(sid: string): ParticipantRecord | null {
    const { participants, sockets } = this.c;
    const p = participants.get(sid);
    if (!p || p.status === 'disconnected') return null;
    const ws = sockets.of(p.sid);
    if (ws) {
      sockets.sendMsg(ws, { type: 'disconnected' });
      sockets.close(ws, 1000, 'disconnected');
    }
    return this.leave(p);
  }

  /** The room completed (REST, timeout or cap): everyone is told, disconnected and closed. */
  roomEnded(room: RoomRecord): void {
    const { c } = this;
    const now = Date.now();
    c.media(room.sid).roomEnded(room.sid);
    for (const p of c.participants.present(room.sid)) {
      const ws = c.sockets.of(p.sid);
      if (ws) {
        c.sockets.sendMsg(ws, { type: 'disconnected', status: 'completed' });
        c.sockets.close(ws, 1000, 'room completed');
        c.sockets.unbind(p.sid, ws);
      }
      const gone = { ...p, status: 'disconnected' as const, disconnectedAt: now, revision: p.revision + 1 };
      c.participants.save(gone);
      c.events.participantDisconnected(room, gone);
    }
    c.scheduler.clearPrefix(RECONNECT_PREFIX);
    c.scheduler.clearPrefix(MAX_DURATION_PREFIX);
    // Sockets still handshaking belong to no participant; close them too.
    for (const ws of c.sockets.all()) {
      const a = c.sockets.attachment(ws);
      if (a && !a.participantSid) {
        c.sockets.sendMsg(ws, { type: 'disconnected', status: 'completed' });
        c.sockets.close(ws, 1000, 'room completed');
      }
    }
  }
}
