import { exports } from 'cloudflare:workers';
import { mintAccessToken } from '../../core/tokens/mint-token';
import { connectMessage } from './connect-message';
import { API_KEY_SECRET, API_KEY_SID, ACCOUNT_SID, ORIGIN } from './rest';

export const token = (identity: string, room?: string, extra: { ttlSeconds?: number; apiKeySecret?: string; nowSeconds?: number } = {}) =>
  mintAccessToken({
    accountSid: ACCOUNT_SID,
    apiKeySid: API_KEY_SID,
    apiKeySecret: extra.apiKeySecret ?? API_KEY_SECRET,
    identity,
    room,
    ttlSeconds: extra.ttlSeconds,
    nowSeconds: extra.nowSeconds,
  });

/** A token for `room` that expired an hour ago, signed with the right key. */
export const expiredToken = (room: string, identity = 'eve') =>
  token(identity, room, { ttlSeconds: 60, nowSeconds: Math.floor(Date.now() / 1000) - 3600 });

/**
 * A scripted signaling client: speaks the connection layer like twilio-video does and records
 * every frame the server sends, so tests can assert on them message by message.
 */
export class SignalingClient {
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      this.frames.push(typeof e.data === 'string' ? JSON.parse(e.data) : e.data);
      this.wake();
    });
    ws.addEventListener('close', (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  static async open(room: string, query = ''): Promise<SignalingClient> {
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/signaling/${encodeURIComponent(room)}${query}`, { headers: { upgrade: 'websocket' } }),
    );
    if (!res.webSocket) throw new Error(`no WebSocket: ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    return new SignalingClient(res.webSocket);
  }

  /** Opens a socket and connects as `identity` the way the client does (hello carrying connect). */
  static async join(room: string, identity: string, opts: { tracks?: any[]; token?: string; offerId?: string; mediaSignaling?: string[] } = {}) {
    const c = await SignalingClient.open(room);
    c.send({
      type: 'hello',
      id: crypto.randomUUID(),
      timeout: 5000,
      version: 2,
      body: connectMessage(room, opts.token ?? (await token(identity)), { tracks: opts.tracks, offerId: opts.offerId, mediaSignaling: opts.mediaSignaling }),
    });
    await c.next((f) => f.type === 'msg' && (f.body.type === 'connected' || f.body.type === 'error'));
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  msg(body: unknown): void {
    this.send({ type: 'msg', body });
  }

  /** Room messages received so far (bodies of `msg` frames). */
  get messages(): any[] {
    return this.frames.filter((f) => f.type === 'msg').map((f) => f.body);
  }

  get connected(): any {
    return this.messages.find((m) => m.type === 'connected');
  }

  /** Waits for a frame matching `match` that arrived after `from` frames (default: any so far). */
  async next(match: (frame: any) => boolean, timeoutMs = 3000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) waiting; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for a room message matching `match`. */
  nextMsg(match: (body: any) => boolean, timeoutMs = 3000, from = 0): Promise<any> {
    return this.next((f) => f.type === 'msg' && match(f.body), timeoutMs, from).then((f) => f.body);
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('not closed');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    try {
      this.ws.close(1000, 'bye');
    } catch {
      // already closed
    }
  }

  private wake(): void {
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w();
  }
}

export { connectMessage };

export const audioTrack = (id = crypto.randomUUID(), name = id) => ({ id, kind: 'audio', name, enabled: true, priority: 'standard' });
export const videoTrack = (id = crypto.randomUUID(), name = id) => ({ id, kind: 'video', name, enabled: true, priority: 'standard' });
export const dataTrack = (id = crypto.randomUUID(), name = id) => ({ id, kind: 'data', name, enabled: true, priority: 'standard' });
