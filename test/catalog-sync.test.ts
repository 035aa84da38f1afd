import { describe, expect, it } from 'vitest';
import { CATALOG_RETRY, CatalogSync } from '../durable-objects/room/catalog-sync';
import type { RoomRecord } from '../core/room-record';
import { api, createRoom } from './support/rest';
import { deadlines, insideRoomObject, roomObject } from './support/room-object';

describe('catalog sync', () => {
  it('retries on the alarm when the catalog cannot be reached, and never loses a revision', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    const upserts: RoomRecord[] = [];
    let reachable = false;
    const port = {
      upsert: async (r: RoomRecord) => {
        if (!reachable) throw new Error('catalog unreachable');
        upserts.push(r);
      },
      remove: async () => undefined,
    };
    await insideRoomObject(stub, async (instance) => {
      const sync = new CatalogSync(instance.store, instance.scheduler, () => port);
      const current = instance.store.current();
      instance.store.save({ ...current, dateUpdated: current.dateUpdated + 1 });
      await sync.publish();
      expect(instance.store.unpublished().map((r: RoomRecord) => r.sid)).toEqual([room.sid]);
      expect(instance.scheduler.get(CATALOG_RETRY)).toBeGreaterThan(Date.now());
      reachable = true;
      await sync.publish();
      expect(instance.store.unpublished()).toEqual([]);
      expect(instance.scheduler.get(CATALOG_RETRY)).toBeUndefined();
    });
    expect(upserts).toHaveLength(1);
    expect(upserts[0]!.revision).toBe(2);
    expect(Object.keys(await deadlines(stub))).not.toContain(CATALOG_RETRY);
  });

  it('keeps the newest copy in the catalog whatever order copies arrive in', async () => {
    const room = (await createRoom()).body;
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    const { env } = await import('cloudflare:test');
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(room.account_sid));
    const stale = await insideRoomObject(roomObject(room.unique_name), (instance) => ({ ...instance.store.get(room.sid), status: 'in-progress', revision: 1 }));
    await catalog.upsert(stale);
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('completed');
  });
});
