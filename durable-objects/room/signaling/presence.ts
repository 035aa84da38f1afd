import { orFallback, perEnv, positiveNumber } from '../../../core/config-error';
import { TwilioError } from '../../../core/errors';
import type { Vars } from '../../../core/vars';
import { participantState } from '../participants/participant-record';
import type { SignalingContext } from './context';
import type { Departures } from './departures';
import { MAX_DURATION_PREFIX, RECONNECT_PREFIX } from './departures';
import { HANDSHAKE_DEADLINE_MS } from './handshakes';

/** Deadline key of the dead-socket sweep. */
export const SWEEP = 'sockets:sweep';

/** How often dead sockets are looked for while anyone is connected. */
const SWEEP_INTERVAL_MS = 10_000;
/** Twilio's error for a participant over the room's MaxParticipantDuration. */
const PARTICIPANT_DURATION_EXCEEDED = 53216;

/** Seconds a dropped participant stays `reconnecting` when SESSION_TIMEOUT_SECONDS is unset. */
export const DEFAULT_SESSION_TIMEOUT_S = 30;

/**
 * SESSION_TIMEOUT_SECONDS (default 30), with the rule the Worker's configuration check applies; a
 * bad value is logged once and the default used, so a reconnect window is never lost to it.
 */
export const sessionTimeoutSeconds = (env: Pick<Vars, 'SESSION_TIMEOUT_SECONDS'>): number =>
  orFallback(() => configuredSessionTimeout(env), DEFAULT_SESSION_TIMEOUT_S);

/** Read once per env (perEnv), so a bad value is one ConfigError, logged once. */
const configuredSessionTimeout = perEnv((env: Pick<Vars, 'SESSION_TIMEOUT_SECONDS'>) =>
  positiveNumber(env, 'SESSION_TIMEOUT_SECONDS', DEFAULT_SESSION_TIMEOUT_S),
);

/**
 * Who is really there. A participant whose socket went away without `disconnect` is
 * `reconnecting` for the session timeout and may come back with `sync`; sockets whose peer
 * vanished are found by a sweep (the runtime does not always report them); MaxParticipantDuration
 * ends a stay.
 */
export class Presence {
  constructor(
    private readonly c: SignalingContext,
    private readonly departures: Departures,
  ) {}

  /** A participant's socket went away without `disconnect`: reconnecting for the session timeout. */
  dropped(participantSid: string, conn: string): void {
    const { c } = this;
    const p = c.participants.get(participantSid);
    if (!p || p.status !== 'connected' || p.conn !== conn) return;
    p.status = 'reconnecting';
    p.revision += 1;
    c.participants.save(p);
    c.scheduler.set(RECONNECT_PREFIX + p.sid, Date.now() + this.sessionTimeoutSeconds() * 1000);
    for (const other of c.participants.present(p.roomSid)) {
      if (other.sid !== p.sid) c.sockets.sendTo(other.sid, { type: 'update', participants: [participantState(p)] });
    }
  }

  /** Handles a due deadline; false if the key is not presence's. */
  onDeadline(key: string, now: number): boolean {
    const { participants } = this.c;
    if (key.startsWith(RECONNECT_PREFIX)) {
      const p = participants.get(key.slice(RECONNECT_PREFIX.length));
      if (p && p.status === 'reconnecting') this.departures.leave(p);
      return true;
    }
    if (key.startsWith(MAX_DURATION_PREFIX)) {
      const p = participants.get(key.slice(MAX_DURATION_PREFIX.length));
      if (p && p.status !== 'disconnected') {
        this.departures.kick(p, new TwilioError(PARTICIPANT_DURATION_EXCEEDED, 'Participant session length exceeded: MaxParticipantDuration reached'));
      }
      return true;
    }
    if (key === SWEEP) {
      this.sweep(now);
      return true;
    }
    return false;
  }

  /**
   * Makes sure a sweep is due while sockets are open. Called once a participant is bound (a
   * verified connect or sync), never for a socket alone: a stranger's socket stores nothing
   * (handshakes.ts closes it in time).
   */
  ensureSweep(now: number): void {
    const { scheduler } = this.c;
    if (scheduler.get(SWEEP) === undefined) scheduler.set(SWEEP, now + SWEEP_INTERVAL_MS);
  }

  sessionTimeoutSeconds(): number {
    return sessionTimeoutSeconds(this.c.env);
  }

  /**
   * Finds sockets whose peer vanished: the runtime does not always deliver webSocketClose for a
   * hibernated socket, so liveness comes from the last auto-answered heartbeat and the last
   * message. A socket silent for three heartbeat intervals is closed and its participant dropped.
   */
  private sweep(now: number): void {
    const { c } = this;
    let live = 0;
    for (const ws of c.sockets.all()) {
      const a = c.sockets.attachment(ws);
      if (!a) continue;
      const heartbeat = c.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const last = Math.max(heartbeat, a.lastSeen, a.openedAt);
      // A backstop only: handshakes.ts closes these on its in-memory timer.
      const handshakeStale = !a.participantSid && now - a.openedAt > HANDSHAKE_DEADLINE_MS;
      if (now - last > 3 * a.negotiatedTimeout + 1_000 || handshakeStale) {
        c.sockets.close(ws, 3001, 'heartbeat timeout');
        if (a.participantSid) {
          c.sockets.unbind(a.participantSid, ws);
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
    const room = c.store.current();
    for (const p of room ? c.participants.present(room.sid) : []) {
      if (p.status === 'connected' && !c.sockets.of(p.sid)) this.dropped(p.sid, p.conn);
    }
    if (live > 0) c.scheduler.set(SWEEP, now + SWEEP_INTERVAL_MS);
  }
}
