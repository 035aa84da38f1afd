import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../workers/env';

/**
 * The floors `npm run bench` compares Atrium against: the least a Durable Object can do for the
 * same request, on the same runtime, so the ratios say what Atrium's own code costs. Reachable only
 * through workers/bench/routes.ts, which answers 404 unless BENCH_ROUTES is "true".
 *
 * - `touch()`: called on a fresh id, it is what any one-object-per-room design pays to create a
 *   room: a new SQLite-backed object and one durable write.
 * - `fetch()`: a WebSocket accepted with the Hibernation API that sends every message back, the
 *   shortest client → object → client trip a relay through a room object could take.
 */
export class BenchObject extends DurableObject<Env> {
  async touch(): Promise<void> {
    await this.ctx.storage.put('touched', Date.now());
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }
}
