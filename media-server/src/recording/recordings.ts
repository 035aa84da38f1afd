import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingCodec, RecordingOrder, RecordingState } from '../../../core/recordings';
import type { Publication } from '../media/publication';
import { trackKey } from '../session/session-media';
import { LocalStore } from '../storage/local-store';
import { storeFor } from '../storage/stores';
import { finalizePartial } from './finalize-partial';
import { Recorder } from './recorder';
import { Spool, type SpoolEntry } from './spool';
import { TrackWriter } from './track-writer';

/** What the registry needs of its surroundings. */
export interface RecordingsOptions {
  /** SFU_RECORDINGS_DIR: the local store's folder; the spool is its `.spool` folder. */
  dir: string;
  /** The publication `<session>/<track>` of a room now, if there is one. */
  publication(room: string, key: string): Publication | undefined;
  /** One JSON line per event (sfu.ts log). */
  log(event: string, fields: Record<string, unknown>): void;
}

/** Attempts at storing a finished file before the recording fails, and the wait before the n-th retry (n × this). */
const STORE_ATTEMPTS = 3;
const STORE_RETRY_MS = 2_000;

/** Sids that ended and were acknowledged, remembered so that an order for one never restarts it. */
const MAX_FORGOTTEN = 10_000;

/** One recording the server was ordered: its order, where it stands, and what writes it. */
interface Entry extends SpoolEntry {
  status: RecordingState['status'];
  /** The publication it records (or recorded), once it appeared. */
  publication: Publication | null;
  /** The writer being opened, then open; null before the publication appears. */
  writer: Promise<TrackWriter> | null;
  recorder: Recorder | null;
  /** Why it failed (the track is not what was ordered, the file could not be opened), or what cut it (a restart). */
  failure: string | null;
  /** Sidecar writes, in order. */
  persisted: Promise<void>;
  /** Settles when the recording reached its final state. */
  settled: Promise<void>;
}

/**
 * Every recording the Room objects ordered, by room: started when their publication exists (or
 * appears), stopped when no longer ordered or when the publication goes away, then finalized,
 * stored and reported until acknowledged. It lives beside the rooms of sfu.ts, not in them: a
 * room is dropped when its last session closes, and its recordings still have to reach their
 * final state and be reported.
 */
export class Recordings {
  readonly local: LocalStore;
  private readonly spool: Spool;
  private readonly entries = new Map<string, Entry>();
  private readonly forgotten = new Set<string>();

  constructor(private readonly options: RecordingsOptions) {
    this.local = new LocalStore(options.dir);
    this.spool = new Spool(join(this.local.dir, '.spool'));
  }

  /**
   * A Room object's PUT: `orders` is the whole set that should be writing in `room` now. New ones
   * start, those no longer listed stop; `acknowledged` final states are forgotten. Answers the
   * room's listing.
   */
  put(room: string, orders: RecordingOrder[], acknowledged: string[]): RecordingState[] {
    for (const sid of acknowledged) {
      const e = this.entries.get(sid);
      if (!e || e.room !== room || !isFinal(e.status)) continue;
      this.entries.delete(sid);
      this.forget(sid);
      e.persisted = e.persisted.then(() => this.spool.remove(sid)).catch((err) => this.fail(e, 'recording-spool-error', err));
    }
    const wanted = new Set(orders.map((o) => o.sid));
    for (const e of this.entries.values()) if (e.room === room && e.status === 'recording' && !wanted.has(e.order.sid)) this.stop(e);
    for (const order of orders) if (!this.entries.has(order.sid) && !this.forgotten.has(order.sid)) this.start(room, order);
    return this.list(room);
  }

  /** What the server knows of the room's recordings, oldest first, until acknowledged. */
  list(room: string): RecordingState[] {
    return [...this.entries.values()].filter((e) => e.room === room).map((e) => stateOf(e));
  }

  /** A publication appeared in a room: recordings waiting for it start. */
  published(room: string, p: Publication): void {
    for (const e of this.entries.values()) if (e.room === room && trackKey(e.order.session, e.order.track) === p.key && e.status === 'recording' && !e.publication) this.open(e, p);
  }

  /** A publication went away (unpublished, its session closed): its recordings stop. */
  unpublished(p: Publication): void {
    for (const e of this.entries.values()) if (e.publication === p) this.stop(e);
  }

