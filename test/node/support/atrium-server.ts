/// <reference types="node" />
/**
 * Runs a real Atrium (`wrangler dev`) for tests that drive it from Node over HTTP and WebSocket:
 * the official `twilio` helper, browsers, status-callback receivers.
 *
 *   const atrium = await startAtrium();             // fresh, empty storage
 *   const client = twilio(DEV_CREDENTIALS.apiKeySid, DEV_CREDENTIALS.apiKeySecret,
 *     { accountSid: DEV_CREDENTIALS.accountSid });
 *   client.video.baseUrl = atrium.url;
 *   ...
 *   await atrium.restart();                         // same port, same storage
 *   await atrium.stop();                            // kills it, removes its storage
 *
 * Each server gets its own free HTTP port, its own inspector port (two `wrangler dev` would
 * otherwise both claim 9229) and its own `--persist-to` directory, so suites never see each
 * other's rooms. Wrangler is spawned as the leader of a new process group and stopped by
 * signalling the whole group: it forks workerd, which would otherwise outlive it and keep the port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The default account from wrangler.toml `[vars]`; override any of them with `vars`. */
export const DEV_CREDENTIALS = {
  accountSid: 'AC00000000000000000000000000000001',
  authToken: 'atrium-dev-auth-token',
  apiKeySid: 'SK00000000000000000000000000000001',
  apiKeySecret: 'atrium-dev-api-key-secret',
} as const;

export interface StartAtriumOptions {
  /** Extra or overriding Worker vars, passed as `--var NAME:VALUE` (values may contain colons). */
  vars?: Record<string, string>;
  /**
   * Storage directory to use instead of a fresh temporary one. A directory given here belongs to
   * the caller and is never deleted; use it to start a second server on the data of a first.
   */
  persistDir?: string;
  /** How long to wait for the server to answer; default 60 s. */
  startupTimeoutMs?: number;
}

export interface AtriumServer {
  /** Origin without a trailing slash, e.g. `http://127.0.0.1:41234`; set it as `client.video.baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** Where Durable Object storage lives (`--persist-to`). */
  readonly persistDir: string;
  /** Stops the server (the whole process group) and removes a temporary persistDir. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port and persistDir, keeping all stored state. */
  restart(): Promise<void>;
  /** Everything wrangler and the Worker printed so far (console.log of the Worker included). */
  output(): string;
  /** Process group of the running wrangler, which its workerd processes share (the bench reads their memory); undefined once stopped. */
  processGroup(): number | undefined;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRANGLER_CLI = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
/** Durable Object SQLite files are created much faster on tmpfs; fall back to the OS temp dir. */
const FAST_TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
/** Keep at most this much of wrangler's output: enough to diagnose, bounded for long suites. */
const OUTPUT_LIMIT = 256 * 1024;

/** Process groups still running, killed synchronously if the test process exits without stopping them. */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
});

/** Starts Atrium with `wrangler dev` and resolves once it answers HTTP. */
export async function startAtrium(opts: StartAtriumOptions = {}): Promise<AtriumServer> {
  const ownsPersistDir = opts.persistDir === undefined;
  const persistDir = opts.persistDir ?? mkdtempSync(join(FAST_TMP, 'atrium-test-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = opts.startupTimeoutMs ?? 60_000;
  let output = '';
  let child: ChildProcess | undefined;
  let stopped = false;

  const append = (chunk: Buffer | string): void => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(output.length - OUTPUT_LIMIT);
  };

  const launch = async (): Promise<void> => {
    // freePort() may hand back the HTTP port it just released, and workerd cannot bind both to it.
    let inspectorPort = await freePort();
    for (let tries = 0; inspectorPort === port && tries < 10; tries++) inspectorPort = await freePort();
    const args = [
      WRANGLER_CLI,
      'dev',
      '--config', join(REPO_ROOT, 'wrangler.toml'),
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(inspectorPort),
      '--persist-to', persistDir,
      '--show-interactive-dev-session=false',
    ];
    // Without a media server of its own (test/node/support/media-server.ts), a test server has none:
    // wrangler.toml's development SFU_URL names the one `npm start` runs, which tests must not use.
    const vars = { SFU_URL: '', ...opts.vars };
    for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
    append(`\n$ wrangler ${args.slice(1).join(' ')}\n`);
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      detached: true, // new process group, so stop() reaches workerd too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // No telemetry, no Cloudflare lookups, no registry update check (the banner triggers it):
        // the tests must not depend on reaching anything but localhost.
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_HIDE_BANNER: 'true',
        TMPDIR: FAST_TMP,
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    });
    // Without a listener a spawn failure would be an uncaught 'error' event that kills the test run.
    proc.on('error', (err) => append(`\n[harness] wrangler process error: ${err.message}\n`));
    if (proc.pid === undefined) throw new Error(`could not spawn wrangler (${WRANGLER_CLI})`);
    child = proc;
    liveGroups.add(proc.pid);
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    try {
      await waitUntilAnswering(url, proc, timeoutMs);
    } catch (err) {
      await kill(proc);
      // Printed here because vitest shows only the error of a failed hook, not the child's output.
      console.error(`Atrium did not start on ${url}; wrangler output:\n${output}`);
      throw err;
    }
  };

  const kill = async (proc: ChildProcess): Promise<void> => {
    const pgid = proc.pid;
    if (pgid === undefined) return;
    signalGroup(pgid, 'SIGTERM');
    // workerd normally exits on SIGTERM within a second; escalate rather than leak the port.
    if (!(await waitForGroupExit(pgid, 5_000))) {
      signalGroup(pgid, 'SIGKILL');
      await waitForGroupExit(pgid, 5_000);
    }
    liveGroups.delete(pgid);
  };

  try {
    await launch();
  } catch (err) {
    if (ownsPersistDir) rmSync(persistDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    port,
    persistDir,
    output: () => output,
    processGroup: () => child?.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child) await kill(child);
      child = undefined;
      if (ownsPersistDir) rmSync(persistDir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      if (child) await kill(child);
      child = undefined;
      // The group is gone, but the listening socket can take a moment to be released.
      await waitUntilBindable(port, 10_000);
      await launch();
    },
  };
}

/** A port that was free a moment ago: the OS picks it for a listener on port 0, which then closes. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * Polls `GET /v1/Rooms` without credentials until it answers 401: that proves the Worker itself
 * (not just wrangler's proxy) is up and the auth middleware runs.
 */
async function waitUntilAnswering(url: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`wrangler exited (${proc.exitCode ?? proc.signalCode}) before answering on ${url}`);
    }
    try {
      const res = await fetch(`${url}/v1/Rooms`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 401) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new Error(`Atrium did not answer 401 on ${url}/v1/Rooms within ${timeoutMs} ms (last: ${last})`);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group has already exited.
  }
}

/** True once no process of the group is left (signal 0 probes without delivering anything). */
async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

async function waitUntilBindable(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} is still in use after stopping Atrium`);
    await sleep(100);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
