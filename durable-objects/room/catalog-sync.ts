import { logError } from '../../core/log';
import type { RoomStore } from './room-store';
import type { Scheduler } from './scheduler';

export const CATALOG_RETRY = 'catalog:retry';
const RETRY_MS = 1_000;

/** The account catalog, as the Room object sees it. */
export interface CatalogPort {
  upsert(room: import('../../core/room-record').RoomRecord): Promise<void> | void;
  /** Forgets a purged room (retention.ts). */
  remove(sid: string): Promise<void> | void;
}

/**
 * Mirrors the room's records into the account catalog. Every change is pushed at once and awaited,
 * so a REST caller that gets 201 can list the room. If the catalog cannot be reached the revision
 * stays unpublished and a scheduler deadline retries until it is acknowledged.
 */
export class CatalogSync {
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly store: RoomStore,
    private readonly scheduler: Scheduler,
    private readonly catalog: () => CatalogPort | null,
  ) {}

  /** Publishes every unacknowledged revision. Never throws: failures schedule a retry. */
  async publish(): Promise<void> {
    // Calls overlap when two requests change the room back to back; chain them so each one waits
    // for a publish that started after its own change.
    const previous = this.inFlight;
    const run = (async () => {
      if (previous) await previous.catch(() => undefined); // its own caller saw (and logged) its failure
      await this.publishNow();
    })();
    this.inFlight = run;
    try {
      await run;
    } finally {
      if (this.inFlight === run) this.inFlight = null;
    }
  }

  /**
   * Removes a purged room from the catalog, after every publish already started (which could
   * otherwise put a copy back after the removal). Throws when the catalog cannot be reached; the
   * caller retries.
   */
  async forget(sid: string): Promise<void> {
    const previous = this.inFlight;
    if (previous) await previous.catch(() => undefined);
    await this.catalog()?.remove(sid);
  }

  private async publishNow(): Promise<void> {
    if (!this.store.mayHaveUnpublished) return;
    try {
      const pushed = await pushUnpublished(
        this.store,
        () => this.catalog(),
        (catalog, room) => catalog.upsert(room),
        (room) => this.store.markPublished(room.sid, room.revision),
      );
      if (pushed) this.scheduler.clear(CATALOG_RETRY);
    } catch (err) {
      logError({
        event: 'catalog-publish-failed',
        roomSid: this.roomSid(),
        message: `catalog publish failed; retrying in ${RETRY_MS} ms`,
        error: err,
      });
      this.scheduler.set(CATALOG_RETRY, Date.now() + RETRY_MS);
    }
  }

  private roomSid(): string | null {
    try {
      return this.store.current()?.sid ?? null;
    } catch {
      return null;
    }
  }
}

/** A store mirrored into the catalog: a flag every change raises, and the revisions not yet taken. */
export interface Mirrored<T> {
  mayHaveUnpublished: boolean;
  unpublished(): T[];
}

/**
 * Pushes every revision the catalog has not taken, in order, marking each once it is taken. The
 * flag is lowered first and raised again on a throw, which is rethrown for the caller to retry: a
 * change made meanwhile is never left unpublished. Without a catalog nothing is pushed. True when
 * something was.
 */
export async function pushUnpublished<T, C>(
  store: Mirrored<T>,
  catalog: () => C | null,
  push: (catalog: C, item: T) => Promise<void> | void,
  taken: (item: T) => void,
): Promise<boolean> {
  store.mayHaveUnpublished = false;
  try {
    // Inside the try: a throw here (storage, the catalog binding) must not leave the flag off
    // with revisions unpublished and no retry scheduled.
    const pending = store.unpublished();
    if (!pending.length) return false;
    const target = catalog();
    if (!target) return false;
    for (const item of pending) {
      await push(target, item);
      taken(item);
    }
    return true;
  } catch (err) {
    store.mayHaveUnpublished = true;
    throw err;
  }
}
