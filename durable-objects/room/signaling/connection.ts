import { ConfigError, configFailure } from '../../../core/config-error';
import { TwilioError } from '../../../core/errors';
import { logError, logWarn } from '../../../core/log';
import type { SignalingContext } from './context';
import type { Departures } from './departures';
import { FloodGuard } from './flood-guard';
import type { Handshakes } from './handshakes';
import type { Presence } from './presence';
import { parseFrame } from './protocol';
import type { RoomMessages } from './room-messages';
import type { SocketAttachment } from './sockets';

const HEARTBEAT_TIMEOUT_RANGE = [1_000, 30_000] as const;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * The connection layer of twilio-video's protocol (twilioconnection.js): sockets are accepted with
 * the Hibernation API, `hello` is answered with `welcome`, heartbeats are echoed, `bye` ends the
 * connection, and the room messages inside `hello` and `msg` go to the room layer, one at a time
 * per socket. Whatever a socket sends that cannot be handled ends that socket's session only.
 */
export class Connection {
  private readonly flood = new FloodGuard();
  /** Per-socket chains: a socket's messages are handled one after another even across awaits. */
  private readonly chains = new WeakMap<WebSocket, Promise<void>>();

  constructor(
    private readonly c: SignalingContext,
    private readonly rooms: RoomMessages,
    private readonly presence: Presence,
    private readonly departures: Departures,
    private readonly handshakes: Handshakes,
  ) {}

  /**
   * Accepts a signaling WebSocket for `roomName` of `accountSid`. Stores nothing: until a verified
   * `connect` or `sync` binds it to a participant, the socket lives in memory and its attachment
   * only, and is closed when its handshake time is over (handshakes.ts). The dead-socket sweep (a
   * stored deadline) starts with the first participant.
   */
  accept(accountSid: string, roomName: string, clientAddress: string | null = null): Response {
    if (!this.handshakes.admits()) return this.handshakes.refuse();
    const pair = new WebSocketPair();
    const now = Date.now();
    this.c.sockets.accept(pair[1], {
      conn: crypto.randomUUID(),
      accountSid,
      roomName,
      phase: 'open',
      negotiatedTimeout: DEFAULT_HEARTBEAT_TIMEOUT_MS,
      participantSid: null,
      identity: null,
      openedAt: now,
      lastSeen: now,
      clientAddress,
    });
    this.handshakes.watch(now);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Handles a frame after the socket's earlier ones. Never rejects: `handle` answers what it can
   * (an `error` to the sender), and whatever still escapes is logged here, once, so the chain goes
   * on to the socket's next frame instead of skipping every later one.
   */
  onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const previous = this.chains.get(ws) ?? Promise.resolve();
    const next = previous.then(() => this.handle(ws, data)).catch((err: unknown) => this.escaped(ws, err));
    this.chains.set(ws, next);
    return next;
  }

  /** The socket closed (or errored) without a `disconnect`: its participant starts reconnecting. Never throws. */
  onClose(ws: WebSocket): void {
    try {
      const { sockets } = this.c;
      const a = sockets.attachment(ws);
      sockets.close(ws, 1000, 'closed');
      if (!a?.participantSid) return;
      sockets.unbind(a.participantSid, ws);
      this.presence.dropped(a.participantSid, a.conn);
    } catch (err) {
      // Never thrown to the runtime, which would only print it without the room.
      logError({ event: 'signaling-close-failed', ...this.where(ws), error: err });
    }
  }

