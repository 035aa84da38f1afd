/// <reference types="node" />
/**
 * Where the bench sends its traffic. `wrangler dev` listens through a proxy of its own: a second
 * workerd that forwards every request and every WebSocket frame to the workerd running the
 * Worker, so that it can hold requests while it reloads. Production has no such hop (Cloudflare's
 * edge talks to the Worker's runtime), and on this machine it about doubles the cost of a trivial
 * request, which would flatten every ratio and add milliseconds to every absolute figure. So the
 * bench finds the Worker's own socket (the listening port of the group's workerd that answers
 * /bench/noop) and measures there, and reports what the proxy adds as a figure of its own.
 */
import { NOOP_BODY } from '../durable-objects/bench/markers';
import type { AtriumServer } from '../test/node/support/atrium-server';
import { listeningPorts, workerdOf } from './proc';
import { BenchSocket } from './socket';
import type { Summary } from './stats';
import { summarize } from './stats';

/** The Worker's own origin (http://127.0.0.1:PORT), or null when it cannot be found. */
export async function workerOrigin(s: AtriumServer): Promise<string | null> {
  const group = s.processGroup();
  if (group === undefined) return null;
  for (const p of workerdOf(group)) {
    for (const port of listeningPorts(p.pid)) {
      if (port === s.port) continue;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/bench/noop`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200 && (await res.text()) === NOOP_BODY) return `http://127.0.0.1:${port}`;
      } catch {
        // Not an HTTP socket of the Worker (inspector, loopback services).
      }
    }
  }
  return null;
}

export interface ProxyCost {
  samples: number;
  noopDirect: Summary;
  noopProxy: Summary;
  echoDirect: Summary;
  echoProxy: Summary;
}

/** One request (and one echo) at a time, alternating between the proxy and the Worker's socket. */
export async function proxyCost(proxy: string, direct: string, samples: number): Promise<ProxyCost> {
  const noop = async (origin: string) => {
    const t = performance.now();
    const res = await fetch(`${origin}/bench/noop`);
    await res.text();
    return performance.now() - t;
  };
  const sockets = await Promise.all([proxy, direct].map((o) => BenchSocket.open(`${o.replace(/^http/, 'ws')}/bench/echo?name=proxy-cost`)));
  const echo = async (s: BenchSocket, i: number) => {
    const text = `echo ${i}`;
    const back = s.next((f) => f.raw === text);
    const t = performance.now();
    s.sendRaw(text);
    return (await back).at - t;
  };
  const out = { noopDirect: [] as number[], noopProxy: [] as number[], echoDirect: [] as number[], echoProxy: [] as number[] };
  const warmup = Math.min(20, samples);
  for (let i = 0; i < warmup + samples; i++) {
    const keep = i >= warmup;
    const np = await noop(proxy);
    const nd = await noop(direct);
    const ep = await echo(sockets[0] as BenchSocket, i);
    const ed = await echo(sockets[1] as BenchSocket, i);
    if (keep) {
      out.noopProxy.push(np);
      out.noopDirect.push(nd);
      out.echoProxy.push(ep);
      out.echoDirect.push(ed);
    }
  }
  for (const s of sockets) s.terminate();
  return { samples, noopDirect: summarize(out.noopDirect), noopProxy: summarize(out.noopProxy), echoDirect: summarize(out.echoDirect), echoProxy: summarize(out.echoProxy) };
}
