import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkControlRequest } from '../../../core/control-signature';
import type { PeerConnectionEntry, SessionInfo, TrackRef } from '../types';
import { ControlError, notFound } from './errors';
import { id, sessionBody, signalBody, subscriptionsBody } from './validate';
import type { SessionBody } from './validate';

/** Largest request body accepted: a signal with a full SDP offer and its ICE is well under this. */
const MAX_BODY_BYTES = 1024 * 1024;

/** What the control API drives: the media server's rooms and sessions (sfu.ts). */
export interface ControlTarget {
  /** Changes when the process restarts; the Room object compares it to notice. */
  readonly boot: string;
  openSession(sessionId: string, body: SessionBody): SessionInfo;
  signal(sessionId: string, entries: PeerConnectionEntry[]): Promise<PeerConnectionEntry[]>;
  subscribe(sessionId: string, tracks: TrackRef[]): Promise<PeerConnectionEntry[]>;
  closeSession(sessionId: string): boolean;
  room(roomSid: string): SessionInfo[];
  closeRoom(roomSid: string): number;
  stats(): Record<string, unknown>;
}

/**
 * The control API, over plain HTTP with JSON bodies. Every request but `GET /health` must carry a
 * signature made with the shared secret (core/control-signature.ts). Every request is idempotent.
 *
 *   PUT    /v1/sessions/{id}                {room, participant, pc, videoCodec?, features?, profile?} → session
 *   POST   /v1/sessions/{id}/signal         {entries}                 → {entries}
 *   PUT    /v1/sessions/{id}/subscriptions  {tracks}                  → {entries}
 *   DELETE /v1/sessions/{id}                                          → {closed}
 *   GET    /v1/rooms/{room}                                           → {boot, sessions}
 *   DELETE /v1/rooms/{room}                                           → {closed}
 *   GET    /v1/stats                                                  → counters
 *   GET    /health                                                    → {status, boot}
 *
 * A request the server cannot accept gets a JSON error with a Twilio code; nothing a request
 * carries can throw past this layer.
 */
export function controlServer(target: ControlTarget, secret: string): Server {
  return createServer((req, res) => {
    handle(target, secret, req, res).catch((err) => {
      const error = err instanceof ControlError ? err : new ControlError(500, 53000, 'internal error');
      if (!(err instanceof ControlError)) console.error(JSON.stringify({ event: 'control-error', method: req.method, url: req.url, error: String(err instanceof Error ? err.stack : err) }));
      reply(res, error.status, error.toJSON());
    });
  });
}

async function handle(target: ControlTarget, secret: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  if (method === 'GET' && path === '/health') return reply(res, 200, { status: 'ok', boot: target.boot });
  const body = await readBody(req);
  const refused = await checkControlRequest(secret, req.headers.authorization, method, url, body);
  if (refused) throw new ControlError(401, 20003, `Authenticate: ${refused}`);
  const json = body ? parseJson(body) : undefined;
  const parts = path.split('/').filter(Boolean).map(decodeSegment);

  if (parts[0] !== 'v1') throw notFound(`route ${method} ${path.slice(0, 100)}`);
  if (parts[1] === 'sessions' && parts.length >= 3) {
    const sessionId = id(parts[2], 'session id');
    const action = parts.length === 4 ? parts[3] : parts.length === 3 ? '' : null;
    if (method === 'PUT' && action === '') return reply(res, 200, target.openSession(sessionId, sessionBody(json)));
    if (method === 'DELETE' && action === '') return reply(res, 200, { closed: target.closeSession(sessionId) });
    if (method === 'POST' && action === 'signal') return reply(res, 200, { entries: await target.signal(sessionId, signalBody(json)) });
    if (method === 'PUT' && action === 'subscriptions') return reply(res, 200, { entries: await target.subscribe(sessionId, subscriptionsBody(json)) });
  }
  if (parts[1] === 'rooms' && parts.length === 3) {
    const roomSid = id(parts[2], 'room');
    if (method === 'GET') return reply(res, 200, { boot: target.boot, sessions: target.room(roomSid) });
    if (method === 'DELETE') return reply(res, 200, { closed: target.closeRoom(roomSid) });
  }
  if (parts[1] === 'stats' && parts.length === 2 && method === 'GET') return reply(res, 200, target.stats());
  throw new ControlError(404, 53000, `route ${method} ${path.slice(0, 100)} not found`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Refused, but the rest is read and dropped: destroying the connection under a client that
        // is still sending resets it, and the client never sees the 413.
        chunks.length = 0;
        reject(new ControlError(413, 53004, `request body over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A path segment, percent-decoded; one that is not valid percent-encoding stays as it is (and fails `id`). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlError(400, 53004, 'request body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
