/**
 * Recordings, end to end: unmodified twilio-video in Chromium publishes into a group room, the
 * media server writes each recorded track to a Matroska file in its folder, and the official
 * `twilio` helper lists, fetches, deletes and downloads them. Every file is checked with ffprobe
 * (Debian's ffmpeg): it opens, has the right codec, and lasts as long as the track was recorded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { startReceiver, type CallbackReceiver, type ReceivedCallback } from '../node/support/callback-receiver';
import { startMediaServer, type MediaServer } from '../node/support/media-server';
import { startFakeS3 } from '../../media-server/test/support/fake-s3';
import { ClientPool, launchBrowser, uniqueRoom, waitUntil, type TestClient } from './support/browser';

type Client = ReturnType<typeof twilio>;
type Recording = Awaited<ReturnType<Client['video']['v1']['recordings']['list']>>[number];

let dir: string;
let sfu: MediaServer;
let atrium: AtriumServer;
let browser: Browser;
let clients: ClientPool;
let receiver: CallbackReceiver;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atrium-recordings-'));
  sfu = await startMediaServer({ env: { SFU_RECORDINGS_DIR: join(dir, 'store') } });
  [atrium, browser, receiver] = await Promise.all([startAtrium({ vars: sfu.vars }), launchBrowser(), startReceiver()]);
  clients = new ClientPool(browser, atrium.url);
  client = twilio(DEV_CREDENTIALS.apiKeySid, DEV_CREDENTIALS.apiKeySecret, { accountSid: DEV_CREDENTIALS.accountSid });
  client.video.baseUrl = atrium.url;
});

afterAll(async () => {
  await clients?.closeAll();
  await browser?.close();
  await atrium?.stop();
  await sfu?.stop();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A REST group room whose callbacks go to the receiver under `/<name>`. */
async function createRoom(prefix: string, recordParticipantsOnConnect: boolean) {
  const uniqueName = uniqueRoom(prefix);
  const room = await client.video.v1.rooms.create({
    uniqueName,
    type: 'group',
    recordParticipantsOnConnect,
    statusCallback: receiver.url(`/${uniqueName}`),
  });
  return { room, path: `/${uniqueName}` };
}

async function joinRoom(identity: string, room: string): Promise<TestClient> {
  const c = await clients.open();
  await c.join(identity, room, { audio: true, video: true, data: false });
  return c;
}

/** The room's recordings, once `done` says they are what the test waits for. */
async function recordingsOf(roomSid: string, done: (rs: Recording[]) => boolean, what: string, timeoutMs = 20_000): Promise<Recording[]> {
  let last: Recording[] = [];
  return waitUntil(
    async () => {
      last = await client.video.v1.recordings.list({ groupingSid: [roomSid] });
      return done(last) ? last : undefined;
    },
    timeoutMs,
    () => `${what}; recordings: ${JSON.stringify(last.map((r) => ({ sid: r.sid, status: r.status, type: r.type, track: r.trackName, duration: r.duration })))}\n${sfu.output().slice(-3000)}`,
  );
}

/** Downloads a recording as a customer would: GET …/Media with credentials, then the redirect. */
async function download(r: { sid: string; links: Record<string, string> }): Promise<Buffer> {
  const auth = 'Basic ' + Buffer.from(`${DEV_CREDENTIALS.apiKeySid}:${DEV_CREDENTIALS.apiKeySecret}`).toString('base64');
  const res = await fetch(r.links.media!, { headers: { authorization: auth }, redirect: 'manual' });
  expect(res.status, `GET ${r.links.media}`).toBe(302);
  const location = res.headers.get('location')!;
  expect(location).toMatch(/Signature=/);
  const file = await fetch(location);
  expect(file.status, `GET ${location}`).toBe(200);
  return Buffer.from(await file.arrayBuffer());
}

/** What ffprobe reads in a file: its format's duration (s) and its one stream's codec. */
function probe(bytes: Buffer, name: string): { duration: number; codec: string; streams: number } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', path], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { format: { duration?: string }; streams: { codec_name: string }[] };
  return { duration: Number(parsed.format.duration), codec: parsed.streams[0]?.codec_name ?? '', streams: parsed.streams.length };
}

const recordingEvents = (rs: ReceivedCallback[]) => rs.filter((r) => r.params.StatusCallbackEvent?.startsWith('recording-'));