  /** The room was closed (DELETE /v1/rooms/{room}): all its recordings stop. */
  closeRoom(room: string): void {
    for (const e of this.entries.values()) if (e.room === room) this.stop(e);
  }

  /** Stops every recording and resolves once each is final (shutdown). */
  async stopAll(): Promise<void> {
    for (const e of this.entries.values()) this.stop(e);
    await Promise.all([...this.entries.values()].map((e) => e.settled));
  }

  /**
   * Startup, before the control API listens: every recording the spool holds is finished. One that
   * was final is reported again until acknowledged; one whose file was complete is stored; one cut
   * while writing is finalized from its partial file (completed, with `error` saying a restart cut
   * it), or failed with the partial file kept in the spool when it cannot be.
   */
  async recover(): Promise<void> {
    const found = await this.spool.load((file, why) => this.options.log('recording-spool-unreadable', { file, error: why }));
    for (const s of found) {
      if (this.entries.has(s.order.sid)) continue;
      const e = this.entry(s);
      if (s.state && isFinal(s.state.status)) {
        e.state = s.state;
        e.status = s.state.status;
        continue;
      }
      e.status = 'finishing';
      await (e.settled = this.recoverOne(e).catch((err) => this.final(e, 'failed', { error: `internal error: ${message(err)}` })));
    }
  }

  private entry(s: SpoolEntry): Entry {
    const e: Entry = { ...s, status: 'recording', publication: null, writer: null, recorder: null, failure: null, persisted: Promise.resolve(), settled: Promise.resolve() };
    this.entries.set(s.order.sid, e);
    return e;
  }

  private start(room: string, order: RecordingOrder): void {
    const e = this.entry({ room, order, createdAt: Date.now(), codec: null, startedAt: null });
    this.persist(e);
    this.options.log('recording-ordered', { room, sid: order.sid, track: `${order.session}/${order.track}`, kind: order.kind });
    const p = this.options.publication(room, trackKey(order.session, order.track));
    if (p) this.open(e, p);
  }

  /** The publication is there: open the file (only now: nothing is written before) and record. */
  private open(e: Entry, p: Publication): void {
    e.publication = p;
    const codec = recordingCodec(p.codec);
    if (p.kind !== e.order.kind || !codec) {
      e.failure = p.kind !== e.order.kind ? `the track is ${p.kind}, not ${e.order.kind}` : `codec ${p.codec} cannot be recorded`;
      this.stop(e);
      return;
    }
    e.codec = codec;
    const path = this.spool.mediaPath(e.order);
    e.writer = e.persisted.then(() => TrackWriter.open({ path, kind: e.order.kind, codec: codec === 'OPUS' ? 'opus' : codec }));
    e.writer.then(
      (writer) => {
        if (e.status !== 'recording') return;
        e.recorder = new Recorder({
          writer,
          kind: e.order.kind,
          onStarted: (at) => {
            e.startedAt = at;
            this.persist(e);
            this.options.log('recording-started', { room: e.room, sid: e.order.sid, codec, startedAt: at });
          },
        });
        e.recorder.attach(p);
      },
      (err) => {
        e.failure ??= `could not open the file: ${message(err)}`;
        this.stop(e);
      },
    );
  }

  private stop(e: Entry): void {
    if (e.status !== 'recording') return;
    e.status = 'finishing';
    e.recorder?.detach();
    // Whatever goes wrong, the recording ends final: never stuck finishing.
    e.settled = this.finish(e).catch((err) => this.final(e, 'failed', { error: `internal error: ${message(err)}` }));
  }

  /** Finalizes the file and stores it; a recording never leaves here without a final state. */
  private async finish(e: Entry): Promise<void> {
    const path = this.spool.mediaPath(e.order);
    const writer = e.writer ? await e.writer.catch(() => null) : null;
    if (!writer) return this.final(e, 'failed', { error: e.failure ?? 'no media was received: the track was never published here' });
    // A write that failed (a full disk) surfaces here.
    let written: { durationMs: number; size: number };
    try {
      written = await writer.finish();
    } catch (err) {
      return this.final(e, 'failed', { error: `could not finalize the file: ${message(err)}` });
    }
    e.startedAt ??= writer.startedAt;
    if (writer.startedAt === null) {
      await unlink(path).catch(() => undefined);
      return this.final(e, 'failed', { error: 'no media was received before the recording stopped' });
    }
    e.finished = { durationMs: written.durationMs };
    await this.persist(e);
    await this.store(e, path, written.durationMs);
  }

