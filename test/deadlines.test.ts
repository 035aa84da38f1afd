import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TwilioError } from '../core/errors';
import { deadlineRetryDelay, MAX_DEADLINE_ATTEMPTS } from '../durable-objects/room/scheduler';
import { api, createRoom } from './support/rest';
import { deadlines, insideRoomObject, roomObject } from './support/room-object';
import { SignalingClient } from './support/signaling-client';
import { lines, mentioning } from './support/log-lines';

type Stub = ReturnType<typeof roomObject>;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Makes the deadline `key` due now (inserting it if need be), as if its time had come. Its retry
 * record moves with it, as time passing would leave it matching the deadline.
 */
async function makeDue(stub: Stub, key: string, at = Date.now() - 1): Promise<void> {
  await insideRoomObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const before = sql.exec<{ at: number }>('SELECT at FROM deadlines WHERE key = ?', key).toArray()[0]?.at;
    sql.exec('INSERT INTO deadlines (key, at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET at = excluded.at', key, at);
    const retrying = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deadline_failures'").toArray().length > 0;
    if (retrying && before !== undefined) sql.exec('UPDATE deadline_failures SET retry_at = ? WHERE key = ? AND retry_at = ?', at, key, before);
  });
}

/** Failures recorded for `key`: attempts so far, or 0. */
const attemptsOf = (stub: Stub, key: string) =>
  insideRoomObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    if (!sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deadline_failures'").toArray().length) return 0;
    return sql.exec<{ attempts: number }>('SELECT attempts FROM deadline_failures WHERE key = ?', key).toArray()[0]?.attempts ?? 0;
  });

/** Makes the sweep's handler throw `error` (the signaling's deadlines go through one method). */
const breakSweep = (stub: Stub, error: () => unknown, calls: { n: number }) =>
  insideRoomObject(stub, (instance) => {
    const original = instance.signaling.onDeadline.bind(instance.signaling);
    instance.signaling.onDeadline = (key: string, now: number) => {
      if (key !== 'sockets:sweep') return original(key, now);
      calls.n++;
      throw error();
    };
  });

const restoreSweep = (stub: Stub) =>
  insideRoomObject(stub, (instance) => {
    delete instance.signaling.onDeadline; // the prototype's method again
  });

