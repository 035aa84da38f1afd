/// <reference types="node" />
/**
 * A scripted twilio-video signaling client for Node, over real WebSockets (the `ws` package; Node
 * 20 has no global WebSocket). It speaks the connection layer as twilio-video does and records
 * every frame the server sends, so tests can assert on them message by message.
 *
 * Closing: when the server closes a socket, its close frame arrives at once, but workerd may take
 * seconds to end the TCP connection, and `ws` emits 'close' only then. The close frame is what
 * matters (the server has let go of the connection), and `ws` reports it synchronously by moving
 * to CLOSING, so `serverClosed` is read from readyState rather than from the 'close' event.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { mintAccessToken } from '../../../core/tokens/mint-token';
import { connectMessage } from '../../support/connect-message';
import { DEV_CREDENTIALS } from './atrium-server';

/** Waits poll at this interval; every wait is bounded by its own timeout. */
const POLL_MS = 20;

export interface TokenOptions {
  room?: string;
  ttlSeconds?: number;
  nowSeconds?: number;
  accountSid?: string;
  apiKeySid?: string;
  apiKeySecret?: string;
}

/** An access token for the default (development) account, or another account's key when given. */
export const token = (identity: string, o: TokenOptions = {}): Promise<string> =>
  mintAccessToken({
    accountSid: o.accountSid ?? DEV_CREDENTIALS.accountSid,
    apiKeySid: o.apiKeySid ?? DEV_CREDENTIALS.apiKeySid,
    apiKeySecret: o.apiKeySecret ?? DEV_CREDENTIALS.apiKeySecret,
    identity,
    room: o.room,
    ttlSeconds: o.ttlSeconds,
    nowSeconds: o.nowSeconds,
  });

/** A track as the client announces it in `participant.tracks`. */
export interface AnnouncedTrack {
  id: string;
  kind: 'audio' | 'video' | 'data';
  name: string;
  enabled: boolean;
  priority: string;
}

export const track = (kind: AnnouncedTrack['kind'], name: string): AnnouncedTrack => ({ id: randomUUID(), kind, name, enabled: true, priority: 'standard' });

export interface JoinOptions {
  /** Appended to the signaling URL, e.g. `?AccountSid=AC…`. */
  query?: string;
  /** Id of the client's own initial peer connection (random by default). */
  offerId?: string;
  /** Tracks announced in `connect`. */
  tracks?: AnnouncedTrack[];
}

