/**
 * The room's WebSockets, accepted with the Hibernation API. What a socket needs across hibernation
 * lives in its attachment; the participant → socket map is rebuilt from the attachments whenever
 * the object wakes (the constructor runs again then), so nothing is lost when it sleeps.
 */
export interface SocketAttachment {
  /** Random id of this connection; a participant record names the connection it is bound to. */
  conn: string;
  accountSid: string;
  roomName: string;
  /** `open` until the hello is answered with welcome. */
  phase: 'open' | 'welcomed';
  /** Heartbeat interval agreed in the welcome, ms. */
  negotiatedTimeout: number;
  participantSid: string | null;
  /** Identity the token of `ice` proved, before the participant exists. */
  identity: string | null;
  openedAt: number;
  /** Last time a message other than the auto-answered heartbeat arrived (coarse: updated at most every few seconds). */
  lastSeen: number;
  /** The client's address as the rate limits count it (TOKEN_FAILURES); null or absent when unknown. */
  clientAddress?: string | null;
}

/** How stale `lastSeen` may get before the attachment is rewritten. */
const LAST_SEEN_GRANULARITY_MS = 2_000;

export class Sockets {
  /** Called after a socket is bound to a participant: the handshake deadline (handshakes.ts) may be moot. */
  onBound: (() => void) | null = null;
  private byParticipant: Map<string, WebSocket> | null = null;
  private readonly attachments = new WeakMap<WebSocket, SocketAttachment>();

  constructor(private readonly ctx: DurableObjectState) {}

  accept(ws: WebSocket, attachment: SocketAttachment): void {
    this.ctx.acceptWebSocket(ws);
    this.write(ws, attachment);
  }

  attachment(ws: WebSocket): SocketAttachment | null {
    let a = this.attachments.get(ws);
    if (!a) {
      a = (ws.deserializeAttachment() as SocketAttachment | null) ?? undefined;
      if (a) this.attachments.set(ws, a);
    }
    return a ?? null;
  }

  update(ws: WebSocket, patch: Partial<SocketAttachment>): SocketAttachment {
    const next = { ...(this.attachment(ws) as SocketAttachment), ...patch };
    this.write(ws, next);
    return next;
  }

  /** Notes activity on a socket; persisted only when the stored value is stale. */
  touch(ws: WebSocket, now: number): void {
    const a = this.attachment(ws);
    if (a && now - a.lastSeen > LAST_SEEN_GRANULARITY_MS) this.update(ws, { lastSeen: now });
  }

  /** Binds a socket to a participant, replacing any socket the participant had. */
  bind(ws: WebSocket, participantSid: string): void {
    this.update(ws, { participantSid });
    this.map().set(participantSid, ws);
    this.onBound?.();
  }

  unbind(participantSid: string, ws?: WebSocket): void {
    const map = this.map();
    if (!ws || map.get(participantSid) === ws) map.delete(participantSid);
  }

  of(participantSid: string): WebSocket | undefined {
    return this.map().get(participantSid);
  }

  all(): WebSocket[] {
    return this.ctx.getWebSockets();
  }

  /** Sends a room message wrapped in the connection layer's `msg` frame. */
  sendMsg(ws: WebSocket, body: unknown): boolean {
    return this.sendRaw(ws, JSON.stringify({ type: 'msg', body }));
  }

  /** Sends to a participant's socket; false when it has none or the send failed. */
  sendTo(participantSid: string, body: unknown): boolean {
    const ws = this.of(participantSid);
    return ws ? this.sendMsg(ws, body) : false;
  }

  sendRaw(ws: WebSocket, text: string): boolean {
    try {
      ws.send(text);
      return true;
    } catch {
      // The socket is closing or gone; its close handler (or the sweep) deals with the participant.
      return false;
    }
  }

  close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  private write(ws: WebSocket, a: SocketAttachment): void {
    this.attachments.set(ws, a);
    ws.serializeAttachment(a);
  }

  private map(): Map<string, WebSocket> {
    if (!this.byParticipant) {
      this.byParticipant = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const a = this.attachment(ws);
        if (a?.participantSid && ws.readyState === WebSocket.OPEN) this.byParticipant.set(a.participantSid, ws);
      }
    }
    return this.byParticipant;
  }
}