describe('deadlines whose handler throws', () => {
  it('runs the other deadlines due in the same alarm, keeps the failing one and retries it', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const calls = { n: 0 };
    await breakSweep(stub, () => new TwilioError(53000, 'injected sweep failure'), calls);
    // Both due; the failing one first.
    await makeDue(stub, 'sockets:sweep', Date.now() - 2);
    await makeDue(stub, 'room:unused', Date.now() - 1);

    const before = Date.now();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(calls.n).toBe(1);
    // The unused-room timeout after it still ran, and its change reached the catalog.
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('completed');
    expect((await api('GET', `/v1/Rooms?Status=completed&UniqueName=${room.unique_name}`)).body.rooms.map((r: any) => r.sid)).toEqual([room.sid]);
    // The failing deadline is kept, one second later, and the alarm is armed for the earliest.
    const d = await deadlines(stub);
    expect(d['room:unused']).toBeUndefined();
    expect(d['sockets:sweep']! - before).toBeGreaterThanOrEqual(deadlineRetryDelay(1));
    expect(d['sockets:sweep']! - Date.now()).toBeLessThanOrEqual(deadlineRetryDelay(1));
    const alarm = await insideRoomObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(Math.min(...Object.values(d)));
    expect(await attemptsOf(stub, 'sockets:sweep')).toBe(1);

    // One structured line for the one failure, with the room, the event, the key and the code.
    const logged = lines(error).filter((l) => l.event === 'deadline-failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'error',
      event: 'deadline-failed',
      roomSid: room.sid,
      participantSid: null,
      code: 53000,
      key: 'sockets:sweep',
      attempt: 1,
      error: { name: 'TwilioError', message: 'injected sweep failure' },
    });
    expect(mentioning(error, 'injected sweep failure')).toHaveLength(1);

    // Its retry: the handler runs again, fails again, and waits twice as long.
    await makeDue(stub, 'sockets:sweep');
    const again = Date.now();
    await runDurableObjectAlarm(stub);
    expect(calls.n).toBe(2);
    expect(await attemptsOf(stub, 'sockets:sweep')).toBe(2);
    expect((await deadlines(stub))['sockets:sweep']! - again).toBeGreaterThanOrEqual(deadlineRetryDelay(2));

    // Once it works, the deadline is done: removed, and its failures forgotten.
    await restoreSweep(stub);
    await makeDue(stub, 'sockets:sweep');
    await runDurableObjectAlarm(stub);
    expect(calls.n).toBe(2);
    expect((await deadlines(stub))['sockets:sweep']).toBeUndefined();
    expect(await attemptsOf(stub, 'sockets:sweep')).toBe(0);
  });

  it(`backs off from 1 s to 5 min and drops a deadline after ${MAX_DEADLINE_ATTEMPTS} failures in a row, with an error`, async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const calls = { n: 0 };
    await breakSweep(stub, () => new Error('still broken'), calls);
    await makeDue(stub, 'sockets:sweep');
    const waits: number[] = [];
    for (let i = 0; i < MAX_DEADLINE_ATTEMPTS + 2; i++) {
      const before = Date.now();
      await runDurableObjectAlarm(stub);
      const at = (await deadlines(stub))['sockets:sweep'];
      if (at === undefined) break;
      waits.push(Math.round((at - before) / 1000) * 1000);
      await makeDue(stub, 'sockets:sweep');
    }
    expect(calls.n).toBe(MAX_DEADLINE_ATTEMPTS);
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000]);
    expect(deadlineRetryDelay(10)).toBe(300_000);
    expect(deadlineRetryDelay(30)).toBe(300_000);
    const logged = lines(error);
    expect(logged.filter((l) => l.event === 'deadline-failed')).toHaveLength(MAX_DEADLINE_ATTEMPTS - 1);
    const dropped = logged.filter((l) => l.event === 'deadline-dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ level: 'error', roomSid: room.sid, key: 'sockets:sweep', attempt: MAX_DEADLINE_ATTEMPTS, error: { message: 'still broken' } });
    expect(await attemptsOf(stub, 'sockets:sweep')).toBe(0);
    // The room's own deadlines were never touched.
    expect(Object.keys(await deadlines(stub)).sort()).toEqual(['room:lifetime', 'room:unused']);
  });

  it('keeps a deadline until its async handler has returned, and retries one whose promise rejects', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    // The media server's deadlines are the async ones; a stand-in takes `test:slow`.
    const slow = { entered: false, release: false, reject: false };
    await insideRoomObject(stub, (instance) => {
      const media = {
        onDeadline: async (key: string) => {
          if (key !== 'test:slow') return false;
          slow.entered = true;
          while (!slow.release) await new Promise((resolve) => setTimeout(resolve, 5));
          if (slow.reject) throw new Error('media server unreachable');
          return true;
        },
      };
      instance.sfuMedia = () => media;
    });
    await makeDue(stub, 'test:slow');
    const running = runDurableObjectAlarm(stub);
    while (!slow.entered) await new Promise((resolve) => setTimeout(resolve, 5));
    // The handler is waiting: its deadline is still stored, so an eviction now would lose nothing.
    expect(Object.keys(await deadlines(stub))).toContain('test:slow');
    slow.release = true;
    await running;
    expect(Object.keys(await deadlines(stub))).not.toContain('test:slow');

    slow.reject = true;
    await makeDue(stub, 'test:slow');
    await runDurableObjectAlarm(stub);
    expect(Object.keys(await deadlines(stub))).toContain('test:slow');
    expect(await attemptsOf(stub, 'test:slow')).toBe(1);
    await insideRoomObject(stub, (instance) => {
      delete instance.sfuMedia;
    });
  });

  it('keeps a deadline its handler set again while it ran (the sweep re-arms itself)', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    expect(alice.connected).toBeDefined();
    await makeDue(stub, 'sockets:sweep');
    const before = Date.now();
    await runDurableObjectAlarm(stub);
    expect((await deadlines(stub))['sockets:sweep']).toBeGreaterThanOrEqual(before + 5_000);
    alice.close();
  });
});
