/// <reference types="node" />
/**
 * A participant for Node tests against a running Atrium: a real WebSocket (the `ws` package; Node
 * 20 has no global WebSocket) on `/signaling/{room}` speaking twilio-video's protocol as
 * test/support/signaling-client.ts does inside workerd. It records every room message the server
 * sends so tests can wait for one.
 *
 * The server's close frame is what shows it let go of the connection; `ws` moves to CLOSING as
 * soon as that frame arrives, while its 'close' event may wait for the TCP connection to end, so
 * `closedByServer` polls readyState.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { mintAccessToken } from '../../../workers/tokens/mint-token';
import { DEV_CREDENTIALS } from './atrium-server';

/** A track as twilio-video announces it in `participant.tracks`. */
export interface AnnouncedTrack {
  id: string;
  kind: 'audio' | 'video' | 'data';
  name: string;
  enabled: boolean;
  priority: string;
}

export const track = (kind: AnnouncedTrack['kind'], name: string): AnnouncedTrack => ({ id: randomUUID(), kind, name, enabled: true, priority: 'standard' });

// Room messages are untyped JSON; tests assert on their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = any;

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SignalingSocket {
  /** Bodies of every `msg` frame received, in order. */
  readonly messages: Message[] = [];
  private closingByUs = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; body?: Message };
      if (frame.type === 'msg') this.messages.push(frame.body);
    });
    // Without a listener a reset connection would be an uncaught 'error' that ends the run.
    ws.on('error', () => undefined);
  }

  /**
   * Connects `identity` to `room` of the development account on the server at `baseUrl`,
   * announcing `tracks`, and resolves once `connected` arrives (rejects on an `error`).
   */
  static async join(baseUrl: string, room: string, identity: string, tracks: AnnouncedTrack[] = []): Promise<SignalingSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/signaling/${encodeURIComponent(room)}`;
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const socket = new SignalingSocket(ws);
    const jwt = await mintAccessToken({ ...DEV_CREDENTIALS, identity });
    socket.send({
      type: 'hello',
      id: randomUUID(),
      timeout: 5000,
      version: 2,
      body: {
        type: 'connect',
        version: 2,
        name: room,
        token: jwt,
        format: 'unified',
        ice_servers: 'acquire',
        participant: { revision: 1, tracks },
        peer_connections: [{ id: randomUUID(), description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' } }],
        publisher: { name: 'atrium-node-test', sdk_version: '2.36.0', user_agent: 'node' },
        media_signaling: {},
        subscribe: { rules: [{ type: 'include', all: true }], revision: 1 },
      },
    });
    const answer = await socket.nextMsg((m) => m.type === 'connected' || m.type === 'error');
    if (answer.type === 'error') {
      ws.terminate();
      throw new Error(`${identity} was refused: ${answer.code} ${answer.message}`);
    }
    return socket;
  }

  /** The `connected` message: session, participant sid, published and subscribed maps. */
  get connected(): Message {
    return this.messages.find((m) => m.type === 'connected');
  }

  /** Sends a room message in the connection layer's `msg` frame. */
  msg(body: unknown): void {
    this.send({ type: 'msg', body });
  }

  /** Waits for a room message matching `match` among those from index `from` on. */
  async nextMsg(match: (m: Message) => boolean, timeoutMs = 10_000, from = 0): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.messages.length; i++) if (match(this.messages[i])) return this.messages[i];
      if (Date.now() > deadline) throw new Error(`timed out; messages: ${JSON.stringify(this.messages).slice(-1500)}`);
      await sleep(POLL_MS);
    }
  }

  /** True once the server's close frame arrived, false if the socket is still open after `timeoutMs`. */
  async closedByServer(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.ws.readyState === WebSocket.OPEN) {
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return !this.closingByUs;
  }

  /** Drops the connection at once; used to clean up after a test. */
  terminate(): void {
    this.closingByUs = true;
    this.ws.terminate();
  }

  private send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
}
