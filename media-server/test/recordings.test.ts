/**
 * Recordings at the media server (src/recording/, src/storage/, the control API's recording and
 * media routes): a synthetic participant publishes real Opus and VP8 (encoded by ffmpeg), the
 * Room object's orders are PUT, and what comes out is checked with ffprobe, served by signed URL,
 * deleted; orders for tracks not there yet, tracks not ordered, bad bodies, an S3-compatible
 * bucket that checks SigV4 (support/fake-s3.ts) and one that refuses; the recorder on simulcast and
 * H.264; and a server stopped, or killed, mid-recording and started again on the same folder.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkMediaUrl, signMediaUrl } from '../../core/media-url';
import type { RecordingOrder, RecordingState, StorageTarget } from '../../core/recordings';
import { Publication } from '../src/media/publication';
import { Recorder } from '../src/recording/recorder';
import { TrackWriter } from '../src/recording/track-writer';
import { s3Location } from '../src/storage/s3-location';
import { S3Store } from '../src/storage/s3-store';
import { ok, type ControlClient } from './support/control';
import { rtpStream } from './support/encoded-media';
import { startFakeS3 } from './support/fake-s3';
import { mediaFixture } from './support/fixture';
import { ffprobe, filesUnder, playRtp, withChildMediaServer } from './support/recording-support';
import { SyntheticParticipant } from './support/synthetic-participant';
import { sleep, waitFor } from './support/wait';

const dir = mkdtempSync(join(tmpdir(), 'atrium-recordings-'));
const f = mediaFixture({ recordingsDir: dir });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCOUNT = 'ACtest';
let sids = 0;
const newSid = () => `RT${String(++sids).padStart(32, '0')}`;

function order(p: SyntheticParticipant, kind: 'audio' | 'video', storage: StorageTarget = { type: 'local', server: f.server.url }): RecordingOrder {
  const sid = newSid();
  return { sid, session: p.session, track: (kind === 'audio' ? p.audioTrackId : p.videoTrackId)!, kind, key: `${ACCOUNT}/${sid}.${kind === 'audio' ? 'mka' : 'mkv'}`, storage };
}

type Listing = { boot: string; recordings: RecordingState[] };

function put(control: ControlClient, room: string, recordings: RecordingOrder[], acknowledged: string[] = []): Promise<Listing> {
  return ok<Listing>(control, 'PUT', `/v1/rooms/${room}/recordings`, { recordings, acknowledged });
}

/** Polls the room's listing until every one of `sids` is final; returns their states. */
async function finals(control: ControlClient, room: string, sids: string[], timeoutMs = 15_000): Promise<Map<string, RecordingState>> {
  return waitFor(
    `recordings ${sids.join(', ')} final`,
    async () => {
      const { recordings } = await ok<Listing>(control, 'GET', `/v1/rooms/${room}/recordings`);
      const states = new Map(recordings.map((r) => [r.sid, r]));
      return sids.every((s) => states.get(s)?.status === 'completed' || states.get(s)?.status === 'failed') && states;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** A participant in the test's room, connected, its media not started (real media is played instead). */
async function publisher(name = 'PApub', opts: Partial<ConstructorParameters<typeof SyntheticParticipant>[0]> = {}): Promise<SyntheticParticipant> {
  const p = f.participant(name, { senderReports: false, ...opts });
  await p.join();
  await p.waitConnected();
  return p;
}

describe('recording a publication', () => {
  test('ordered audio and video are written, stored and served; the files pass ffprobe', async () => {
    const p = await publisher();
    const audio = order(p, 'audio');
    const video = order(p, 'video');
    const listed = await put(f.server.control, f.room, [audio, video]);
    expect(listed.recordings.map((r) => [r.sid, r.status, r.container])).toEqual([
      [audio.sid, 'recording', 'mka'],
      [video.sid, 'recording', 'mkv'],
    ]);
    const seconds = 4;
    const [a, v] = await Promise.all([rtpStream('audio', seconds), rtpStream('video', seconds)]);
    await Promise.all([playRtp(p, 'audio', a), playRtp(p, 'video', v)]);
    const during = await ok<Listing>(f.server.control, 'GET', `/v1/rooms/${f.room}/recordings`);
    for (const r of during.recordings) {
      expect(r.status).toBe('recording');
      expect(r.startedAt).toBeGreaterThan(Date.now() - 10_000);
      expect(r.durationMs).toBeGreaterThan(2_000);
    }
    // Stopped by leaving the set.
    await put(f.server.control, f.room, []);
    const states = await finals(f.server.control, f.room, [audio.sid, video.sid]);
    for (const o of [audio, video]) {
      const s = states.get(o.sid)!;
      expect(s, JSON.stringify(s)).toMatchObject({ status: 'completed', codec: o.kind === 'audio' ? 'OPUS' : 'VP8' });
      expect(s.error).toBeUndefined();
      expect(Math.abs(s.durationMs - seconds * 1000)).toBeLessThan(1_000);
      const path = join(dir, o.key);
      expect(s.size).toBe(statSync(path).size);
      const probe = ffprobe(path);
      expect(probe.codecs).toEqual([o.kind === 'audio' ? 'opus' : 'vp8']);
      expect(Math.abs(probe.duration - seconds)).toBeLessThan(1);
    }
    // Nothing left in the spool but the sidecars of states not yet acknowledged.
    expect(filesUnder(join(dir, '.spool'))).toEqual([`${audio.sid}.json`, `${video.sid}.json`].sort());
    expect(statSync(join(dir, '.spool', `${audio.sid}.json`)).mode & 0o777).toBe(0o600);

    // Served by a signed URL, whole and by range; refused unsigned, expired or tampered with.
    const expires = Math.floor(Date.now() / 1000) + 60;
    const url = await signMediaUrl(f.server.secret, f.server.url, video.key, expires);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/x-matroska');
    expect(Number(res.headers.get('content-length'))).toBe(states.get(video.sid)!.size);
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dir, video.key)))).toBe(true);
    const ranged = await fetch(url, { headers: { range: 'bytes=4-99' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 4-99/${states.get(video.sid)!.size}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(readFileSync(join(dir, video.key)).subarray(4, 100))).toBe(true);
    const size = states.get(video.sid)!.size;
    expect((await fetch(url, { headers: { range: `bytes=${size}-` } })).status).toBe(416);
    expect((await fetch(url, { headers: { range: 'bytes=-10' } })).headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect((await fetch(url, { headers: { range: 'bytes=nonsense' } })).status).toBe(200);
    const head = await fetch(url, { method: 'HEAD' });
    expect([head.status, Number(head.headers.get('content-length'))]).toEqual([200, size]);
    const audioUrl = await signMediaUrl(f.server.secret, f.server.url, audio.key, expires);
    expect((await fetch(audioUrl)).headers.get('content-type')).toBe('audio/x-matroska');
    expect((await fetch(`${f.server.url}/v1/media/${video.key}`)).status).toBe(403);
    expect((await fetch(await signMediaUrl(f.server.secret, f.server.url, video.key, Math.floor(Date.now() / 1000) - 1))).status).toBe(403);
    expect((await fetch(await signMediaUrl('another-secret-of-16+', f.server.url, video.key, expires))).status).toBe(403);
    expect((await fetch(url.replace(video.sid, audio.sid))).status).toBe(403);
    expect((await fetch(await signMediaUrl(f.server.secret, f.server.url, `${ACCOUNT}/RTnone.mkv`, expires))).status).toBe(404);

    // Deleted by the Room object (control-signed); then gone.
    expect(await ok(f.server.control, 'DELETE', `/v1/media/${video.key}`)).toEqual({ deleted: true });
    expect(await ok(f.server.control, 'DELETE', `/v1/media/${video.key}`)).toEqual({ deleted: false });
    expect((await fetch(url)).status).toBe(404);
    expect((await fetch(`${f.server.url}/v1/media/${audio.key}`, { method: 'DELETE' })).status).toBe(401);

    // Acknowledged: forgotten, sidecars gone; a stopped sid ordered again does not restart.
    expect((await put(f.server.control, f.room, [], [audio.sid, video.sid])).recordings).toEqual([]);
    expect((await put(f.server.control, f.room, [audio])).recordings).toEqual([]);
    await waitFor('sidecars removed', () => filesUnder(join(dir, '.spool')).length === 0);
  }, 40_000);

  test('an order for a track not published yet starts when it appears; tracks not ordered leave no file', async () => {
    const before = new Set(filesUnder(dir));
    const p = f.participant('PAlate', { senderReports: false });
    const video = order(p, 'video');
    // Ordered before the session even exists.
    expect((await put(f.server.control, f.room, [video])).recordings).toMatchObject([{ sid: video.sid, status: 'recording', startedAt: null }]);
    await p.join();
    await p.waitConnected();
    const [a, v] = await Promise.all([rtpStream('audio', 2), rtpStream('video', 2)]);
    await Promise.all([playRtp(p, 'audio', a), playRtp(p, 'video', v)]);
    // The publication going away (its session closes) stops the recording.
    await ok(f.server.control, 'DELETE', `/v1/sessions/${p.session}`);
    const s = (await finals(f.server.control, f.room, [video.sid])).get(video.sid)!;
    expect(s).toMatchObject({ status: 'completed', codec: 'VP8' });
    expect(Math.abs(ffprobe(join(dir, video.key)).duration - 2)).toBeLessThan(1);
    // Its audio was published and never ordered: no file anywhere, only the video and its sidecar.
    const added = filesUnder(dir).filter((x) => !before.has(x));
    expect(added.sort()).toEqual([video.key, `.spool/${video.sid}.json`].sort());
    await put(f.server.control, f.room, [], [video.sid]);
  }, 30_000);

  test('closing the room stops its recordings; one that never had media fails, never stuck', async () => {
    const p = f.participant('PAnever', { senderReports: false });
    const audio = order(p, 'audio');
    await put(f.server.control, f.room, [audio]);
    expect(await ok(f.server.control, 'DELETE', `/v1/rooms/${f.room}`)).toEqual({ closed: 0 });
    const s = (await finals(f.server.control, f.room, [audio.sid])).get(audio.sid)!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/no media/);
    expect(existsSync(join(dir, audio.key))).toBe(false);
    await put(f.server.control, f.room, [], [audio.sid]);
  });

  test('to an S3-compatible bucket: uploaded path-style under the prefix, SigV4-signed; a wrong secret fails it after retries, the file kept in the spool', async () => {
    const s3 = await startFakeS3('AKIDTEST', 'secret-key');
    try {
      const p = await publisher();
      const bucket = (secretAccessKey: string): StorageTarget => ({ type: 's3', url: `${s3.url}/bucket/pre/fix`, region: 'auto', accessKeyId: 'AKIDTEST', secretAccessKey });
      const good = order(p, 'audio', bucket('secret-key'));
      const bad = order(p, 'video', bucket('wrong-key'));
      await put(f.server.control, f.room, [good, bad]);
      await Promise.all([playRtp(p, 'audio', await rtpStream('audio', 2)), playRtp(p, 'video', await rtpStream('video', 2))]);
      await put(f.server.control, f.room, []);
      const states = await finals(f.server.control, f.room, [good.sid, bad.sid], 25_000);
      expect(states.get(good.sid)).toMatchObject({ status: 'completed', codec: 'OPUS' });
      const stored = s3.objects.get(`bucket/pre/fix/${good.key}`)!;
      expect(stored.length).toBe(states.get(good.sid)!.size);
      expect(existsSync(join(dir, '.spool', `${good.sid}.mka`))).toBe(false);
      expect(states.get(bad.sid)).toMatchObject({ status: 'failed', error: expect.stringMatching(/could not store/) });
      expect(ffprobe(join(dir, '.spool', `${bad.sid}.mkv`)).codecs).toEqual(['vp8']);
      await put(f.server.control, f.room, [], [good.sid, bad.sid]);
    } finally {
      await s3.close();
    }
  }, 40_000);
});

describe('the recorder', () => {
  test('with simulcast it records the highest flowing layer, switching only at a key frame of it (asked for by PLI)', async () => {
    const low = 0x1111;
    const high = 0x2222;
    const sent: Buffer[] = [];
    const p = new Publication('PAsim.1/video', 'video', 'VP8', 0x5555, { sendRtcp: (packet) => void sent.push(packet) });
    p.setLayers([low, high]);
    const path = join(dir, 'simulcast.mkv');
    const writer = await TrackWriter.open({ path, kind: 'video', codec: 'VP8' });
    const recorder = new Recorder({ writer, kind: 'video', onStarted: () => undefined });
    recorder.attach(p);
    const lowStream = await rtpStream('video', 3, { ssrc: low });
    const highStream = await rtpStream('video', 3, { ssrc: high });
    // The high layer starts 1 s in, its first key frame lost: the switch waits for the next one (1 s later).
    const firstTs = highStream[0]!.readUInt32BE(4);
    const schedule = [
      ...lowStream.map((packet, i) => ({ at: lowStream.times[i]!, packet })),
      ...highStream.flatMap((packet, i) => (packet.readUInt32BE(4) === firstTs ? [] : [{ at: 1_000 + highStream.times[i]!, packet }])),
    ].sort((a, b) => a.at - b.at);
    const start = Date.now();
    let switchedAt: number | null = null;
    for (const { at, packet } of schedule) {
      const wait = start + at - Date.now();
      if (wait > 1) await sleep(wait);
      p.onRtp(packet, Date.now());
      if (switchedAt === null && p.stats.forwardedLayer === 1) switchedAt = Date.now() - start;
    }
    recorder.detach();
    const written = await writer.finish();
    // On the low layer until the high one's second key frame (1 s + 1 s), then on the high one to its end (1 s + 3 s).
    expect(switchedAt).toBeGreaterThan(1_900);
    expect(switchedAt).toBeLessThan(2_300);
    expect(Math.abs(written.durationMs - 4_000)).toBeLessThan(300);
    const plis = sent.filter((b) => b[1] === 206 && (b[0]! & 0x1f) === 1).map((b) => b.readUInt32BE(8));
    expect(plis).toContain(high);
    const probe = ffprobe(path);
    expect(probe.codecs).toEqual(['vp8']);
    expect(Math.abs(probe.duration - 4)).toBeLessThan(1);
    // It decodes from end to end: the switch is at a key frame.
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', path, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(decode.status, decode.stderr).toBe(0);
  }, 20_000);
  test('H.264 (a room whose codec is H.264) is recorded as it comes, from its first key frame', async () => {
    const p = new Publication('PAavc.1/video', 'video', 'H264', 0x5555, { sendRtcp: () => undefined });
    const path = join(dir, 'avc.mkv');
    const writer = await TrackWriter.open({ path, kind: 'video', codec: 'H264' });
    const recorder = new Recorder({ writer, kind: 'video', onStarted: () => undefined });
    recorder.attach(p);
    const stream = await rtpStream('h264', 2);
    const start = Date.now();
    for (const [i, packet] of stream.entries()) {
      const wait = start + stream.times[i]! - Date.now();
      if (wait > 1) await sleep(wait);
      p.onRtp(packet, Date.now());
    }
    recorder.detach();
    await writer.finish();
    const probe = ffprobe(path);
    expect(probe.codecs).toEqual(['h264']);
    expect(Math.abs(probe.duration - 2)).toBeLessThan(1);
  }, 20_000);
});

describe('the S3 store', () => {
  test('a file over one part goes up as a multipart upload streamed from disk, then is removed; delete removes the object', async () => {
    const s3 = await startFakeS3('AKIDTEST', 'secret-key');
    try {
      const path = join(dir, 'big.mkv');
      const bytes = randomBytes(11 * 1024 * 1024);
      writeFileSync(path, bytes);
      const store = new S3Store({ type: 's3', url: `${s3.url}/bucket`, region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-key' });
      expect(await store.put('AC1/RT1.mkv', path)).toBe(bytes.length);
      expect(s3.objects.get('bucket/AC1/RT1.mkv')!.equals(bytes)).toBe(true);
      expect(s3.requests.filter((r) => r.includes('partNumber=')).length).toBe(3);
      expect(existsSync(path)).toBe(false);
      expect(await store.delete('AC1/RT1.mkv')).toBe(true);
      expect(s3.objects.size).toBe(0);
    } finally {
      await s3.close();
    }
  });
});

describe('the control API refuses bad recording orders', () => {
  test('a malformed body is a 400 naming the field', async () => {
    const good = { sid: 'RT1', session: 'PA1.1', track: 't1', kind: 'audio', key: 'AC1/RT1.mka', storage: { type: 'local', server: 'http://x' } };
    const cases: [unknown, RegExp][] = [
      [null, /body must be an object/],
      [{}, /recordings must be an array/],
      [{ recordings: [{ ...good, kind: 'data' }] }, /recordings\[0\]\.kind/],
      [{ recordings: [{ ...good, sid: '../x' }] }, /recordings\[0\]\.sid/],
      [{ recordings: [{ ...good, key: '../etc/passwd' }] }, /recordings\[0\]\.key/],
      [{ recordings: [{ ...good, key: 'AC1/.spool/x' }] }, /recordings\[0\]\.key/],
      [{ recordings: [{ ...good, storage: { type: 'ftp' } }] }, /recordings\[0\]\.storage\.type/],
      [{ recordings: [{ ...good, storage: { type: 's3', url: 'not a url', accessKeyId: 'a', secretAccessKey: 'b' } }] }, /recordings\[0\]\.storage\.url/],
      [{ recordings: [{ ...good, storage: { type: 's3', url: 'https://h.example/b' } }] }, /recordings\[0\]\.storage\.accessKeyId/],
      [{ recordings: [good, good] }, /recordings\[1\]\.sid repeats/],
      [{ recordings: [], acknowledged: [7] }, /acknowledged\[0\]/],
    ];
    for (const [body, message] of cases) {
      const res = await f.server.control.call('PUT', `/v1/rooms/${f.room}/recordings`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as { message: string }).message, JSON.stringify(body)).toMatch(message);
    }
    expect((await f.server.control.call('DELETE', '/v1/media/..%2Fetc%2Fpasswd')).status).toBe(400);
    expect((await f.server.control.call('GET', `/v1/rooms/${f.room}/recordings`)).body).toMatchObject({ recordings: [] });
  });
});

describe('signed media URLs and bucket URLs', () => {
  test('checkMediaUrl accepts what signMediaUrl makes, until it expires', async () => {
    const url = new URL(await signMediaUrl('s'.repeat(20), 'https://media.example/', 'AC1/RT1.mka', 1_000));
    expect(url.pathname).toBe('/v1/media/AC1/RT1.mka');
    expect(await checkMediaUrl('s'.repeat(20), url.pathname, url.searchParams, 999)).toBeNull();
    expect(await checkMediaUrl('s'.repeat(20), url.pathname, url.searchParams, 1_001)).toMatch(/expired/);
    expect(await checkMediaUrl('t'.repeat(20), url.pathname, url.searchParams, 999)).toMatch(/bad signature/);
    expect(await checkMediaUrl('s'.repeat(20), '/v1/media/AC1/RT2.mka', url.searchParams, 999)).toMatch(/bad signature/);
    expect(await checkMediaUrl('s'.repeat(20), '/v1/media/../x', url.searchParams, 999)).toMatch(/valid key/);
  });

  test('bucket URLs: virtual-hosted on AWS, path-style elsewhere', () => {
    expect(s3Location('https://my-bucket.s3.eu-west-1.amazonaws.com/recordings/2026')).toEqual({ endpoint: undefined, forcePathStyle: false, bucket: 'my-bucket', prefix: 'recordings/2026' });
    expect(s3Location('https://my.bucket.s3.amazonaws.com')).toEqual({ endpoint: undefined, forcePathStyle: false, bucket: 'my.bucket', prefix: '' });
    expect(s3Location('https://acct.r2.cloudflarestorage.com/bucket/pre/fix/')).toEqual({ endpoint: 'https://acct.r2.cloudflarestorage.com', forcePathStyle: true, bucket: 'bucket', prefix: 'pre/fix' });
    expect(s3Location('http://127.0.0.1:9000/minio')).toEqual({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, bucket: 'minio', prefix: '' });
    expect(() => s3Location('https://acct.r2.cloudflarestorage.com/')).toThrow(/name the bucket/);
  });
});

describe('a media server stopped mid-recording (SIGTERM)', () => {
  test('stores its recordings before it exits, and reports them after it starts again', async () => {
    await withChildMediaServer(async (server, childDir) => {
      const room = 'RMstop';
      const p = new SyntheticParticipant({ control: server.control, room, participant: 'PAstop', senderReports: false });
      try {
        await p.join();
        await p.waitConnected();
        const audio = order(p, 'audio', { type: 'local', server: server.url });
        await put(server.control, room, [audio]);
        await playRtp(p, 'audio', await rtpStream('audio', 2));
        await server.stop();
        expect(existsSync(join(childDir, audio.key))).toBe(true);
        await server.start();
        const { recordings } = await ok<Listing>(server.control, 'GET', `/v1/rooms/${room}/recordings`);
        expect(recordings).toMatchObject([{ sid: audio.sid, status: 'completed', codec: 'OPUS', size: statSync(join(childDir, audio.key)).size }]);
        expect(recordings[0]!.error).toBeUndefined();
        expect(Math.abs(ffprobe(join(childDir, audio.key)).duration - 2)).toBeLessThan(1);
      } finally {
        p.close();
      }
    });
  }, 40_000);
});

describe('a media server killed mid-recording', () => {
  test('finishes every spooled recording at its next start: completed from the partial file or failed with it kept, never stuck', async () => {
    await withChildMediaServer(async (server, childDir) => {
      const room = 'RMrestart';
      const p = new SyntheticParticipant({ control: server.control, room, participant: 'PAcut', senderReports: false });
      try {
        await p.join();
        await p.waitConnected();
        const storage: StorageTarget = { type: 'local', server: server.url };
        const audio = order(p, 'audio', storage);
        const video = order(p, 'video', storage);
        const pending = order(p, 'audio', storage);
        pending.track = 'not-published';
        await put(server.control, room, [audio, video, pending]);
        const [a, v] = await Promise.all([rtpStream('audio', 3), rtpStream('video', 3)]);
        await Promise.all([playRtp(p, 'audio', a), playRtp(p, 'video', v)]);
        await server.kill();
        expect(filesUnder(join(childDir, '.spool'))).toEqual(expect.arrayContaining([`${audio.sid}.mka`, `${video.sid}.mkv`, `${audio.sid}.json`]));
        // Beside them: a recording whose file is garbage (it cannot be finalized), and a sidecar that is not JSON.
        const garbage = order(p, 'audio', storage);
        writeFileSync(join(childDir, '.spool', `${garbage.sid}.json`), JSON.stringify({ room, order: garbage, createdAt: Date.now(), codec: 'OPUS', startedAt: Date.now() }), { mode: 0o600 });
        writeFileSync(join(childDir, '.spool', `${garbage.sid}.mka`), randomBytes(5000));
        writeFileSync(join(childDir, '.spool', 'RTbroken.json'), '{not json');

        await server.start();
        // Recovery ran before the server listened: the listing is final at once.
        const { recordings } = await ok<Listing>(server.control, 'GET', `/v1/rooms/${room}/recordings`);
        const states = new Map(recordings.map((r) => [r.sid, r]));
        for (const o of [audio, video]) {
          const s = states.get(o.sid)!;
          expect(['completed', 'failed'], JSON.stringify(s)).toContain(s.status);
          expect(s.error).toMatch(/restart/);
          if (s.status === 'completed') {
            const probe = ffprobe(join(childDir, o.key));
            expect(probe.codecs).toEqual([o.kind === 'audio' ? 'opus' : 'vp8']);
            expect(Math.abs(probe.duration - 3)).toBeLessThan(1);
            expect(s.size).toBe(statSync(join(childDir, o.key)).size);
          } else {
            expect(existsSync(join(childDir, '.spool', `${o.sid}.${o.kind === 'audio' ? 'mka' : 'mkv'}`))).toBe(true);
          }
        }
        expect(states.get(pending.sid)).toMatchObject({ status: 'failed', error: expect.stringMatching(/restarted before any media/) });
        expect(states.get(garbage.sid)).toMatchObject({ status: 'failed', error: expect.stringMatching(/could not be finalized/) });
        expect(statSync(join(childDir, '.spool', `${garbage.sid}.mka`)).size).toBe(5000);
        expect(server.output()).toMatch(/recording-spool-unreadable.*RTbroken\.json/);
        // Reported again after another restart until acknowledged.
        await server.kill();
        await server.start();
        const again = await ok<Listing>(server.control, 'GET', `/v1/rooms/${room}/recordings`);
        expect(again.recordings.map((r) => [r.sid, r.status])).toEqual(recordings.map((r) => [r.sid, r.status]));
        await put(server.control, room, [], [audio.sid, video.sid, pending.sid, garbage.sid]);
        expect((await ok<Listing>(server.control, 'GET', `/v1/rooms/${room}/recordings`)).recordings).toEqual([]);
      } finally {
        p.close();
      }
    });
  }, 60_000);
});
