/// <reference types="node" />
/**
 * REST room creation against two floors, same Worker, same client, same run:
 *   noop        GET  /bench/noop          the Worker alone
 *   new-object  POST /bench/new-object    a fresh Durable Object and one storage write
 *   create      POST /v1/Rooms            Atrium
 * The count is split into rounds that visit the three in turn (rotating the order), so a noisy
 * moment on a shared machine lands on all three rather than on whichever ran then.
 */
import type { Summary } from './stats';
import { pool, round, summarize } from './stats';

export interface RestTarget {
  rps: number;
  latency: Summary;
}

export interface RestResult {
  count: number;
  concurrency: number;
  rounds: number;
  noop: RestTarget;
  newObject: RestTarget;
  create: RestTarget;
  /** create throughput ÷ floor throughput. */
  createVsNoop: number;
  createVsNewObject: number;
}

export interface RestOptions {
  baseUrl: string;
  auth: { user: string; password: string };
  count: number;
  concurrency: number;
  rounds: number;
  warmup: number;
}

type Name = 'noop' | 'newObject' | 'create';

export async function benchRest(o: RestOptions): Promise<RestResult> {
  const authorization = `Basic ${Buffer.from(`${o.auth.user}:${o.auth.password}`).toString('base64')}`;
  const runId = Date.now().toString(36);
  let created = 0;
  const requests: Record<Name, () => Promise<void>> = {
    noop: () => call(`${o.baseUrl}/bench/noop`, { method: 'GET' }, 200),
    newObject: () => call(`${o.baseUrl}/bench/new-object`, { method: 'POST' }, 201),
    create: () =>
      call(
        `${o.baseUrl}/v1/Rooms`,
        {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: `UniqueName=bench-${runId}-${created++}&Type=group`,
        },
        201,
      ),
  };

  const order: Name[] = ['noop', 'newObject', 'create'];
  for (const name of order) await pool(o.warmup, o.concurrency, () => requests[name]());

  const samples: Record<Name, number[]> = { noop: [], newObject: [], create: [] };
  const wall: Record<Name, number> = { noop: 0, newObject: 0, create: 0 };
  const perRound = Math.ceil(o.count / o.rounds);
  for (let r = 0; r < o.rounds; r++) {
    const n = Math.min(perRound, o.count - r * perRound);
    for (let k = 0; k < order.length; k++) {
      const name = order[(r + k) % order.length] as Name;
      wall[name] += await pool(n, o.concurrency, async () => {
        const t = performance.now();
        await requests[name]();
        samples[name].push(performance.now() - t);
      });
    }
  }
  const target = (name: Name): RestTarget => ({ rps: round((samples[name].length / wall[name]) * 1000, 1), latency: summarize(samples[name]) });
  const result = { noop: target('noop'), newObject: target('newObject'), create: target('create') };
  return {
    count: o.count,
    concurrency: o.concurrency,
    rounds: o.rounds,
    ...result,
    createVsNoop: round(result.create.rps / result.noop.rps),
    createVsNewObject: round(result.create.rps / result.newObject.rps),
  };
}

async function call(url: string, init: RequestInit, expected: number): Promise<void> {
  const res = await fetch(url, init);
  const body = await res.text();
  if (res.status !== expected) throw new Error(`${init.method} ${url}: HTTP ${res.status} (expected ${expected}): ${body.slice(0, 300)}`);
}
