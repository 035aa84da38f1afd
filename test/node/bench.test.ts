/// <reference types="node" />
/**
 * `npm run bench -- --quick` end to end: the bench starts its own servers (a media server and
 * headless Chromium too), measures every figure and writes its JSON. Mostly the shape is checked
 * (every figure present, finite and positive where it must be): timings on a shared CI machine say
 * nothing, so there are no timing thresholds here. What is checked beyond the shape is that media
 * flows: in the capacity phase's rooms, every synthetic participant (joined through the signaling)
 * received every other's tracks. Needs Debian's Chromium (`npm run test:node` installs it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'atrium-bench-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function runQuickBench(): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bench/run.mjs', '--quick', '--out', outDir], { cwd: REPO_ROOT, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`bench failed: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

const summary = (s: unknown, count?: number) => {
  expect(s).toMatchObject({ count: count ?? expect.any(Number), p50: expect.any(Number), p99: expect.any(Number) });
  const { p50, p99 } = s as { p50: number; p99: number };
  expect(p50).toBeGreaterThan(0);
  expect(p99).toBeGreaterThanOrEqual(p50);
};

describe('npm run bench -- --quick', () => {
  it('measures every figure and writes them as JSON', async () => {
    const { stdout } = await runQuickBench();
    expect(stdout).toContain('REST POST /v1/Rooms');
    expect(stdout).toContain('targets:');

    const files = readdirSync(outDir);
    expect(files).toContain('latest.json');
    expect(files.filter((f) => /^\d{4}-\d\d-\d\dT.*\.json$/.test(f))).toHaveLength(1);
    const r = JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8'));

    expect(r.quick).toBe(true);
    expect(r.machine).toMatchObject({ cpu: expect.any(String), cores: expect.any(Number), node: process.version, workerd: expect.any(String) });

    for (const target of [r.rest.noop, r.rest.newObject, r.rest.create]) {
      expect(target.rps).toBeGreaterThan(0);
      summary(target.latency, r.rest.count);
    }
    expect(r.rest.createVsNoop).toBeGreaterThan(0);
    expect(r.rest.createVsNewObject).toBeGreaterThan(0);

    for (const kind of [r.join.newRoom, r.join.existingRoom]) {
      summary(kind.handshake, r.join.rooms);
      summary(kind.upgrade, r.join.rooms);
      summary(kind.total, r.join.rooms);
    }
    // The join is judged against a fresh echo object's first reply, measured in the same run.
    summary(r.join.echoFirstReply, r.join.rooms);
    expect(r.join.ratioP50).toBeGreaterThan(0);

    summary(r.relay.relay, r.relay.messages);
    summary(r.relay.echo, r.relay.messages);
    summary(r.relay.echoWrite, r.relay.messages);
    expect(r.relay.ratioToEchoWriteP50).toBeGreaterThan(0);
    expect(r.relay.ratioP50).toBeGreaterThan(0);
    expect(r.relay.ratioP99).toBeGreaterThan(0);

    summary(r.fanout.arrival, r.fanout.arrivals);
    summary(r.fanout.connected, r.fanout.arrivals);
    summary(r.fanout.departure, r.fanout.arrivals);
    // The fan-out is judged against one object sending a frame as long as the update to the others.
    summary(r.fanout.broadcast, r.fanout.arrivals);
    expect(r.fanout.frameBytes).toBeGreaterThan(0);
    expect(r.fanout.ratioP50).toBeGreaterThan(0);
    expect(stdout).toContain('Fan-out p50 ÷ broadcast floor');
    expect(stdout).toContain("Join p50 ÷ a new echo object's first reply");

    for (const idle of [r.footprint.rooms, r.footprint.floor]) {
      expect(idle.workerdProcesses).toBeGreaterThan(0);
      expect(idle.socketsPerObject).toBe(2);
      expect(idle.baselineMiB).toBeGreaterThan(0);
      expect(idle.idleMiB).toBeGreaterThan(0);
      // A few objects may fit in memory the runtime already had: only finite, not positive.
      expect(Number.isFinite(idle.perObjectKiB)).toBe(true);
      expect(idle.idleCpuPercent).toBeGreaterThanOrEqual(0);
    }
    expect(Number.isFinite(r.footprint.perRoomVsFloor)).toBe(true);

    if (r.transport.measuredAt === 'worker') {
      summary(r.transport.proxyCost.noopProxy);
      summary(r.transport.proxyCost.noopDirect);
    }
    const mc = r.mediaCpu;
    expect(mc.steps[0].subscribers).toBe(0);
    expect(mc.steps.length).toBeGreaterThanOrEqual(2);
    for (const step of mc.steps) {
      expect(step.seconds).toBeGreaterThan(0);
      expect(step.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(step.mainThreadPercent).toBeGreaterThanOrEqual(0);
      expect(step.ingressPps).toBeGreaterThan(0);
      expect(step.rssMiB).toBeGreaterThan(0);
      if (step.subscribers > 0) {
        expect(step.forwardedPps).toBeGreaterThan(0);
        expect(step.receivedPps).toBeGreaterThan(0);
      }
    }
    expect(mc.steps.reduce((sum: number, step: { cpuPercent: number }) => sum + step.cpuPercent, 0)).toBeGreaterThan(0);
    // Slopes and differences of CPU times may come out at or below zero with --quick's short windows: only finite.
    for (const v of [mc.slopeUsPerPacket, mc.slopeMainThreadUs, mc.slopeOtherThreadsUs, mc.interceptPercent, mc.r2, mc.ratioToFloor, mc.js.usPerForwardedPacket, mc.send.usPerPacket]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(mc.atLargest).toMatchObject({ subscribers: mc.steps[mc.steps.length - 1].subscribers, usPerPacket: expect.any(Number), rssMiB: expect.any(Number) });
    expect(mc.atLargest.threads.length).toBeGreaterThan(0);
    expect(mc.floor.decryptUs).toBeGreaterThan(0);
    expect(mc.floor.encryptUs).toBeGreaterThan(0);
    expect(mc.floor.usPerPacket).toBeGreaterThan(0);
    expect(mc.js.usPerIncomingPacket).toBeGreaterThan(0);
    expect(mc.send.connections).toBe(mc.atLargest.subscribers);

    const bm = r.browserMedia;
    expect(bm.chromium).toEqual(expect.any(String));
    for (const kind of [bm.firstFrame.group, bm.firstFrame.mesh]) {
      for (const figure of [kind.total, kind.connected, kind.pcConnected, kind.firstPacket]) summary(figure, bm.firstFrame.joins);
    }
    expect(bm.firstFrame.ratioP50).toBeGreaterThan(0);
    expect(bm.firstFrame.groupKeyFrameRequestsPerJoin).toBeGreaterThanOrEqual(0);
    for (const rate of [bm.upload.group2, bm.upload.group4, bm.upload.mesh2, bm.upload.mesh4]) expect(rate).toBeGreaterThan(0);
    expect(bm.upload.groupRatio).toBeGreaterThan(0);
    expect(bm.upload.meshRatio).toBeGreaterThan(0);
    expect(stdout).toContain('first frame, group room');

    const cap = r.capacity;
    // A join that failed says why in the failure: the bench's output directory is gone after the test.
    expect(cap.mixed, `joins failed: ${JSON.stringify(cap.mixed.joinFailures)}`).toMatchObject({ participants: 6, videoPublishers: 2 });
    expect(cap.videoSteps.length).toBeGreaterThanOrEqual(1);
    expect(cap.videoSteps[0], `joins failed: ${JSON.stringify(cap.videoSteps[0]?.joinFailures)}`).toMatchObject({ participants: 4, videoPublishers: 4 });
    for (const w of [cap.mixed, ...cap.videoSteps]) {
      // Every subscriber received media from every publisher, and none of those lines fell silent in the window.
      expect(w.missing).toEqual([]);
      expect(w.missingCount).toBe(0);
      expect(w.silentLines).toBe(0);
      // Each publisher's audio (50 pps) to every other participant, and the video (35 pps) of those that send it: at least half of that arrived.
      const nominal = w.participants * (w.participants - 1) * 50 + w.videoPublishers * (w.participants - 1) * 35;
      expect(w.receivedPps).toBeGreaterThan(nominal / 2);
      expect(w.forwardedPps).toBeGreaterThan(nominal / 2);
      expect(w.cpuPercent).toBeGreaterThan(0);
      expect(w.delivered).toBeGreaterThan(0.5);
      expect(w.loss).toBeGreaterThanOrEqual(0);
      expect(w.loss).toBeLessThanOrEqual(1);
      expect(w.threads.length).toBeGreaterThan(0);
    }
    expect(cap.firstFrame.roomSize).toBe(6);
    for (const figure of [cap.firstFrame.total, cap.firstFrame.connected, cap.firstFrame.answered, cap.firstFrame.pcConnected, cap.firstFrame.firstAudio]) summary(figure, 2);
    expect(stdout).toContain('capacity: join → first video packet');

    expect(r.targets.map((t: { name: string }) => t.name)).toHaveLength(7);
    expect(r.targets.map((t: { name: string }) => t.name)).toContain('Upload per participant, group room of 4 ÷ of 2');
  }, 600_000);
});