describe('a room recorded on connect', () => {
  it('yields one completed file per published track, with the right codec and duration, served through the helper', async () => {
    const { room, path } = await createRoom('rec', true);
    expect(room.recordParticipantsOnConnect).toBe(true);
    // Each track is recorded from its publication, which the join resolves after.
    const alice = await joinRoom('alice', room.uniqueName);
    const aliceJoined = Date.now();
    const bob = await joinRoom('bob', room.uniqueName);
    const joinedAt = { alice: aliceJoined, bob: Date.now() };
    for (const c of [alice, bob]) {
      await waitUntil(async () => ((await c.isRecording()) === true ? true : undefined), 10_000, () => `${c.identity} to see room.isRecording`);
    }
    const processing = await recordingsOf(room.sid, (rs) => rs.length === 4, 'four recordings to start');
    expect(processing.every((r) => r.status === 'processing')).toBe(true);

    await new Promise((r) => setTimeout(r, 10_000));
    await alice.disconnect();
    const aliceLeft = Date.now();
    await bob.disconnect();
    const bobLeft = Date.now();
    const done = await recordingsOf(room.sid, (rs) => rs.length === 4 && rs.every((r) => r.status === 'completed'), 'all four to complete');

    const participants = await client.video.v1.rooms(room.sid).participants.list({ status: 'disconnected' });
    const identityOf = new Map(participants.map((p) => [p.sid, p.identity]));
    const kinds = done.map((r) => `${identityOf.get((r.groupingSids as { participant_sid: string }).participant_sid)}:${r.type}`).sort();
    expect(kinds).toEqual(['alice:audio', 'alice:video', 'bob:audio', 'bob:video']);

    for (const listed of done) {
      const r = await client.video.v1.recordings(listed.sid).fetch();
      const who = identityOf.get((r.groupingSids as { participant_sid: string }).participant_sid) as 'alice' | 'bob';
      const truth = ((who === 'alice' ? aliceLeft : bobLeft) - joinedAt[who]) / 1000;
      expect(r.containerFormat).toBe(r.type === 'audio' ? 'mka' : 'mkv');
      expect(r.codec).toBe(r.type === 'audio' ? 'OPUS' : 'VP8');
      expect(r.groupingSids).toEqual({ room_sid: room.sid, participant_sid: expect.stringMatching(/^PA/) });
      expect(r.sourceSid).toMatch(/^MT/);
      expect(r.trackName).toBeTruthy();
      expect(r.size).toBeGreaterThan(1_000);
      expect(r.offset).toBeGreaterThanOrEqual(0);
      expect(Math.abs(r.duration - truth), `${r.sid} duration ${r.duration} s against ${truth} s`).toBeLessThanOrEqual(1.5);

      const bytes = await download(r);
      expect(bytes.length).toBe(r.size);
      const info = probe(bytes, `${r.sid}.${r.containerFormat}`);
      expect(info.streams).toBe(1);
      expect(info.codec).toBe(r.type === 'audio' ? 'opus' : 'vp8');
      console.log(`recording ${who} ${r.type}: connected ${truth.toFixed(2)} s, ffprobe ${info.duration.toFixed(2)} s, duration ${r.duration} s, ${r.size} B, offset ${r.offset} ms`);
      expect(Math.abs(info.duration - truth), `${r.sid} (${who} ${r.type}): ffprobe says ${info.duration} s, recorded ${truth} s`).toBeLessThanOrEqual(1);
    }

    // The room's own listing says the same.
    const inRoom = await client.video.v1.rooms(room.sid).recordings.list();
    expect(inRoom.map((r) => r.sid).sort()).toEqual(done.map((r) => r.sid).sort());

    // Deleting keeps the resource, marked deleted, and removes the file.
    const gone = done[0]!;
    const mediaBefore = await fetch(gone.links.media!, { headers: { authorization: 'Basic ' + Buffer.from(`${DEV_CREDENTIALS.apiKeySid}:${DEV_CREDENTIALS.apiKeySecret}`).toString('base64') }, redirect: 'manual' });
    const signed = mediaBefore.headers.get('location')!;
    expect(await client.video.v1.recordings(gone.sid).remove()).toBe(true);
    expect((await client.video.v1.recordings(gone.sid).fetch()).status).toBe('deleted');
    expect((await fetch(signed)).status).toBe(404);

    // Callbacks: a start and a completion per recording, signed, numbered in order.
    await receiver.waitFor((r) => r.path === path && r.params.StatusCallbackEvent === 'recording-completed', 4);
    const events = recordingEvents(receiver.received.filter((r) => r.path === path));
    for (const e of events) expect(twilio.validateRequest(DEV_CREDENTIALS.authToken, e.signature, e.url, e.params), e.params.StatusCallbackEvent).toBe(true);
    for (const r of done) {
      const mine = events.filter((e) => e.params.RecordingSid === r.sid).map((e) => e.params.StatusCallbackEvent);
      expect(mine).toEqual(['recording-started', 'recording-completed']);
    }
    const all = receiver.received.filter((r) => r.path === path);
    const numbers = all.map((r) => Number(r.params.SequenceNumber));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    const completed = events.find((e) => e.params.StatusCallbackEvent === 'recording-completed')!;
    expect(completed.params).toMatchObject({ RoomSid: room.sid, Container: expect.stringMatching(/^mk[av]$/), Codec: expect.stringMatching(/^(OPUS|VP8)$/) });
    expect(Number(completed.params.Duration)).toBeGreaterThan(5);
    expect(Number(completed.params.Size)).toBeGreaterThan(1_000);
    expect(completed.params.MediaUri).toMatch(/\/v1\/Recordings\/RT[0-9a-f]{32}\/Media$/);
  });
});

