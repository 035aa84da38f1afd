import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingCodec, RecordingOrder, RecordingState } from '../../../core/recordings';

/** What a sidecar says of one recording: enough to finish it after a crash and to report it. */
export interface SpoolEntry {
  /** The room the recording belongs to (its listing). */
  room: string;
  order: RecordingOrder;
  /** When the order arrived (epoch ms). */
  createdAt: number;
  /** The publication's codec, once it appeared. */
  codec: RecordingCodec | null;
  /** Wall clock of the first media written (for the Room object's offset), once there was some. */
  startedAt: number | null;
  /** Set once the file is complete on disk and only storing remains. */
  finished?: { durationMs: number };
  /** The final state, kept until the Room object acknowledges it (so a restart still reports it). */
  state?: RecordingState;
}

/**
 * The spool: where recordings are written while they are being made (`<SFU_RECORDINGS_DIR>/.spool`),
 * each as `<sid>.<mka|mkv>` beside a sidecar `<sid>.json` that holds its order (with the storage
 * target and its credentials, hence mode 0600). A crash leaves both; at startup the server reads
 * the sidecars back (load) and finishes what they describe before it listens.
 */
export class Spool {
  constructor(readonly dir: string) {}

  /** Where a recording's file is written. */
  mediaPath(order: RecordingOrder): string {
    return join(this.dir, `${order.sid}.${order.kind === 'audio' ? 'mka' : 'mkv'}`);
  }

  /** Writes a sidecar whole: to a temporary file, then renamed over the old one (a crash leaves one or the other). */
  async save(entry: SpoolEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.sidecarPath(entry.order.sid);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, path);
  }

  /** Drops a recording's sidecar (acknowledged, or never started). */
  async remove(sid: string): Promise<void> {
    await unlink(this.sidecarPath(sid)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Whether a file exists and has bytes. */
  async hasMedia(path: string): Promise<boolean> {
    try {
      return (await stat(path)).size > 0;
    } catch {
      return false;
    }
  }

  /** Every sidecar in the spool; one that cannot be read is reported to `bad` and skipped (left in place). */
  async load(bad: (file: string, why: string) => void): Promise<SpoolEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SpoolEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        const entry = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as SpoolEntry;
        if (typeof entry?.room !== 'string' || typeof entry.order?.sid !== 'string' || `${entry.order.sid}.json` !== name) throw new Error('not a recording sidecar');
        out.push(entry);
      } catch (err) {
        bad(name, err instanceof Error ? err.message : String(err));
      }
    }
    return out;
  }

  private sidecarPath(sid: string): string {
    return join(this.dir, `${sid}.json`);
  }
}
