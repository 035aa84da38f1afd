import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../workers/env';
import type { Result } from '../../workers/errors';
import { fail, ok } from '../../workers/errors';
import { CATALOG_RETRY, CatalogSync } from './catalog-sync';
import type { EndReason, LifecycleListener } from './lifecycle';
import { Lifecycle } from './lifecycle';
import type { RoomRecord, RoomSpec } from './room-record';
import { RoomStore } from './room-store';
import { Scheduler } from './scheduler';

/**
 * One Room object per account + unique name (the sid, for rooms created without a name). It is the
 * single authority for that name: creates are serialized here, so exactly one of N concurrent
 * creates wins. Durable Objects run one event at a time, and every check-then-write below is
 * synchronous SQLite work with no await in between, so no other request can interleave.
 */
export class RoomObject extends DurableObject<Env> implements LifecycleListener {
  private readonly store: RoomStore;
  private readonly scheduler: Scheduler;
  private readonly lifecycle: Lifecycle;
  private readonly catalogSync: CatalogSync;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.store = new RoomStore(sql);
    this.scheduler = new Scheduler(sql, ctx.storage);
    this.lifecycle = new Lifecycle(this.store, this.scheduler, this);
    this.catalogSync = new CatalogSync(this.store, this.scheduler, () => this.catalog());
  }

  // ---- RPC, called by the Worker ----

  /** Creates a room under this name; 53113 while another one is in progress. */
  async create(spec: RoomSpec): Promise<Result<RoomRecord>> {
    const existing = this.store.current();
    if (existing) return fail(53113, `Room exists: a room named '${existing.uniqueName}' is in progress (${existing.sid})`);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('account', ?)", spec.accountSid);
    const room = this.lifecycle.start(spec);
    await this.catalogSync.publish();
    return ok(room);
  }

  /** The room in progress under this name, if any. */
  async current(): Promise<RoomRecord | null> {
    return this.store.current();
  }

  /** Any room this object has hosted, by sid. */
  async room(sid: string): Promise<RoomRecord | null> {
    return this.store.get(sid);
  }

  /** REST `Status=completed`: ends the room now. 53112 unless `sid` is the room in progress. */
  async complete(sid: string): Promise<Result<RoomRecord>> {
    const room = this.store.current();
    if (!room || room.sid !== sid) return fail(53112, 'Status is invalid: the room is not in progress');
    const ended = this.lifecycle.end(room, 'rest');
    await this.catalogSync.publish();
    return ok(ended);
  }

  // ---- Alarm: every deadline of the room, earliest first ----

  override async alarm(): Promise<void> {
    // The runtime clears the alarm as it fires it; forget what the scheduler thinks is set.
    this.scheduler.forgetArmed();
    for (const key of this.scheduler.takeDue(Date.now())) {
      if (this.lifecycle.onDeadline(key)) continue;
      if (key === CATALOG_RETRY) continue; // handled by the publish below
      console.warn(`room ${this.ctx.id}: no handler for deadline ${key}`);
    }
    await this.catalogSync.publish();
    this.scheduler.arm();
  }

  // ---- LifecycleListener ----

  // Callers await catalogSync.publish() after every change, so these only do same-step work.
  roomStarted(_room: RoomRecord): void {}

  roomEnded(_room: RoomRecord, _reason: EndReason): void {}

  private catalog() {
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'account'").toArray()[0];
    if (!row) return null;
    return this.env.CATALOG.get(this.env.CATALOG.idFromName(row.value));
  }
}
