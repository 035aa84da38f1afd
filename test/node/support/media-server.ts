/// <reference types="node" />
/**
 * Runs a real media server (`npm run sfu`'s build) for tests:
 *
 *   const sfu = await startMediaServer();          // its own port and secret
 *   const atrium = await startAtrium({ vars: sfu.vars });   // SFU_URL and SFU_SECRET set
 *   await sfu.restart();                            // a new process on the same port (sessions lost)
 *   await sfu.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlClient } from '../../../media-server/test/support/control';
import { freePort } from './atrium-server';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUNDLE = join(REPO_ROOT, 'media-server', 'dist', 'media-server.mjs');
const OUTPUT_LIMIT = 256 * 1024;

export interface MediaServer {
  readonly url: string;
  readonly port: number;
  readonly secret: string;
  /** `--var` values that point a `wrangler dev` at this server. */
  readonly vars: { SFU_URL: string; SFU_SECRET: string };
  /** A signed control request, as the Room object makes them. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Kills the process (SIGKILL: no goodbye to anyone) and starts a new one on the same port. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

let built = false;
/** Builds the bundle once per test process. */
export function buildMediaServer(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'media-server', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('media server build failed');
  built = true;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startMediaServer(opts: { env?: Record<string, string>; secret?: string } = {}): Promise<MediaServer> {
  buildMediaServer();
  const port = await freePort();
  const secret = opts.secret ?? randomBytes(24).toString('hex');
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };

  const start = async () => {
    const proc = spawn(process.execPath, ['--enable-source-maps', BUNDLE], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SFU_PORT: String(port), SFU_SECRET: secret, SFU_ANNOUNCED_ADDRESSES: '127.0.0.1', ...opts.env },
    });
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    proc.on('error', (err) => append(Buffer.from(`\n[harness] ${err.message}\n`)));
    child = proc;
    live.add(proc);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`media server exited (${proc.exitCode}):\n${output}`);
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`media server did not start on ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
    live.delete(proc);
  };

  await start();
  const control = controlClient(url, secret);
  return {
    url,
    port,
    secret,
    vars: { SFU_URL: url, SFU_SECRET: secret },
    call: (method, path, body) => control.call(method, path, body),
    async restart() {
      await kill();
      await start();
    },
    kill,
    start,
    async stop() {
      await kill();
    },
    output: () => output,
  };
}