describe('recording rules changed mid-call', () => {
  it('stop one track and start another within a second, each start a new recording', async () => {
    const { room } = await createRoom('rules', false);
    const alice = await joinRoom('alice', room.uniqueName);
    expect(await alice.isRecording()).toBe(false);
    await client.video.v1.rooms(room.sid).recordingRules.update({ rules: [{ type: 'include', kind: 'audio' }] });
    const [audio] = await recordingsOf(room.sid, (rs) => rs.length === 1, 'the audio recording to start', 5_000);
    expect(audio!.type).toBe('audio');
    await waitUntil(async () => ((await alice.isRecording()) === true ? true : undefined), 5_000, () => 'room.isRecording after the rule');
    await new Promise((r) => setTimeout(r, 3_000));

    const changedAt = Date.now();
    const rules = await client.video.v1.rooms(room.sid).recordingRules.update({ rules: [{ type: 'include', kind: 'video' }] });
    expect(rules.rules).toEqual([{ type: 'include', all: null, publisher: null, track: null, kind: 'video' }]);
    const after = await recordingsOf(
      room.sid,
      (rs) => rs.some((r) => r.type === 'video') && rs.find((r) => r.sid === audio!.sid)?.status !== 'processing',
      'the video recording to start and the audio one to stop',
      5_000,
    );
    const latency = Date.now() - changedAt;
    console.log(`rule change → video recording listed and audio recording completed: ${latency} ms`);
    expect(latency, 'rule change to both recordings switched').toBeLessThan(2_000);
    expect(after.find((r) => r.sid === audio!.sid)!.status).toBe('completed');
    await new Promise((r) => setTimeout(r, 2_000));
    await alice.disconnect();
    const done = await recordingsOf(room.sid, (rs) => rs.length === 2 && rs.every((r) => r.status === 'completed'), 'both to complete');
    for (const r of done) {
      const info = probe(await download(r), `${r.sid}.${r.containerFormat}`);
      expect(info.codec).toBe(r.type === 'audio' ? 'opus' : 'vp8');
      expect(Math.abs(info.duration - r.duration)).toBeLessThanOrEqual(1);
    }

    // Back to nothing: the client follows.
    await client.video.v1.rooms(room.sid).recordingRules.update({ rules: [] });
  });
});

describe('a room whose VideoCodecs negotiated H.264', () => {
  it('records video as H.264 in Matroska, as sent', async () => {
    const uniqueName = uniqueRoom('h264');
    const room = await client.video.v1.rooms.create({ uniqueName, type: 'group', recordParticipantsOnConnect: true, videoCodecs: ['H264'] });
    const alice = await joinRoom('alice', uniqueName);
    const joined = Date.now();
    await recordingsOf(room.sid, (rs) => rs.length === 2, 'two recordings to start');
    await new Promise((r) => setTimeout(r, 4_000));
    await alice.disconnect();
    const truth = (Date.now() - joined) / 1000;
    const done = await recordingsOf(room.sid, (rs) => rs.length === 2 && rs.every((r) => r.status === 'completed'), 'both to complete');
    const video = done.find((r) => r.type === 'video')!;
    expect(video.codec).toBe('H264');
    expect(video.containerFormat).toBe('mkv');
    const info = probe(await download(video), `${video.sid}.mkv`);
    expect(info.codec).toBe('h264');
    expect(Math.abs(info.duration - truth), `ffprobe says ${info.duration} s, recorded ${truth} s`).toBeLessThanOrEqual(1);
  });
});

