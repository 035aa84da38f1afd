import { describe, expect, it } from 'vitest';
import { api, createRoom, uniqueName } from './support/rest';
import { deadlines, fireDeadline, insideRoomObject, roomObject } from './support/room-object';

describe('POST /v1/Rooms/{Sid}', () => {
  it('completes a room at once with 202, end_time and duration', async () => {
    const room = (await createRoom()).body;
    const res = await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ sid: room.sid, status: 'completed', duration: expect.any(Number) });
    expect(res.body.end_time).toMatch(/Z$/);
    // Only the completed room's purge (retention.ts) is left.
    expect(Object.keys(await deadlines(roomObject(room.unique_name)))).toEqual([`retention:${room.sid}`]);
  });

  it('completes by unique name too', async () => {
    const room = (await createRoom()).body;
    const res = await api('POST', `/v1/Rooms/${encodeURIComponent(room.unique_name)}`, { Status: 'completed' });
    expect(res.status).toBe(202);
    expect(res.body.sid).toBe(room.sid);
  });

  it('gives 53112 for a room that is not in progress, and for bad statuses', async () => {
    const room = (await createRoom()).body;
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    const again = await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe(53112);
    const live = (await createRoom()).body;
    for (const form of [{ Status: 'in-progress' }, { Status: 'failed' }, {}] as Record<string, string>[]) {
      const res = await api('POST', `/v1/Rooms/${live.sid}`, form);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(53112);
    }
    expect((await api('POST', '/v1/Rooms/RM00000000000000000000000000000000', { Status: 'completed' })).status).toBe(404);
  });

  it('frees the name: a new room with a new sid takes it, the old one stays fetchable', async () => {
    const name = uniqueName('reuse');
    const first = (await createRoom({ UniqueName: name })).body;
    expect((await createRoom({ UniqueName: name })).body.code).toBe(53113);
    await api('POST', `/v1/Rooms/${first.sid}`, { Status: 'completed' });
    const second = await createRoom({ UniqueName: name });
    expect(second.status).toBe(201);
    expect(second.body.sid).not.toBe(first.sid);
    expect((await api('GET', `/v1/Rooms/${name}`)).body.sid).toBe(second.body.sid);
    expect((await api('GET', `/v1/Rooms/${first.sid}`)).body.status).toBe('completed');
  });
});

describe('the name race', () => {
  it('gives exactly one 201 and N-1 53113 for N concurrent creates of one name', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(Array.from({ length: 25 }, () => api('POST', '/v1/Rooms', { UniqueName: name })));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    const refused = results.filter((r) => r.status === 400);
    expect(refused).toHaveLength(24);
    for (const r of refused) expect(r.body.code).toBe(53113);
    const listed = await api('GET', `/v1/Rooms?UniqueName=${name}`);
    expect(listed.body.rooms.map((r: any) => r.sid)).toEqual([created[0]!.body.sid]);
  });
});

describe('lifecycle timeouts on the alarm', () => {
  it('schedules the unused-room timeout and the 24-hour cap at creation', async () => {
    const before = Date.now();
    const room = (await createRoom({ UnusedRoomTimeout: '7' })).body;
    const d = await deadlines(roomObject(room.unique_name));
    expect(Object.keys(d).sort()).toEqual(['room:lifetime', 'room:unused']);
    expect(d['room:unused']! - before).toBeGreaterThanOrEqual(7 * 60_000);
    expect(d['room:unused']! - before).toBeLessThan(7 * 60_000 + 5_000);
    expect(d['room:lifetime']! - before).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(d['room:lifetime']! - before).toBeLessThan(24 * 3600_000 + 5_000);
  });

  it('ends an unused room when its timeout fires', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    expect(await fireDeadline(stub, 'room:unused')).toBe(true);
    const fetched = await api('GET', `/v1/Rooms/${room.sid}`);
    expect(fetched.body).toMatchObject({ status: 'completed', duration: expect.any(Number) });
    expect(fetched.body.end_time).not.toBeNull();
    expect(Object.keys(await deadlines(stub))).toEqual([`retention:${room.sid}`]);
    // The name is free again.
    expect((await createRoom({ UniqueName: room.unique_name })).status).toBe(201);
  });

  it('ends a room at the 24-hour cap', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    await fireDeadline(stub, 'room:lifetime');
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('completed');
  });

  it('does nothing when the alarm fires before any deadline is due', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    const { runDurableObjectAlarm } = await import('cloudflare:test');
    await runDurableObjectAlarm(stub);
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('in-progress');
    expect(Object.keys(await deadlines(stub)).sort()).toEqual(['room:lifetime', 'room:unused']);
  });

  it('ends a room when the empty-room timeout fires after the last participant left', async () => {
    const room = (await createRoom({ EmptyRoomTimeout: '3' })).body;
    const stub = roomObject(room.unique_name);
    // The participant side reports "joined" and "left"; drive those hooks directly here.
    await insideRoomObject(stub, (instance) => {
      instance.lifecycle.participantJoined();
    });
    expect(Object.keys(await deadlines(stub))).toEqual(['room:lifetime']);
    const before = Date.now();
    await insideRoomObject(stub, (instance) => {
      instance.lifecycle.participantLeft(0);
    });
    const d = await deadlines(stub);
    expect(d['room:empty']! - before).toBeGreaterThanOrEqual(3 * 60_000 - 50);
    await fireDeadline(stub, 'room:empty');
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('completed');
  });
});

describe('the Room object schema', () => {
  it('creates the participant and pair tables only when the first participant joins', async () => {
    const room = (await createRoom()).body;
    const stub = roomObject(room.unique_name);
    const tables = () =>
      insideRoomObject(stub, (_instance, state) =>
        state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('participants', 'pairs') ORDER BY name")
          .toArray()
          .map((r) => r.name),
      );
    expect(await tables()).toEqual([]);
    const { SignalingClient } = await import('./support/signaling-client');
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    expect(alice.connected.sid).toBe(room.sid);
    expect(await tables()).toEqual(['pairs', 'participants']);
  });
});
