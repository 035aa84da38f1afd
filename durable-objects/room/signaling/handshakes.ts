import type { SocketAttachment, Sockets } from './sockets';

/**
 * How long a socket may stay open without a participant. twilio-video sends `hello` carrying its
 * first room message (`connect`, `sync`, or `ice` followed by `connect` once it has made its offer)
 * as soon as the socket opens (twilioconnection.js, twilioconnectiontransport.js), so a real client
 * binds a participant within a second or two; one whose hello goes unanswered gives up by itself
 * after 3 × 5 s. A socket still without a participant after this long is a stranger's.
 */
export const HANDSHAKE_DEADLINE_MS = 10_000;

/**
 * Open sockets without a participant one object holds at most; a new one beyond is refused. Well
 * above the largest legitimate burst (100 clients racing into one room at once, races.test.ts),
 * and small enough that a flood at one name costs the object little.
 */
export const MAX_HANDSHAKING = 200;

/** What a refused socket is told to wait before it tries again (`busy`, twilioconnection.js). */
const BUSY_RETRY_MS = 2_000;

/**
 * Sockets that have not (yet) proved a token: strangers until a verified `connect` or `sync` binds
 * them to a participant. Nothing about them is stored: the object's storage belongs to rooms and
 * their participants, and a socket that opens, sends garbage or a bad token and goes must leave
 * nothing behind (docs/robustness.md). So their deadline is an in-memory timer, one per object for
 * all of them, not a scheduler deadline (a table row and an alarm). A pending timer keeps the object
 * in memory (it does not hibernate while one is set), so the timer cannot be lost while a socket
 * waits on it, and it is cleared as soon as none does; the dead-socket sweep, which runs once a
 * participant is there, checks the same deadline as a backstop.
 */
export class Handshakes {
  /** Tests shorten it. */
  deadlineMs = HANDSHAKE_DEADLINE_MS;
  /** Tests lower it. */
  limit = MAX_HANDSHAKING;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;

  constructor(private readonly sockets: Sockets) {
    // The timer keeps the object from hibernating: once no socket waits on it, it goes.
    sockets.onBound = () => {
      if (this.timer !== null && this.waiting().length === 0) this.disarm();
    };
  }

  /** Whether one more socket without a participant may be accepted. */
  admits(): boolean {
    return this.waiting().length < this.limit;
  }

  /**
   * Accepts nothing, stores nothing: answers the upgrade with a socket that is told `busy` (the
   * client retries after `retryAfter` ms) and closed with a reason that says why.
   */
  refuse(): Response {
    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.accept();
    ws.send(JSON.stringify({ type: 'busy', retryAfter: BUSY_RETRY_MS, keepAlive: false }));
    ws.close(3006, 'too many connections waiting to join this room; retry later');
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** A socket without a participant opened at `openedAt`: makes sure it is closed by its deadline. */
  watch(openedAt: number): void {
    const at = openedAt + this.deadlineMs;
    if (this.timer !== null && this.timerAt <= at) return;
    this.arm(at);
  }

  /** Whether a socket's handshake time is over. */
  private expired(a: SocketAttachment, now: number): boolean {
    return !a.participantSid && now - a.openedAt >= this.deadlineMs;
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - Date.now()));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** Closes every socket past its deadline, and waits for the next one. */
  private expire(): void {
    this.disarm();
    const now = Date.now();
    let next = Infinity;
    for (const { ws, a } of this.waiting()) {
      if (this.expired(a, now)) this.sockets.close(ws, 3000, 'no connect before the handshake deadline');
      else next = Math.min(next, a.openedAt + this.deadlineMs);
    }
    if (next < Infinity) this.arm(next);
  }

  /** Open sockets bound to no participant. */
  private waiting(): { ws: WebSocket; a: SocketAttachment }[] {
    const out: { ws: WebSocket; a: SocketAttachment }[] = [];
    for (const ws of this.sockets.all()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const a = this.sockets.attachment(ws);
      if (a && !a.participantSid) out.push({ ws, a });
    }
    return out;
  }
}
