import { logError } from '../../../core/log';
import type { RecordingSettings } from '../../../core/recording-settings';
import type { RecordingRecord } from '../../../core/recordings';
import { pushUnpublished } from '../catalog-sync';
import type { Scheduler } from '../scheduler';
import type { RecordingStore } from './recording-store';

/** Deadline key of the retry when the catalog could not take a change. */
export const RECORDINGS_CATALOG = 'recordings:catalog';
const RETRY_MS = 1_000;

/** The account catalog, as recordings use it. */
export interface RecordingsCatalog {
  upsertRecording(r: RecordingRecord): Promise<void> | void;
  recordingSettings(): Promise<RecordingSettings | null> | RecordingSettings | null;
}

/**
 * Mirrors the room's Recording resources into the account catalog, where REST reads them (and
 * where they outlive the room's own records). Every change is pushed after the job that made it;
 * one the catalog cannot take is retried on a deadline until it is. Overlapping pushes are
 * harmless: the catalog keeps a record's newest state (by status, then date_updated).
 */
export class RecordingCatalogSync {
  constructor(
    private readonly store: RecordingStore,
    private readonly scheduler: Pick<Scheduler, 'set' | 'get' | 'clear'>,
    private readonly catalog: () => RecordingsCatalog | null,
    private readonly now: () => number,
  ) {}

  /** Pushes every recording change the catalog has not taken. Never throws: a failure is retried on a deadline. */
  async publish(): Promise<void> {
    if (!this.store.mayHaveUnpublished) return;
    try {
      const pushed = await pushUnpublished(
        this.store,
        this.catalog,
        (catalog, { record }) => catalog.upsertRecording(record),
        ({ record, revision }) => this.store.markPublished(record.sid, revision),
      );
      if (pushed && this.scheduler.get(RECORDINGS_CATALOG) !== undefined) this.scheduler.clear(RECORDINGS_CATALOG);
    } catch (err) {
      logError({ event: 'recording-publish-failed', message: `recordings not yet in the catalog; retrying in ${RETRY_MS} ms`, error: err });
      this.scheduler.set(RECORDINGS_CATALOG, this.now() + RETRY_MS);
    }
  }
}
