/// <reference types="node" />
/**
 * A real HTTP receiver for status callbacks on loopback: records every request (method, full URL,
 * parsed parameters, signature, arrival time) and answers as the test scripts it: a status code, a
 * status after a delay, or 'hang' to never answer (the connection stays open until the receiver
 * closes).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';

export interface ReceivedCallback {
  method: string;
  /** The full URL as the receiver sees it: what a receiver passes to validateRequest. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** POST body or GET query, parsed. */
  params: Record<string, string>;
  signature: string;
  receivedAt: number;
  /** What the receiver answered. */
  reply: Reply;
  /** When the answer was sent (null while hanging or delayed). */
  answeredAt: number | null;
}

export type Reply = number | 'hang' | { status: number; delayMs: number };

export interface CallbackReceiver {
  readonly port: number;
  /** Absolute URL of `path` on this receiver. */
  url(path: string): string;
  /** Every request so far, in arrival order. */
  readonly received: ReceivedCallback[];
  /** Decides the answer to each request (it may look things up first); default 200. */
  reply: (request: Omit<ReceivedCallback, 'reply' | 'answeredAt'>) => Reply | Promise<Reply>;
  /** Resolves with the requests matching `filter` once there are at least `count` of them. */
  waitFor(filter: (r: ReceivedCallback) => boolean, count: number, timeoutMs?: number): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1:`port` (0 picks a free port). */
export async function startReceiver(port = 0): Promise<CallbackReceiver> {
  const hanging = new Set<ServerResponse>();
  const received: ReceivedCallback[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = `http://127.0.0.1:${actualPort}${req.url ?? '/'}`;
      const parsed = new URL(url);
      const body = Buffer.concat(chunks).toString('utf8');
      const params = req.method === 'GET' ? parsed.searchParams : new URLSearchParams(body);
      const request = {
        method: req.method ?? '',
        url,
        path: parsed.pathname,
        headers: req.headers,
        params: Object.fromEntries(params),
        signature: String(req.headers['x-twilio-signature'] ?? ''),
        receivedAt: Date.now(),
      };
      let reply: Reply;
      try {
        reply = await receiver.reply(request);
      } catch {
        reply = 500;
      }
      const entry: ReceivedCallback = { ...request, reply, answeredAt: null };
      received.push(entry);
      if (reply === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const answer = (status: number) => {
        entry.answeredAt = Date.now();
        res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
      };
      if (typeof reply === 'number') answer(reply);
      else setTimeout(() => answer(reply.status), reply.delayMs);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;

  const receiver: CallbackReceiver = {
    port: actualPort,
    url: (path) => `http://127.0.0.1:${actualPort}${path}`,
    received,
    reply: () => 200,
    async waitFor(filter, count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = received.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) {
          throw new Error(`waited ${timeoutMs} ms for ${count} callbacks, got ${matching.length}: ${JSON.stringify(matching.map(label))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** `RoomSid#SequenceNumber event`, for assertions and messages. */
export const label = (r: { params: Record<string, string> }): string =>
  `${r.params.RoomSid}#${r.params.SequenceNumber} ${r.params.StatusCallbackEvent}`;
