import { DurableObject } from 'cloudflare:workers';
import { ECHO_WRITES_HEADER } from '../../workers/bench/markers';
import type { Env } from '../env';

/**
 * The floors `npm run bench` compares Atrium against: the least a Durable Object can do for the
 * same request, on the same runtime, so the ratios say what Atrium's own code costs. Reachable only
 * through workers/bench/routes.ts, which answers 404 unless BENCH_ROUTES is "true".
 *
 * - `touch()`: called on a fresh id, it is what any one-object-per-room design pays to create a
 *   room: a new SQLite-backed object and one durable write.
 * - `fetch()`: a WebSocket accepted with the Hibernation API that sends every message back, the
 *   shortest client → object → client trip a relay through a room object could take. An object
 *   whose sockets were opened with ECHO_WRITES_HEADER also stores each message in SQLite first:
 *   the trip of a relay that must remember what it relayed (Atrium keeps each pair's last ICE and
 *   description for clients that reconnect).
 */
export class BenchObject extends DurableObject<Env> {
  /** Whether this object stores what it echoes; read from storage once per wake, then kept here. */
  private writes: boolean | undefined;

  async touch(): Promise<void> {
    await this.ctx.storage.put('touched', Date.now());
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    if (request.headers.get(ECHO_WRITES_HEADER) === '1' && !this.writes) {
      this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS echoed (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      this.ctx.storage.kv.put('echo-writes', true);
      this.writes = true;
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.writes ??= this.ctx.storage.kv.get('echo-writes') === true;
    if (this.writes) {
      this.ctx.storage.sql.exec('INSERT INTO echoed (k, v) VALUES (1, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v', String(message));
    }
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