describe('a media server restart mid-recording', () => {
  it('leaves every recording completed or failed with its file, none processing', async () => {
    const { room } = await createRoom('restart', true);
    const alice = await joinRoom('alice', room.uniqueName);
    const before = await recordingsOf(room.sid, (rs) => rs.length === 2, 'two recordings to start');
    await new Promise((r) => setTimeout(r, 4_000));
    await sfu.restart();
    // The cut recordings are finished by the restarted server; alice is moved to a new session and
    // recorded again, in new recordings.
    const settled = await recordingsOf(
      room.sid,
      (rs) => before.every((b) => ['completed', 'failed'].includes(rs.find((r) => r.sid === b.sid)?.status ?? '')) && rs.length >= 4,
      'the cut recordings to settle and new ones to start',
      30_000,
    );
    for (const b of before) {
      const r = settled.find((x) => x.sid === b.sid)!;
      console.log(`cut by the restart: ${r.type} ${r.status}, ${r.duration} s, ${r.size} B`);
      const bytes = await download(r);
      expect(bytes.length).toBeGreaterThan(1_000);
      if (r.status === 'completed') expect(probe(bytes, `${r.sid}.${r.containerFormat}`).duration).toBeGreaterThan(2);
    }
    await alice.disconnect();
    const final = await recordingsOf(room.sid, (rs) => rs.every((r) => r.status !== 'processing'), 'every recording to settle after leaving');
    expect(final.filter((r) => r.status === 'processing')).toEqual([]);
  });
});

describe('recordings stored in the account’s bucket', () => {
  it('are uploaded there, served by a presigned URL, and deleted there', async () => {
    // An S3-compatible server that checks every SigV4 signature: the media server's uploads and the
    // Worker's presigned GET alike.
    const s3 = await startFakeS3('AKIDRECORDINGS', 'recordings-secret-key');
    const bucketUrl = `${s3.url}/recordings/atrium-test`;
    const object = (key: string) => s3.objects.get(`recordings/atrium-test/${key}`) ?? null;
    try {
      // The key pair is an Atrium parameter the helper does not know: it goes over plain HTTP once,
      // then the helper's own calls keep it.
      const auth = 'Basic ' + Buffer.from(`${DEV_CREDENTIALS.apiKeySid}:${DEV_CREDENTIALS.apiKeySecret}`).toString('base64');
      const form = new URLSearchParams({ FriendlyName: 'bucket', AwsAccessKeyId: 'AKIDRECORDINGS', AwsSecretAccessKey: 'recordings-secret-key' });
      const set = await fetch(`${atrium.url}/v1/RecordingSettings/Default`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      expect(set.status, await set.clone().text()).toBe(200);
      const settings = await client.video.v1.recordingSettings().create({ friendlyName: 'bucket', awsS3Url: bucketUrl, awsStorageEnabled: true });
      expect(settings.awsStorageEnabled).toBe(true);
      expect(settings.awsS3Url).toBe(bucketUrl);
      expect(JSON.stringify(settings.toJSON())).not.toContain('recordings-secret-key');

      const { room } = await createRoom('bucket', true);
      const alice = await joinRoom('alice', room.uniqueName);
      await recordingsOf(room.sid, (rs) => rs.length === 2, 'two recordings to start');
      await new Promise((r) => setTimeout(r, 4_000));
      await alice.disconnect();
      const done = await recordingsOf(room.sid, (rs) => rs.length === 2 && rs.every((r) => r.status === 'completed'), 'both to complete');
      for (const r of done) {
        const key = `${DEV_CREDENTIALS.accountSid}/${r.sid}.${r.containerFormat}`;
        expect(r.mediaExternalLocation).toBe(`${bucketUrl}/${key}`);
        const stored = object(key);
        expect(stored?.length, `${key} in the bucket`).toBe(r.size);
        const res = await fetch(r.links.media!, { headers: { authorization: auth }, redirect: 'manual' });
        expect(res.status).toBe(302);
        const location = new URL(res.headers.get('location')!);
        expect(location.origin + location.pathname).toBe(r.mediaExternalLocation);
        expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
        const tampered = new URL(location);
        tampered.searchParams.set('X-Amz-Expires', '3600');
        expect((await fetch(tampered)).status, 'a presigned URL whose expiry was changed').toBe(403);
        const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
        expect(bytes.equals(stored!)).toBe(true);
        expect(probe(bytes, `${r.sid}.s3.${r.containerFormat}`).codec).toBe(r.type === 'audio' ? 'opus' : 'vp8');
        // Nothing of it is left in the media server's own folder.
        expect(sfuFolderHas(key)).toBe(false);
      }
      expect(await client.video.v1.recordings(done[0]!.sid).remove()).toBe(true);
      expect(object(`${DEV_CREDENTIALS.accountSid}/${done[0]!.sid}.${done[0]!.containerFormat}`)).toBeNull();
    } finally {
      await client.video.v1.recordingSettings().create({ friendlyName: 'local', awsStorageEnabled: false });
      await s3.close();
    }
  });
});

function sfuFolderHas(key: string): boolean {
  return existsSync(join(dir, 'store', key));
}
