/// <reference types="node" />
/**
 * Memory of workerd with many idle rooms: N rooms of two connected participants that then say
 * nothing (their heartbeats are answered by the runtime without waking the room), against the
 * same server's RSS before the rooms existed. The floor is the same count of echo objects (SQLite-
 * backed, one write each) holding two idle hibernatable WebSockets each: what any design with an
 * object per room and a socket per participant pays. Each runs on a fresh server of its own, so
 * its baseline is a warmed-up but otherwise empty Atrium.
 */
import type { Credentials } from './signaling';
import { join, tokens } from './signaling';
import { BenchSocket, HEARTBEAT } from './socket';
import { pool, round, sleep } from './stats';
import type { ProcSample } from './proc';
import { totalCpuSeconds, totalRssKiB, workerdOf } from './proc';

export interface IdleMemory {
  objects: number;
  socketsPerObject: number;
  workerdProcesses: number;
  baselineMiB: number;
  /** RSS with every object and socket open, right after the last was opened. */
  loadedMiB: number;
  /** RSS after the idle wait (the median of the last samples). */
  idleMiB: number;
  /** RSS during the idle wait, every 5 s: shows whether idle objects give memory back. */
  idleSeries: { s: number; MiB: number }[];
  idleWaitS: number;
  /** (idle − baseline) ÷ objects. */
  perObjectKiB: number;
  /** CPU workerd used during the idle wait, as a share of one core. */
  idleCpuPercent: number;
}

export interface FootprintPhase {
  /** Rooms of two participants each. */
  rooms: IdleMemory;
  /** Echo objects with two sockets each. */
  floor: IdleMemory;
  /** rooms.perObjectKiB ÷ floor.perObjectKiB. */
  perRoomVsFloor: number;
}

interface Target {
  processGroup: () => number | undefined;
  /** Loads the code paths once, before the baseline is read; returns sockets to drop. */
  warm: () => Promise<BenchSocket[]>;
  /** Opens object `i` with its sockets. */
  open: (i: number) => Promise<BenchSocket[]>;
}

/** N idle rooms of two participants each. */
export async function roomsTarget(wsBase: string, credentials: Credentials, processGroup: () => number | undefined, rooms: number): Promise<Target> {
  const run = Date.now().toString(36);
  const toks = await tokens(credentials, Array.from({ length: rooms * 2 + 2 }, (_, i) => `idle-${i}`));
  const pairIn = async (room: string, a: number, b: number) => [
    (await join(wsBase, room, toks[a] as string)).socket,
    (await join(wsBase, room, toks[b] as string)).socket,
  ];
  return { processGroup, warm: () => pairIn(`idle-${run}-warm`, rooms * 2, rooms * 2 + 1), open: (i) => pairIn(`idle-${run}-${i}`, 2 * i, 2 * i + 1) };
}

/** N echo objects, each written once, with two idle sockets each. */
export function echoTarget(wsBase: string, processGroup: () => number | undefined): Target {
  const run = Date.now().toString(36);
  const pairAt = async (name: string) => {
    const sockets: BenchSocket[] = [];
    for (let k = 0; k < 2; k++) {
      const s = await BenchSocket.open(`${wsBase}/bench/echo?name=${name}&write=1`);
      const back = s.next(() => true);
      s.sendRaw(`{"hello":${k}}`);
      await back;
      sockets.push(s);
    }
    return sockets;
  };
  return { processGroup, warm: () => pairAt(`idle-${run}-warm`), open: (i) => pairAt(`idle-${run}-${i}`) };
}

export async function measureIdle(target: Target, count: number, idleWaitS: number): Promise<IdleMemory> {
  const group = target.processGroup();
  if (group === undefined) throw new Error('server is not running');
  const sample = (): ProcSample[] => workerdOf(group);
  if (!sample().length) throw new Error(`no workerd process in process group ${group}`);

  for (const s of await target.warm()) s.terminate();
  await sleep(2_000);
  const baseline = await steadyRss(sample, 3);

  const open: BenchSocket[] = [];
  let perObject = 0;
  await pool(count, 8, async (i) => {
    const sockets = await target.open(i);
    perObject = sockets.length;
    open.push(...sockets);
  });
  const loaded = totalRssKiB(sample());

  // Idle: only heartbeats, which the runtime answers itself. The bench negotiated 30 s heartbeats,
  // so one round every 10 s keeps every socket well inside its deadline.
  const cpuBefore = totalCpuSeconds(sample());
  const waitStart = performance.now();
  const deadline = waitStart + idleWaitS * 1000;
  let nextBeat = waitStart + 10_000;
  let nextSample = waitStart;
  const idleSeries: { s: number; MiB: number }[] = [];
  while (performance.now() < deadline) {
    if (performance.now() >= nextSample) {
      idleSeries.push({ s: round((performance.now() - waitStart) / 1000, 1), MiB: round(totalRssKiB(sample()) / 1024, 1) });
      nextSample += 5_000;
    }
    await sleep(Math.max(0, Math.min(1_000, deadline - performance.now())));
    if (performance.now() >= nextBeat) {
      for (const s of open) s.sendRaw(HEARTBEAT);
      nextBeat += 10_000;
    }
  }
  const cpuSeconds = totalCpuSeconds(sample()) - cpuBefore;
  const waited = (performance.now() - waitStart) / 1000;
  const idle = await steadyRss(sample, 3);
  const processes = sample().length;
  for (const s of open) s.terminate();

  return {
    objects: count,
    socketsPerObject: perObject,
    workerdProcesses: processes,
    baselineMiB: round(baseline / 1024, 1),
    loadedMiB: round(loaded / 1024, 1),
    idleMiB: round(idle / 1024, 1),
    idleSeries,
    idleWaitS: round(waited, 1),
    perObjectKiB: round((idle - baseline) / count, 1),
    idleCpuPercent: round((cpuSeconds / waited) * 100, 1),
  };
}

/** Median total RSS of `n` samples one second apart. */
async function steadyRss(sample: () => ProcSample[], n: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i) await sleep(1_000);
    values.push(totalRssKiB(sample()));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] as number;
}
