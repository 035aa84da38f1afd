/// <reference types="node" />
/**
 * A signaling WebSocket for the bench, built for timing: every frame is stamped with
 * performance.now() the moment it arrives, and a wait is registered before the message that
 * causes the answer is sent, so nothing is polled. Frames no wait wants are kept (a bounded
 * backlog) for a later wait, e.g. the `create-offer` that reaches the first participant while the
 * bench is still waiting for the second one's `connected`.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export const HEARTBEAT = '{"type":"heartbeat"}';
const BACKLOG_LIMIT = 1_000;

export interface Frame {
  raw: string;
  /** performance.now() when it arrived. */
  at: number;
}

interface Waiter {
  match: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class BenchSocket {
  private readonly backlog: Frame[] = [];
  private waiters: Waiter[] = [];
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = { raw: data.toString(), at: performance.now() };
      if (frame.raw === HEARTBEAT) return;
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1) as [Waiter];
        clearTimeout(w.timer);
        w.resolve(frame);
        return;
      }
      this.backlog.push(frame);
      if (this.backlog.length > BACKLOG_LIMIT) this.backlog.shift();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error('socket closed while waiting'));
      }
    });
    // A reset connection would otherwise be an uncaught 'error' that ends the run.
    ws.on('error', () => undefined);
  }

  /** Opens a WebSocket to `url` (ws://…) and resolves once it is open. */
  static open(url: string, timeoutMs = 10_000): Promise<BenchSocket> {
    return new Promise((resolve, reject) => {
      // Compression would only add CPU on both ends to frames of a few hundred bytes.
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`WebSocket to ${url} did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new BenchSocket(ws));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** The next frame matching `match`, from the backlog or yet to come. Register before sending. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const i = this.backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0] as Frame);
    if (this.closed) return Promise.reject(new Error('socket is closed'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms; last frames: ${this.backlog.slice(-3).map((f) => f.raw.slice(0, 300)).join(' | ')}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The next room message (body of a `msg` frame) that `match` accepts. */
  async nextMsg(match: (body: any) => boolean, timeoutMs?: number): Promise<{ body: any; at: number }> {
    const f = await this.next((fr) => {
      const frame = JSON.parse(fr.raw) as { type: string; body?: unknown };
      return frame.type === 'msg' && match(frame.body);
    }, timeoutMs);
    return { body: (JSON.parse(f.raw) as { body: unknown }).body, at: f.at };
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  msg(body: unknown): void {
    this.send({ type: 'msg', body });
  }

  /** Drops the backlog, e.g. the updates other participants' joins left behind. */
  clearBacklog(): void {
    this.backlog.length = 0;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** `hello` carrying `connect`, as twilio-video sends it when the app passes its own ICE servers. */
export function helloConnect(room: string, token: string, timeoutMs: number): unknown {
  return {
    type: 'hello',
    id: randomUUID(),
    timeout: timeoutMs,
    version: 2,
    body: {
      type: 'connect',
      version: 2,
      name: room,
      token,
      format: 'unified',
      ice_servers: 'overrode',
      participant: { revision: 1, tracks: [] },
      peer_connections: [{ id: randomUUID(), description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' } }],
      publisher: { name: 'atrium-bench', sdk_version: '2.36.0', user_agent: 'node' },
      media_signaling: {},
      subscribe: { rules: [{ type: 'include', all: true }], revision: 1 },
    },
  };
}
