/**
 * Floor routes for `npm run bench`: the same Worker, client and run measure what the runtime alone
 * costs, next to Atrium's real routes. They exist only where BENCH_ROUTES is "true" (the bench
 * passes it with `--var`); everywhere else every path here is the ordinary Twilio-format 404.
 *
 *   GET  /bench/noop              touches no Durable Object
 *   POST /bench/new-object        a fresh Durable Object id and one storage write
 *   GET  /bench/echo?name=…       WebSocket to a hibernating echo object (one object per name)
 *   GET  /bench/echo?name=…&write=1   the same, storing each message in SQLite before echoing it
 *   GET  /bench/broadcast?name=…  WebSocket to a hibernating object that sends each message to every
 *                                 other socket of that name (the floor of a room's fan-out)
 */
import { Hono } from 'hono';
import type { Env } from '../../durable-objects/env';
import { BROADCAST_HEADER, ECHO_WRITES_HEADER, NOOP_BODY } from '../../durable-objects/bench/markers';

export const bench = new Hono<{ Bindings: Env }>();

bench.use('*', async (c, next) => {
  if (c.env.BENCH_ROUTES !== 'true') return c.notFound();
  await next();
});

bench.get('/noop', (c) => c.text(NOOP_BODY));

bench.post('/new-object', async (c) => {
  await c.env.BENCH.get(c.env.BENCH.newUniqueId()).touch();
  return c.text('ok', 201);
});

bench.get('/echo', (c) => {
  const name = c.req.query('name') ?? 'echo';
  if (c.req.query('write') !== '1') return c.env.BENCH.get(c.env.BENCH.idFromName(`echo:${name}`)).fetch(c.req.raw);
  // The two kinds never share an object, so a plain echo object never stores anything.
  const headers = new Headers(c.req.raw.headers);
  headers.set(ECHO_WRITES_HEADER, '1');
  return c.env.BENCH.get(c.env.BENCH.idFromName(`echo-write:${name}`)).fetch(new Request(c.req.raw, { headers }));
});

bench.get('/broadcast', (c) => {
  const headers = new Headers(c.req.raw.headers);
  headers.set(BROADCAST_HEADER, '1');
  const name = c.req.query('name') ?? 'broadcast';
  return c.env.BENCH.get(c.env.BENCH.idFromName(`broadcast:${name}`)).fetch(new Request(c.req.raw, { headers }));
});
