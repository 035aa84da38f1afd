import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { checkControlRequest } from '../../../core/control-signature';
import { checkMediaUrl, MEDIA_PATH_PREFIX, mediaKeyOf } from '../../../core/media-url';
import type { RecordingState } from '../../../core/recordings';
import { contentType } from '../storage/store';
import type { PeerConnectionEntry, SessionInfo, TrackRef } from '../types';
import { ControlError, notFound } from './errors';
import { id, mediaKey, recordingsBody, sessionBody, signalBody, subscriptionsBody } from './validate';
import type { RecordingsBody, SessionBody } from './validate';

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
  /** The room's recordings the server knows and was not told are acknowledged. */
  recordings(roomSid: string): RecordingState[];
  /** The whole set of recordings that should be writing in the room now; answers the listing. */
  putRecordings(roomSid: string, body: RecordingsBody): RecordingState[];
  /** The local store's files, served by signed URL and deleted by the Room object. */
  readonly media: MediaFiles;
}

/** Stored recording files as the control API serves and deletes them (storage/local-store.ts). */
export interface MediaFiles {
  /** The file's size in bytes, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Bytes `start` to `end`, inclusive. */
  read(key: string, start: number, end: number): Readable;
  /** Whether there was a file to delete. */
  delete(key: string): Promise<boolean>;
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
 *   GET    /v1/rooms/{room}/recordings                                → {boot, recordings}
 *   PUT    /v1/rooms/{room}/recordings     {recordings, acknowledged} → {boot, recordings}
 *   DELETE /v1/media/{key}                                            → {deleted}
 *   GET    /v1/media/{key}?Expires=&Signature=   (a signed URL, not control-signed) → the file
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
  if ((method === 'GET' || method === 'HEAD') && path.startsWith(MEDIA_PATH_PREFIX)) return serveMedia(target.media, secret, req, res);
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
  if (parts[1] === 'rooms' && parts.length === 4 && parts[3] === 'recordings') {
    const roomSid = id(parts[2], 'room');
    if (method === 'GET') return reply(res, 200, { boot: target.boot, recordings: target.recordings(roomSid) });
    if (method === 'PUT') return reply(res, 200, { boot: target.boot, recordings: target.putRecordings(roomSid, recordingsBody(json)) });
  }
  if (parts[1] === 'media' && parts.length > 2 && method === 'DELETE') return reply(res, 200, { deleted: await target.media.delete(mediaKey(parts.slice(2).join('/'))) });
  if (parts[1] === 'stats' && parts.length === 2 && method === 'GET') return reply(res, 200, target.stats());
  throw new ControlError(404, 53000, `route ${method} ${path.slice(0, 100)} not found`);
}

/**
 * GET /v1/media/<key>?Expires=&Signature=: a stored recording, to whoever holds a URL the Worker
 * signed (core/media-url.ts). One byte range (`Range: bytes=a-b`) is honoured, so players can seek.
 */
async function serveMedia(media: MediaFiles, secret: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://media');
  const refused = await checkMediaUrl(secret, url.pathname, url.searchParams, Math.floor(Date.now() / 1000));
  if (refused) throw new ControlError(403, 20003, `media URL refused: ${refused}`);
  const key = mediaKeyOf(url.pathname)!;
  const size = await media.size(key);
  if (size === null) throw notFound(`media ${key}`);
  const range = byteRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  const headers: Record<string, string | number> = { 'content-type': contentType(key), 'content-length': end - start + 1, 'accept-ranges': 'bytes', 'cache-control': 'private, no-store' };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  // pipeline, not pipe: a client that goes away midway must close the file too. A file removed or
  // unreadable midway cuts the connection (the headers are out).
  pipeline(media.read(key, start, end), res, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') console.error(JSON.stringify({ event: 'media-read-error', key, error: err.message }));
  });
}

/** The one range a `Range` header asks for, within `size`; null for the whole file (no header, or several ranges). */
function byteRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Math.min(Number(m[2]), size);
    return suffix === 0 ? 'unsatisfiable' : [size - suffix, size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : [start, end];
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
