/// <reference types="node" />
/**
 * `npm run bench`: starts Atrium locally (`wrangler dev`, one fresh server per group of phases),
 * measures REST creation, joins, relay, fan-out and idle memory against floors in the same run,
 * then the media figures: the media server's CPU per forwarded packet against SRTP's cryptography
 * (bench/media.ts), in headless Chromium the time from join to the first decoded frame and a
 * participant's upload, group room against peer-to-peer (bench/browser-media.ts), and the capacity
 * of one media server core with synthetic participants that join through the signaling
 * (bench/capacity.ts). Prints a table and writes bench/results/<timestamp>.json and
 * bench/results/latest.json.
 *
 *   --quick      small counts (about a minute and a half): checks the bench works; the figures mean little
 *   --out DIR    write the JSON files to DIR instead of bench/results
 *   --only LIST  only these groups of phases, comma-separated: rest, signaling (join, relay,
 *                fan-out), footprint, media (the media server's CPU), browser, capacity; the JSON
 *                and the table then hold only their figures
 *
 * The figures are only comparable within one run: the floors exist so that a ratio, not an
 * absolute number, says how Atrium's code compares with what the runtime costs on this machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AtriumServer } from '../test/node/support/atrium-server';
import { DEV_CREDENTIALS, startAtrium } from '../test/node/support/atrium-server';
import type { FootprintPhase } from './footprint';
import { echoTarget, measureIdle, roomsTarget } from './footprint';
import type { BrowserMediaPhase, BrowserMediaSizes } from './browser-media';
import { benchBrowserMedia } from './browser-media';
import type { CapacityPhase, CapacitySizes, CapacityWindow } from './capacity';
import { benchCapacity } from './capacity';
import type { MediaCpuPhase, MediaCpuSizes } from './media';
import { benchMediaCpu } from './media';
import type { RestResult } from './rest';
import { benchRest } from './rest';
import type { FanoutPhase, JoinPhase, RelayPhase } from './signaling';
import { benchFanout, benchJoin, benchRelay } from './signaling';
import { round } from './stats';
import type { ProxyCost } from './transport';
import { proxyCost, workerOrigin } from './transport';

// This module runs bundled at node_modules/.cache/atrium-bench/ (see run.mjs): three levels below the repository.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Sizes {
  proxyCost: number;
  rest: { count: number; concurrency: number; rounds: number; warmup: number };
  join: { rooms: number; warmup: number };
  relay: { messages: number; warmup: number };
  fanout: { participants: number; arrivals: number; warmup: number };
  footprint: { rooms: number; idleWaitS: number };
  mediaCpu: MediaCpuSizes;
  browserMedia: BrowserMediaSizes;
  capacity: CapacitySizes;
}

const FULL: Sizes = {
  proxyCost: 300,
  rest: { count: 1000, concurrency: 16, rounds: 4, warmup: 50 },
  join: { rooms: 250, warmup: 10 },
  relay: { messages: 2000, warmup: 200 },
  fanout: { participants: 50, arrivals: 25, warmup: 3 },
  footprint: { rooms: 1000, idleWaitS: 30 },
  mediaCpu: { steps: [1, 2, 4, 8, 16], settleS: 2, windowS: 8, floorPackets: 20_000, sendPackets: 4_800 },
  browserMedia: { joins: 8, warmupJoins: 1, uploadWarmupS: 2, uploadWindowS: 5 },
  capacity: { mixedParticipants: 20, videoSteps: [4, 8, 12, 16, 20, 24, 28, 32, 40, 50], settleS: 2, windowS: 6, firstFrameJoins: 5, firstFrameWarmup: 1, mediaTimeoutS: 30 },
};

const QUICK: Sizes = {
  proxyCost: 20,
  rest: { count: 60, concurrency: 16, rounds: 2, warmup: 5 },
  join: { rooms: 10, warmup: 2 },
  relay: { messages: 60, warmup: 10 },
  fanout: { participants: 6, arrivals: 3, warmup: 1 },
  footprint: { rooms: 20, idleWaitS: 2 },
  mediaCpu: { steps: [1, 2], settleS: 0.5, windowS: 1, floorPackets: 2_000, sendPackets: 480 },
  browserMedia: { joins: 1, warmupJoins: 0, uploadWarmupS: 0.5, uploadWindowS: 1.5 },
  capacity: { mixedParticipants: 6, videoSteps: [4], settleS: 0.5, windowS: 1.5, firstFrameJoins: 2, firstFrameWarmup: 0, mediaTimeoutS: 20 },
};

/** The groups of phases `--only` can pick, in the order a full run takes them. */
const GROUPS = ['rest', 'signaling', 'footprint', 'media', 'browser', 'capacity'] as const;
type Group = (typeof GROUPS)[number];

interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  version: 1;
  quick: boolean;
  startedAt: string;
  durationS: number;
  commit: string;
  machine: Record<string, string | number>;
  /** The groups `--only` picked; absent when every phase ran, and then every figure below is present. */
  only?: Group[];
  /** Where requests went: the Worker's own socket, or wrangler's dev proxy when that was not found (proxyCost: measured with rest). */
  transport?: { measuredAt: 'worker' | 'wrangler-proxy'; proxyCost: ProxyCost | null };
  rest?: RestResult;
  join?: JoinPhase;
  relay?: RelayPhase;
  fanout?: FanoutPhase;
  footprint?: FootprintPhase;
  /** The media server's CPU per forwarded packet, against SRTP's cryptography in Node. */
  mediaCpu?: MediaCpuPhase;
  /** Chromium: join → first decoded frame, and one participant's upload; group room vs peer-to-peer. */
  browserMedia?: BrowserMediaPhase;
  /** One media server core: a mixed room, the largest all-video room, join → first video packet; synthetic participants through the signaling. */
  capacity?: CapacityPhase;
  targets: Target[];
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } } });
  const quick = values.quick === true;
  const only = values.only?.split(',').map((g) => g.trim()) as Group[] | undefined;
  const unknown = only?.filter((g) => !GROUPS.includes(g));
  if (unknown?.length) throw new Error(`--only: unknown group ${unknown.join(', ')} (one of ${GROUPS.join(', ')})`);
  const runs = (g: Group) => !only || only.includes(g);
  const sizes = quick ? QUICK : FULL;
  const outDir = values.out ?? joinPath(REPO_ROOT, 'bench', 'results');
  const startedAt = new Date();
  const credentials = { accountSid: DEV_CREDENTIALS.accountSid, apiKeySid: DEV_CREDENTIALS.apiKeySid, apiKeySecret: DEV_CREDENTIALS.apiKeySecret };
  const log = (line: string) => process.stderr.write(`[bench ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s] ${line}\n`);

  // Where traffic went, from the first Atrium server started (whichever groups run); the proxy's cost is measured with rest.
  let transport: BenchReport['transport'];
  const via = (s: AtriumServer, origin: string): NonNullable<BenchReport['transport']> =>
    (transport ??= { measuredAt: origin === s.url ? 'wrangler-proxy' : 'worker', proxyCost: null });

  const rest = !runs('rest')
    ? undefined
    : await withServer(async (s, origin) => {
        log(`wrangler dev proxy vs the Worker's own socket (${sizes.proxyCost} requests and echoes each)`);
        const t = via(s, origin);
        if (t.measuredAt === 'worker') t.proxyCost = await proxyCost(s.url, origin, sizes.proxyCost);
        log(`REST creation (${sizes.rest.count} each, ${sizes.rest.concurrency} in flight)`);
        return benchRest({ baseUrl: origin, auth: { user: DEV_CREDENTIALS.accountSid, password: DEV_CREDENTIALS.authToken }, ...sizes.rest });
      });

  const signaling = !runs('signaling')
    ? undefined
    : await withServer(async (s, origin) => {
        via(s, origin);
        const ws = origin.replace(/^http/, 'ws');
        log(`join vs a new echo object's first reply (${sizes.join.rooms} new rooms, one join at a time)`);
        const joinPhase = await benchJoin(ws, credentials, sizes.join.rooms, sizes.join.warmup);
        log(`relay vs echo (${sizes.relay.messages} messages each)`);
        const relay = await benchRelay(ws, credentials, sizes.relay.messages, sizes.relay.warmup);
        log(`fan-out vs broadcast (${sizes.fanout.participants} participants, ${sizes.fanout.arrivals} arrivals)`);
        const fanout = await benchFanout(ws, credentials, sizes.fanout.participants, sizes.fanout.arrivals, sizes.fanout.warmup);
        return { joinPhase, relay, fanout };
      });

  let footprint: FootprintPhase | undefined;
  if (runs('footprint')) {
    const { rooms: count, idleWaitS } = sizes.footprint;
    log(`footprint (${count} rooms × 2 participants, ${idleWaitS} s idle)`);
    const rooms = await withServer(async (s, origin) => {
      via(s, origin);
      return measureIdle(await roomsTarget(origin.replace(/^http/, 'ws'), credentials, s.processGroup, count), count, idleWaitS);
    });
    log(`footprint floor (${count} echo objects × 2 sockets, ${idleWaitS} s idle)`);
    const floor = await withServer((s, origin) => measureIdle(echoTarget(origin.replace(/^http/, 'ws'), s.processGroup), count, idleWaitS));
    footprint = { rooms, floor, perRoomVsFloor: round(rooms.perObjectKiB / floor.perObjectKiB) };
  }

  const mediaCpu = runs('media') ? await benchMediaCpu(sizes.mediaCpu, log) : undefined;
  const browserMedia = runs('browser') ? await benchBrowserMedia(sizes.browserMedia, log) : undefined;
  const capacity = runs('capacity') ? await benchCapacity(sizes.capacity, log) : undefined;

  const report: BenchReport = {
    version: 1,
    quick,
    startedAt: startedAt.toISOString(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    commit: commit(),
    machine: machine(),
    ...(only ? { only } : {}),
    transport,
    rest,
    join: signaling?.joinPhase,
    relay: signaling?.relay,
    fanout: signaling?.fanout,
    footprint,
    mediaCpu,
    browserMedia,
    capacity,
    targets: [],
  };
  report.targets = targets(report);

  mkdirSync(outDir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileSync(joinPath(outDir, `${stamp}.json`), text);
  writeFileSync(joinPath(outDir, 'latest.json'), text);
  process.stdout.write(table(report));
  process.stdout.write(`\nwritten: ${joinPath(outDir, `${stamp}.json`)} (and latest.json)\n`);
}

/**
 * A fresh Atrium with the floor routes, stopped (and its storage removed) whatever happens.
 * `origin` is where to send traffic: the Worker's own socket (see transport.ts), else wrangler's.
 */
async function withServer<T>(body: (s: AtriumServer, origin: string) => Promise<T>): Promise<T> {
  const server = await startAtrium({ vars: { BENCH_ROUTES: 'true' } });
  try {
    return await body(server, (await workerOrigin(server)) ?? server.url);
  } finally {
    await server.stop();
  }
}

function targets(r: BenchReport): Target[] {
  const pct = (v: number) => `${round(v * 100, 1)}%`;
  const { rest, join, relay, fanout, browserMedia, mediaCpu, capacity } = r;
  const list: Target[] = [];
  if (rest) list.push({ name: 'REST create vs new-object floor (throughput)', target: '≥ 70%', measured: pct(rest.createVsNewObject), met: rest.createVsNewObject >= 0.7 });
  if (join) {
    const measured = `${join.ratioP50}× (${join.newRoom.handshake.p50} vs ${join.echoFirstReply.p50} ms)`;
    list.push({ name: "Join p50 ÷ a new echo object's first reply (open → connected, new ad-hoc room)", target: '≤ 3×', measured, met: join.ratioP50 <= 3 });
  }
  if (relay) list.push({ name: 'Relay p50 vs echo floor', target: '≤ 1.3×', measured: `${relay.ratioP50}×`, met: relay.ratioP50 <= 1.3 });
  if (fanout) {
    const measured = `${fanout.ratioP50}× (${fanout.arrival.p50} vs ${fanout.broadcast.p50} ms)`;
    list.push({ name: `Fan-out p50 ÷ broadcast floor (${fanout.participants}th arrival → all others)`, target: '≤ 1.5×', measured, met: fanout.ratioP50 <= 1.5 });
  }
  if (browserMedia) {
    const up = browserMedia.upload;
    list.push({ name: 'Upload per participant, group room of 4 ÷ of 2', target: '≤ 1.2×', measured: `${up.groupRatio}×`, met: up.groupRatio <= 1.2 });
  }
  if (mediaCpu) list.push({ name: 'Media server CPU per forwarded packet ÷ SRTP floor', target: '≤ 5×', measured: `${mediaCpu.ratioToFloor}×`, met: mediaCpu.ratioToFloor <= 5 });
  if (capacity) {
    const mixed = capacity.mixed;
    list.push({
      name: `Media server, ${mixed.participants}-party room (all audio, ${mixed.videoPublishers} video)`,
      target: '≤ 100% of one core, loss < 1%',
      measured: `${mixed.cpuPercent}% of a core, loss ${round(mixed.loss * 100, 2)}%, ${round(mixed.delivered * 100, 1)}% delivered`,
      met: mixed.carried,
    });
  }
  return list;
}

function table(r: BenchReport): string {
  const rows: string[][] = [['figure', 'p50 ms', 'p99 ms', 'rate / ratio']];
  const lat = (s: { p50: number; p99: number }) => [String(s.p50), String(s.p99)];
  const pc = r.transport?.proxyCost;
  if (pc) {
    rows.push(['wrangler proxy: noop, 1 at a time', ...lat(pc.noopProxy), `direct p50 ${pc.noopDirect.p50}`]);
    rows.push(['wrangler proxy: echo', ...lat(pc.echoProxy), `direct p50 ${pc.echoDirect.p50}`]);
  }
  const { rest, join: jn, relay, fanout: fo } = r;
  if (rest) {
    rows.push(['REST floor: noop', ...lat(rest.noop.latency), `${rest.noop.rps}/s`]);
    rows.push(['REST floor: new object + 1 write', ...lat(rest.newObject.latency), `${rest.newObject.rps}/s`]);
    rows.push(['REST POST /v1/Rooms', ...lat(rest.create.latency), `${rest.create.rps}/s`]);
    rows.push(['  create ÷ noop, ÷ new-object', '', '', `${rest.createVsNoop}, ${rest.createVsNewObject}`]);
  }
  if (jn) {
    rows.push(["join floor: new echo object's first reply", ...lat(jn.echoFirstReply), '']);
    rows.push(['join new ad-hoc room: open → connected', ...lat(jn.newRoom.handshake), `${jn.ratioP50}× the floor`]);
    rows.push(['  with the WebSocket upgrade', ...lat(jn.newRoom.total), `upgrade p50 ${jn.newRoom.upgrade.p50}`]);
    rows.push(['join existing room: open → connected', ...lat(jn.existingRoom.handshake), '']);
    rows.push(['  with the WebSocket upgrade', ...lat(jn.existingRoom.total), `upgrade p50 ${jn.existingRoom.upgrade.p50}`]);
  }
  if (relay) {
    rows.push(['echo floor (client → DO → client)', ...lat(relay.echo), '']);
    rows.push(['echo floor + 1 SQLite write', ...lat(relay.echoWrite), '']);
    rows.push(['relay ICE update A → B', ...lat(relay.relay), `${relay.ratioP50}× echo (p99 ${relay.ratioP99}×)`]);
    rows.push(['  relay ÷ echo with a write, p50', '', '', `${relay.ratioToEchoWriteP50}×`]);
  }
  if (fo) {
    rows.push([`broadcast floor: 1 frame → ${fo.participants - 1} sockets`, ...lat(fo.broadcast), `${fo.frameBytes} B frame`]);
    rows.push([`fan-out: arrival → ${fo.participants - 1} others`, ...lat(fo.arrival), `${fo.ratioP50}× the floor`]);
    rows.push(['fan-out: arrival → own connected', ...lat(fo.connected), '']);
    rows.push([`fan-out: departure → ${fo.participants - 1} others`, ...lat(fo.departure), '']);
  }
  const f = r.footprint;
  if (f) {
    rows.push([`memory, ${f.rooms.objects} idle rooms × 2 participants`, '', '', `${f.rooms.perObjectKiB} KiB/room (${f.rooms.baselineMiB} → ${f.rooms.idleMiB} MiB)`]);
    rows.push([`memory floor, ${f.floor.objects} echo objects × 2 sockets`, '', '', `${f.floor.perObjectKiB} KiB/object (ratio ${f.perRoomVsFloor})`]);
    rows.push(['  workerd CPU while idle: rooms, floor', '', '', `${f.rooms.idleCpuPercent}%, ${f.floor.idleCpuPercent}% of a core`]);
  }
  const mc = r.mediaCpu;
  if (mc) {
    for (const s of mc.steps) {
      rows.push([`media server, 1 publisher → ${s.subscribers} subscribers`, '', '', `${s.cpuPercent}% of a core (main thread ${s.mainThreadPercent}%), ${s.forwardedPps} pps forwarded`]);
    }
    rows.push(['  CPU per forwarded packet (slope)', '', '', `${mc.slopeUsPerPacket} µs (main thread ${mc.slopeMainThreadUs}, others ${mc.slopeOtherThreadsUs}; r² ${mc.r2})`]);
    rows.push([`  at ${mc.atLargest.subscribers}: all CPU ÷ forwarded pps`, '', '', `${mc.atLargest.usPerPacket} µs; RSS ${mc.atLargest.rssMiB} MiB`]);
    rows.push(['SRTP floor: decrypt + encrypt (Node crypto)', '', '', `${mc.floor.usPerPacket} µs/packet (decrypt ${mc.floor.decryptUs}, encrypt ${mc.floor.encryptUs})`]);
    rows.push(['  media server slope ÷ SRTP floor', '', '', `${mc.ratioToFloor}×`]);
    rows.push(['  of which: JS, native send (measured apart)', '', '', `${mc.js.usPerForwardedPacket} µs, ${mc.send.usPerPacket} µs per packet`]);
  }
  if (r.browserMedia) {
    const ff = r.browserMedia.firstFrame;
    rows.push(['first frame, group room: join → decoded', ...lat(ff.group.total), `max ${ff.group.total.max}; connected p50 ${ff.group.connected.p50}; ${ff.groupKeyFrameRequestsPerJoin} PLI/join`]);
    rows.push(['first frame, peer-to-peer room (floor)', ...lat(ff.mesh.total), `max ${ff.mesh.total.max}; connected p50 ${ff.mesh.connected.p50}`]);
    rows.push(['  group ÷ peer-to-peer, p50', '', '', `${ff.ratioP50}×`]);
    const up = r.browserMedia.upload;
    rows.push(['upload of one participant, group: 2 → 4', '', '', `${up.group2} → ${up.group4} B/s (${up.groupRatio}×)`]);
    rows.push(['upload, peer-to-peer (floor): 2 → 4', '', '', `${up.mesh2} → ${up.mesh4} B/s (${up.meshRatio}×)`]);
  }
  const cap = r.capacity;
  if (cap) {
    const load = (w: CapacityWindow) =>
      `${w.cpuPercent}% of a core, ${w.forwardedPps ?? 'n/a'} pps forwarded, ${round(w.delivered * 100, 1)}% delivered, loss ${round(w.loss * 100, 2)}%; generator ${w.benchCpuPercent}%${w.generatorLimited ? ' (the limit)' : ''}${w.carried ? '' : ': not carried'}`;
    rows.push([`capacity: ${cap.mixed.participants}-party room, ${cap.mixed.videoPublishers} video`, '', '', load(cap.mixed)]);
    for (const w of cap.videoSteps) rows.push([`capacity: all-video room of ${w.size}${w.participants < w.size ? ` (${w.participants} joined)` : ''}`, '', '', load(w)]);
    rows.push(['  largest all-video room carried by one core', '', '', `${cap.largestVideoRoom} participants (limited by the ${cap.videoLimitedBy}); CPU line reaches a core at ${cap.projectedVideoRoom ?? '?'}`]);
    rows.push(['  pinned (taskset); load average at start, end', '', '', `${cap.pinned ? `server CPU ${cap.pinned.server}, generator CPU ${cap.pinned.bench}` : 'no'}; ${cap.loadAverage.start[0]}, ${cap.loadAverage.end[0]}`]);
    const join = cap.firstFrame;
    rows.push([`capacity: join → first video packet (room of ${join.roomSize})`, ...lat(join.total), `connected p50 ${join.connected.p50}; answer ${join.answered.p50}; ICE+DTLS ${join.pcConnected.p50}`]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('', 'targets:');
  for (const t of r.targets) out.push(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.name}: ${t.measured} (target ${t.target})`);
  const m = r.machine;
  out.push('');
  if (r.transport) out.push(`measured at ${r.transport.measuredAt === 'worker' ? "the Worker's own socket (bypassing wrangler's dev proxy)" : "wrangler's dev proxy"}`);
  const chromium = r.browserMedia ? `, Chromium ${r.browserMedia.chromium}` : '';
  const notes = `${r.quick ? '  [--quick: counts too small to mean much]' : ''}${r.only ? `  [--only ${r.only.join(',')}]` : ''}`;
  out.push(`${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.workerd}, wrangler ${m.wrangler}${chromium}${notes}`);
  return `${out.join('\n')}\n`;
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(joinPath(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    workerd: version(joinPath(REPO_ROOT, 'node_modules', '.bin', 'workerd'), ['--version']),
    wrangler: pkg('wrangler'),
  };
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}
