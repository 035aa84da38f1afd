import { DurableObject } from 'cloudflare:workers';
import { BROADCAST_HEADER, ECHO_WRITES_HEADER } from './markers';
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
 * - `fetch()` with BROADCAST_HEADER: every message is sent on, the same frame, to every other
 *   socket of the object: the least a room object can do to announce an arrival to the others (no
 *   parsing, no storage, no message built per recipient).
 */
type Mode = 'echo' | 'write' | 'broadcast';

export class BenchObject extends DurableObject<Env> {
  /** What this object does with a message (the route's header on the upgrade chose it); read from storage once per wake, then kept here. */
  private mode: Mode | undefined;

  async touch(): Promise<void> {
    await this.ctx.storage.put('touched', Date.now());
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const mode: Mode = request.headers.get(ECHO_WRITES_HEADER) === '1' ? 'write' : request.headers.get(BROADCAST_HEADER) === '1' ? 'broadcast' : 'echo';
    // A plain echo object stores nothing (its mode is the default when storage has none), so a new
    // one answers its first message without touching storage: the join's floor.
    if (mode !== 'echo' && this.mode !== mode) {
      if (mode === 'write') this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS echoed (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      this.ctx.storage.kv.put('mode', mode);
    }
    // The route never mixes modes on one object (each has its own name prefix).
    this.mode = mode;
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.mode ??= this.ctx.storage.kv.get<Mode>('mode') ?? 'echo';
    if (this.mode === 'broadcast') {
      for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(message);
      return;
    }
    if (this.mode === 'write') {
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