  /** A spooled recording found at startup and not final: store its complete file, or finalize the partial one first. */
  private async recoverOne(e: Entry): Promise<void> {
    const path = this.spool.mediaPath(e.order);
    if (e.finished) return this.store(e, path, e.finished.durationMs);
    if (!(await this.spool.hasMedia(path))) {
      await unlink(path).catch(() => undefined);
      return this.final(e, 'failed', { error: 'the media server restarted before any media was written' });
    }
    const fixed = `${path}.finalized`;
    let written: { durationMs: number; size: number };
    try {
      written = await finalizePartial(path, fixed);
      await rename(fixed, path);
    } catch (err) {
      await unlink(fixed).catch(() => undefined);
      return this.final(e, 'failed', { error: `cut by a media server restart; the partial file could not be finalized (${message(err)}), kept in the spool` });
    }
    e.failure = 'cut by a media server restart; finalized from the partial file';
    e.finished = { durationMs: written.durationMs };
    await this.persist(e);
    await this.store(e, path, written.durationMs);
  }

  /** Stores the file under the order's key, retried a few times; it stays in the spool if the store refuses it. */
  private async store(e: Entry, path: string, durationMs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const store = await storeFor(e.order.storage, this.local);
        const size = await store.put(e.order.key, path);
        return this.final(e, 'completed', { size, durationMs, ...(e.failure ? { error: e.failure } : {}) });
      } catch (err) {
        this.options.log('recording-store-error', { room: e.room, sid: e.order.sid, key: e.order.key, storage: e.order.storage.type, attempt, error: message(err) });
        if (attempt >= STORE_ATTEMPTS) return this.final(e, 'failed', { durationMs, error: `could not store the file (${message(err)}); it is kept in the media server's spool` });
        await new Promise((r) => setTimeout(r, attempt * STORE_RETRY_MS));
      }
    }
  }

  private async final(e: Entry, status: 'completed' | 'failed', fields: { size?: number; durationMs?: number; error?: string }): Promise<void> {
    e.status = status;
    e.state = { ...stateOf(e), status, size: fields.size ?? 0, durationMs: fields.durationMs ?? e.finished?.durationMs ?? 0, ...(fields.error ? { error: fields.error } : {}) };
    if (status === 'failed') this.options.log('recording-failed', { room: e.room, sid: e.order.sid, error: fields.error });
    else this.options.log('recording-completed', { room: e.room, sid: e.order.sid, key: e.order.key, storage: e.order.storage.type, size: e.state.size, durationMs: e.state.durationMs });
    await this.persist(e);
  }

  /** Writes the entry's sidecar after the ones before it; a failure to write is logged (the recording goes on). */
  private persist(e: Entry): Promise<void> {
    const snapshot: SpoolEntry = { room: e.room, order: e.order, createdAt: e.createdAt, codec: e.codec, startedAt: e.startedAt, ...(e.finished ? { finished: e.finished } : {}), ...(e.state ? { state: e.state } : {}) };
    e.persisted = e.persisted.then(() => this.spool.save(snapshot)).catch((err) => this.fail(e, 'recording-spool-error', err));
    return e.persisted;
  }

  private fail(e: Entry, event: string, err: unknown): void {
    this.options.log(event, { room: e.room, sid: e.order.sid, error: message(err) });
  }

  private forget(sid: string): void {
    this.forgotten.add(sid);
    if (this.forgotten.size > MAX_FORGOTTEN) this.forgotten.delete(this.forgotten.values().next().value!);
  }
}

const isFinal = (status: RecordingState['status']): boolean => status === 'completed' || status === 'failed';

/** The publication's codec as a recording names it, or null for one that is not recorded. */
function recordingCodec(codec: string): RecordingCodec | null {
  return codec === 'OPUS' || codec === 'VP8' || codec === 'H264' ? codec : null;
}

function stateOf(e: Entry): RecordingState {
  if (e.state) return e.state;
  return { sid: e.order.sid, status: e.status, startedAt: e.startedAt, durationMs: e.finished?.durationMs ?? e.recorder?.durationMs ?? 0, size: 0, codec: e.codec, container: e.order.kind === 'audio' ? 'mka' : 'mkv' };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
