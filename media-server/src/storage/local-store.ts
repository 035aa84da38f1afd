import { createReadStream, type ReadStream } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { isMediaKey } from '../../../core/media-url';
import type { RecordingStore } from './store';

/**
 * The media server's own folder (SFU_RECORDINGS_DIR): each object a file at `<dir>/<key>`. It is
 * served back by signed URLs (GET /v1/media/<key>), so the Worker never carries the bytes.
 */
export class LocalStore implements RecordingStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(key: string, filePath: string): Promise<number> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(filePath, target);
    } catch (err) {
      // The spool is inside this folder, so a rename is the rule; a spool on another filesystem
      // (a mount under it) cannot be renamed across: copy, then remove.
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(filePath, target);
      await unlink(filePath);
    }
    return (await stat(target)).size;
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.path(key));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** The stored file's size, or null when there is none. */
  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  /** Reads bytes `start` to `end` (inclusive) of a stored file, to serve it. */
  read(key: string, start: number, end: number): ReadStream {
    return createReadStream(this.path(key), { start, end });
  }

  /** `<dir>/<key>`, refusing anything that is not a plain relative key (it must stay inside the folder). */
  private path(key: string): string {
    const path = join(this.dir, key);
    if (!isMediaKey(key) || !path.startsWith(this.dir + sep)) throw new Error(`bad object key ${JSON.stringify(key.slice(0, 100))}`);
    return path;
  }
}