  private async handle(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const { sockets } = this.c;
    const a = sockets.attachment(ws);
    if (!a || ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    sockets.touch(ws, now);
    try {
      if (!this.flood.allow(a.conn, now)) {
        throw new TwilioError(53004, 'Client sent an invalid signaling message: too many messages, slow down');
      }
      const frame = parseFrame(data);
      switch (frame.type) {
        case 'heartbeat':
          // The exact heartbeat string is auto-answered without waking us; a variant (extra spaces,
          // other key order) lands here and gets the same answer.
          sockets.sendRaw(ws, '{"type":"heartbeat"}');
          return;
        case 'bye':
          return this.bye(ws, a);
        case 'hello': {
          const timeout = clamp(frame.timeout ?? DEFAULT_HEARTBEAT_TIMEOUT_MS, HEARTBEAT_TIMEOUT_RANGE);
          const attachment = sockets.update(ws, { phase: 'welcomed', negotiatedTimeout: timeout });
          sockets.sendRaw(ws, JSON.stringify({ type: 'welcome', negotiatedTimeout: timeout }));
          // A repeated hello (the client retries when a welcome is slow) must not join twice.
          if (frame.body && !(a.phase === 'welcomed' && attachment.participantSid)) await this.rooms.handle(ws, attachment, frame.body);
          return;
        }
        case 'msg':
          if (a.phase !== 'welcomed') {
            sockets.sendRaw(ws, JSON.stringify({ type: 'bad', reason: 'msg before hello' }));
            return;
          }
          return await this.rooms.handle(ws, a, frame.body);
      }
    } catch (err) {
      this.fail(ws, err);
    }
  }

  private bye(ws: WebSocket, a: SocketAttachment): void {
    // `bye` ends the connection layer; without a `disconnect` first, the participant may come
    // back with `sync`, so treat it like a dropped socket.
    const { sockets } = this.c;
    sockets.close(ws, 1000, 'bye');
    if (a.participantSid) {
      sockets.unbind(a.participantSid, ws);
      this.presence.dropped(a.participantSid, a.conn);
    }
  }

  /**
   * A message the server cannot accept: the sender gets a Twilio `error` (which ends its session
   * on the client) and is removed; nobody else is affected.
   */
  private fail(ws: WebSocket, err: unknown): void {
    const { sockets, participants } = this.c;
    // A bad configuration value is logged once by configFailure and reaches the client as 20500.
    const error = err instanceof TwilioError ? err : err instanceof ConfigError ? configFailure(err) : new TwilioError(53000, 'Signaling connection error');
    this.logFailure(ws, err, error);
    const a = sockets.attachment(ws);
    sockets.sendMsg(ws, { type: 'error', code: error.code, message: error.message });
    sockets.close(ws, 1000, error.message.slice(0, 120));
    if (a?.participantSid) {
      const p = participants.get(a.participantSid);
      sockets.update(ws, { participantSid: null });
      sockets.unbind(a.participantSid, ws);
      if (p && p.status !== 'disconnected' && p.conn === a.conn) this.departures.leave(p);
    }
  }

  /**
   * One log line per failure `fail` answers. An error Twilio's protocol has a code for is the
   * client's doing: a warning. A ConfigError was logged by configFailure already. Anything else is
   * a bug: an error ("signaling handler failed" is also what the robustness suite looks for).
   */
  private logFailure(ws: WebSocket, err: unknown, sent: TwilioError): void {
    if (err instanceof ConfigError) return;
    const where = this.where(ws);
    if (err instanceof TwilioError) logWarn({ event: 'signaling-error-sent', ...where, code: sent.code, message: sent.message });
    else logError({ event: 'signaling-handler-failed', ...where, code: sent.code, message: 'signaling handler failed', error: err });
  }

  /**
   * What escaped `handle` (`fail` threw itself, or the socket could not be read): logged, once.
   * The socket stays open and its next frame is handled as usual: what failed was one frame.
   */
  private escaped(ws: WebSocket, err: unknown): void {
    logError({ event: 'signaling-handler-failed', ...this.where(ws), code: 53000, message: 'signaling handler failed', error: err });
  }

  /** The room and participant of a socket, for a log line. Never throws. */
  private where(ws: WebSocket): { roomSid: string | null; participantSid: string | null } {
    let participantSid: string | null = null;
    let roomSid: string | null = null;
    try {
      participantSid = this.c.sockets.attachment(ws)?.participantSid ?? null;
      roomSid = (participantSid ? this.c.participants.get(participantSid)?.roomSid : null) ?? this.c.store.current()?.sid ?? null;
    } catch {
      // The line goes out without them.
    }
    return { roomSid, participantSid };
  }
}

function clamp(v: number, [min, max]: readonly [number, number]): number {
  return Math.min(max, Math.max(min, v));
}