// Frames are untyped JSON from the server; tests assert on their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export class SignalingClient {
  /** Every frame received, parsed (text that is not JSON is kept as the raw string). */
  readonly frames: Json[] = [];
  /** Set by the 'close' event, which may lag the close frame (see the file comment). */
  closeEvent: { code: number; reason: string } | null = null;
  private closingByUs = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** Called with each frame as it arrives (after it is recorded), for clients that react as they go. */
  onFrame: ((frame: Json) => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === null) {
        this.frames.push({ binary: true });
        return;
      }
      let frame: Json;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = text;
      }
      this.frames.push(frame);
      this.onFrame?.(frame);
    });
    ws.on('close', (code, reason) => {
      this.closeEvent = { code, reason: reason.toString() };
      this.stopHeartbeats();
    });
    // Without a listener, a reset connection would be an uncaught 'error' that kills the run.
    ws.on('error', () => undefined);
  }

  /** Opens `/signaling/{room}` on `baseUrl` (http://…); rejects if the upgrade fails. */
  static open(baseUrl: string, room: string, query = '', timeoutMs = 10_000): Promise<SignalingClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/signaling/${encodeURIComponent(room)}${query}`;
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: 4 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new SignalingClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`no WebSocket upgrade for ${url}: HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  /** Opens a socket and sends hello carrying `connect`, as the client does; does not wait. */
  static async start(baseUrl: string, room: string, jwt: string, opts: JoinOptions = {}): Promise<SignalingClient> {
    const c = await SignalingClient.open(baseUrl, room, opts.query);
    c.send({ type: 'hello', id: randomUUID(), timeout: 5000, version: 2, body: connectMessage(room, jwt, { offerId: opts.offerId, tracks: opts.tracks }) });
    return c;
  }

  /** Connects and waits for `connected` (or rejects with the error the server sent). */
  static async join(baseUrl: string, room: string, identity: string, opts: JoinOptions & { jwt?: string } = {}): Promise<SignalingClient> {
    const c = await SignalingClient.start(baseUrl, room, opts.jwt ?? (await token(identity)), opts);
    const outcome = await c.nextMsg((m) => m.type === 'connected' || m.type === 'error', 15_000);
    if (outcome.type === 'error') {
      c.terminate();
      throw new Error(`${identity} was refused: ${outcome.code} ${outcome.message}`);
    }
    return c;
  }

  /** Opens a new socket and resumes `session` with `sync` (the client's reconnect path). */
  static async resume(baseUrl: string, room: string, session: string, jwt: string): Promise<SignalingClient> {
    const c = await SignalingClient.open(baseUrl, room);
    c.send({
      type: 'hello',
      id: randomUUID(),
      timeout: 5000,
      version: 2,
      body: { type: 'sync', version: 2, session, token: jwt, participant: { revision: 1, tracks: [] }, peer_connections: [] },
    });
    return c;
  }

  /** True once the server's close frame arrived (or the connection dropped). */
  get serverClosed(): boolean {
    return !this.closingByUs && this.ws.readyState !== WebSocket.OPEN;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame and resolves once `ws` has handed it to the socket. */
  sendAndFlush(frame: string | Buffer): Promise<void> {
    return new Promise((resolve) => this.ws.send(frame, () => resolve()));
  }

  msg(body: unknown): void {
    this.send({ type: 'msg', body });
  }

  /** Room messages received so far (bodies of `msg` frames). */
  get messages(): Json[] {
    return this.frames.filter((f) => f?.type === 'msg').map((f) => f.body);
  }

  get connected(): Json {
    return this.messages.find((m) => m.type === 'connected');
  }

  /** Waits for a frame matching `match` among those from index `from` on. */
  async next(match: (frame: Json) => boolean, timeoutMs = 5_000, from = 0): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.frames.length; i++) if (match(this.frames[i])) return this.frames[i];
      if (this.serverClosed) {
        throw new Error(`socket closed by the server while waiting; last frames: ${tail(this.frames)}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; last frames: ${tail(this.frames)}`);
      await sleep(POLL_MS);
    }
  }

  /** Waits for a room message matching `match`. */
  nextMsg(match: (body: Json) => boolean, timeoutMs = 5_000, from = 0): Promise<Json> {
    return this.next((f) => f?.type === 'msg' && match(f.body), timeoutMs, from).then((f) => f.body);
  }

  /** Resolves true once the server closed the socket, false if it is still open after `timeoutMs`. */
  async closedByServer(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.serverClosed) {
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  /**
   * Sends twilio-video's heartbeat every `intervalMs`, as the real client does while idle, so the
   * server's dead-socket sweep (three silent heartbeat intervals) leaves this socket alone during
   * long tests. The server answers with the same frame (`{"type":"heartbeat"}`).
   */
  startHeartbeats(intervalMs = 2_000): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"heartbeat"}');
    }, intervalMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** Starts a clean close from our side. */
  close(code = 1000): void {
    this.stopHeartbeats();
    this.closingByUs = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, 'bye');
  }

  /** Drops the TCP connection at once (no close handshake): what a crashed client looks like. */
  terminate(): void {
    this.stopHeartbeats();
    this.closingByUs = true;
    this.ws.terminate();
  }
}

export { connectMessage };

/** An `update` carrying one ICE candidate on a pair; `n` goes in the candidate and the revision. */
export function iceUpdate(session: string, pairId: string, label: string, n: number): Json {
  return {
    type: 'update',
    version: 2,
    session,
    peer_connections: [
      {
        id: pairId,
        ice: { ufrag: 'robust', revision: n, candidates: [{ candidate: `candidate:${label} ${n}`, sdpMid: '0', sdpMLineIndex: 0 }] },
      },
    ],
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tail(frames: Json[]): string {
  return JSON.stringify(frames.slice(-5)).slice(0, 1500);
}
