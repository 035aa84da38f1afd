/**
 * What the recording tests need beside the media fixture: real media sent by a synthetic
 * participant at its real pace, ffprobe's view of a file, the files a folder holds, and a media
 * server run as a child process (the bundle `npm run sfu` runs), to be killed mid-recording and
 * started again on the same folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlClient, type ControlClient } from './control';
import type { SyntheticParticipant } from './synthetic-participant';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUNDLE = join(REPO_ROOT, 'media-server', 'dist', 'media-server.mjs');

/**
 * Sends real RTP packets (one track's, in order) as `participant`'s track of that kind, paced by
 * their timestamps as an encoder would send them: its own SSRC and payload type (the server's
 * description of the line names them), the payload untouched. Resolves when the last is sent.
 */
export async function playRtp(participant: SyntheticParticipant, kind: 'audio' | 'video', packets: Buffer[]): Promise<void> {
  const mid = kind === 'audio' ? participant.audioMid : participant.videoMid;
  if (mid === null || packets.length === 0) throw new Error(`${participant.participant} has no ${kind} line, or nothing to send`);
  const ssrc = kind === 'audio' ? participant.audioSsrc : participant.videoSsrc;
  const pt = kind === 'audio' ? participant.audioPayloadType : participant.videoPayloadType;
  const clock = kind === 'audio' ? 48_000 : 90_000;
  const first = packets[0]!.readUInt32BE(4);
  const start = Date.now();
  for (const original of packets) {
    const dueMs = (((original.readUInt32BE(4) - first) >>> 0) * 1000) / clock;
    const wait = start + dueMs - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const packet = Buffer.from(original);
    packet[1] = (packet[1]! & 0x80) | pt;
    packet.writeUInt32BE(ssrc >>> 0, 8);
    participant.sendRtcp(mid, packet);
  }
}

/** What ffprobe says of a file: its streams' codecs and the container's duration (s). */
export function ffprobe(path: string): { codecs: string[]; types: string[]; duration: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_type:format=duration', '-of', 'json', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe ${path} failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { streams: { codec_name: string; codec_type: string }[]; format: { duration?: string } };
  return { codecs: out.streams.map((s) => s.codec_name), types: out.streams.map((s) => s.codec_type), duration: Number(out.format.duration ?? NaN) };
}

/** Every file under `dir`, as paths relative to it (sorted); none for a folder that does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let built = false;

/** A media server in a child process, on its own port, secret and recordings folder. */
export interface ChildMediaServer {
  readonly url: string;
  readonly secret: string;
  readonly control: ControlClient;
  /** Starts it (again): resolves once /health answers. */
  start(): Promise<void>;
  /** SIGKILL: nothing is finished, the spool is left as it is. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), resolving when the process has exited. */
  stop(): Promise<void>;
  /** What it printed (its JSON log lines). */
  output(): string;
}

export async function childMediaServer(recordingsDir: string): Promise<ChildMediaServer> {
  if (!built) {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'media-server', 'build.mjs')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`media server build failed: ${r.stderr}`);
    built = true;
  }
  const port = await freePort();
  const secret = randomBytes(24).toString('hex');
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let output = '';
  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };
  return {
    url,
    secret,
    control: controlClient(url, secret),
    async start() {
      const proc = spawn(process.execPath, ['--enable-source-maps', BUNDLE], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SFU_PORT: String(port), SFU_SECRET: secret, SFU_ANNOUNCED_ADDRESSES: '127.0.0.1', SFU_RECORDINGS_DIR: recordingsDir },
      });
      child = proc;
      proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`media server exited (${proc.exitCode}):\n${output}`);
        const up = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
        if (up) return;
        if (Date.now() > deadline) throw new Error(`media server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    output: () => output,
  };
}

/**
 * Runs `fn` with a started child media server on a fresh recordings folder; a failure carries the
 * server's output, and the process and folder are gone afterwards either way.
 */
export async function withChildMediaServer(fn: (server: ChildMediaServer, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-recordings-child-'));
  const server = await childMediaServer(dir);
  try {
    await server.start();
    await fn(server, dir);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- media server output ---\n${server.output().slice(-4000)}`);
  } finally {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
