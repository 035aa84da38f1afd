import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RecordingRecord } from '../core/recordings';
import { DEFAULT_RECORDING_SETTINGS } from '../core/recording-settings';
import { RETENTION_PREFIX } from '../durable-objects/room/retention';
import { GIVE_UP_AFTER_END_MS, RECORDINGS_POLL } from '../durable-objects/room/recordings/recordings';
import { ACCOUNT_SID, api, createRoom } from './support/rest';
import { FAKE_SERVER, FakeRecordingMedia, useFakeMedia } from './support/fake-recording-media';
import { fireDeadline, insideRoomObject, roomObject } from './support/room-object';
import { SignalingClient, audioTrack, dataTrack, videoTrack } from './support/signaling-client';

/** Nothing listens on the discard port of loopback: callbacks stay queued, in order. */
const REFUSING_URL = 'http://127.0.0.1:9/status';

const catalog = () => env.CATALOG.get(env.CATALOG.idFromName(ACCOUNT_SID));

afterEach(() => {
  vi.restoreAllMocks();
});

/** Waits until `check` stops throwing (recording work runs right after each step, not inside it). */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The Room object's recordings of `roomSid`, oldest first. */
const recordingsOf = (name: string, roomSid: string): Promise<RecordingRecord[]> =>
  insideRoomObject(roomObject(name), (instance) => instance.recordings.store.ofRoom(roomSid).map((r: { record: RecordingRecord }) => r.record));

/** The status callbacks queued for the room, in SequenceNumber order, as `event[:track name]`. */
const callbacksOf = (name: string, roomSid: string): Promise<Record<string, string>[]> =>
  insideRoomObject(roomObject(name), (_i, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'callback_outbox'").toArray();
    if (!tables.length) return [];
    return state.storage.sql
      .exec<{ params: string }>('SELECT params FROM callback_outbox WHERE room_sid = ? ORDER BY seq', roomSid)
      .toArray()
      .map((r) => JSON.parse(r.params) as Record<string, string>);
  });

/** A group room on the fake media server; the quiet logs of refused callbacks are muted. */
async function recordedRoom(form: Record<string, string> = {}) {
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const room = (await createRoom({ Type: 'group', ...form })).body;
  const media = new FakeRecordingMedia();
  await useFakeMedia(room.unique_name, media);
  return { room, name: room.unique_name as string, media };
}

/** Pushes the room's recording changes to the catalog now (as every job ends by doing). */
const publishRecordings = (name: string) => insideRoomObject(roomObject(name), (instance) => instance.recordings.publish());

/** Runs the poll deadline's handler now (the alarm also runs it every second while anything is unsettled). */
const poll = (name: string) => insideRoomObject(roomObject(name), (instance) => instance.recordings.onDeadline(RECORDINGS_POLL));

describe('what is recorded', () => {
  it('records every audio and video track with RecordParticipantsOnConnect, tells clients, and completes when they leave', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true', StatusCallback: REFUSING_URL });
    media.autoStart = false;
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic'), videoTrack('a-cam', 'cam'), dataTrack('a-chat', 'chat')] });
    expect(alice.connected.recording).toEqual({ revision: 1, is_recording: false });

    // Ordered within the step's aftermath, and the client told the room records.
    expect(await alice.nextMsg((m) => m.type === 'update' && m.recording)).toMatchObject({ recording: { revision: 2, is_recording: true } });
    await eventually(() => expect(media.lastOrders().sort()).toEqual([`audio:a-mic@${alice.connected.participant.sid}.1`, `video:a-cam@${alice.connected.participant.sid}.1`]));
    const [mic, cam] = await recordingsOf(name, room.sid);
    expect(mic).toMatchObject({
      sid: expect.stringMatching(/^RT[0-9a-f]{32}$/),
      accountSid: ACCOUNT_SID,
      roomSid: room.sid,
      participantSid: alice.connected.participant.sid,
      trackName: 'mic',
      type: 'audio',
      codec: 'OPUS',
      container: 'mka',
      status: 'processing',
      duration: null,
      size: null,
      offset: null,
      storage: { type: 'local', server: FAKE_SERVER },
      statusCallback: REFUSING_URL,
    });
    expect(mic!.key).toBe(`${ACCOUNT_SID}/${mic!.sid}.mka`);
    expect(cam).toMatchObject({ type: 'video', codec: 'VP8', container: 'mkv', trackName: 'cam', key: `${ACCOUNT_SID}/${cam!.sid}.mkv` });

    // A late joiner is told in its connected.
    const bob = await SignalingClient.join(name, 'bob', { tracks: [] });
    expect(bob.connected.recording).toEqual({ revision: 2, is_recording: true });

    // Media flows: offsets count from the room's first recording's start (here the camera's).
    media.started(mic!.sid, 1_000_250);
    media.started(cam!.sid, 1_000_000);
    await poll(name);
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => r.offset)).toEqual([250, 0]));

    alice.msg({ type: 'disconnect', version: 2 });
    await alice.waitClosed();
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => r.status)).toEqual(['completed', 'completed']));
    const done = await recordingsOf(name, room.sid);
    expect(done[0]).toMatchObject({ duration: 2, size: 4_321, offset: 250, codec: 'OPUS' });
    expect(await bob.nextMsg((m) => m.type === 'update' && m.recording?.is_recording === false)).toMatchObject({ recording: { revision: 3 } });

    // The final states are acknowledged on the next exchange, which then stops.
    await poll(name);
    await eventually(() => expect(media.calls.at(-1)?.acknowledged.sort()).toEqual([mic!.sid, cam!.sid].sort()));
    expect(media.states.size).toBe(0);

    // The catalog has every change; the callbacks came in order.
    await eventually(async () => expect((await catalog().getRecording(mic!.sid))?.status).toBe('completed'));
    const events = (await callbacksOf(name, room.sid)).map((e) => e.StatusCallbackEvent + (e.TrackName ? `:${e.TrackName}` : ''));
    expect(events).toEqual([
      'room-created',
      'participant-connected',
      'track-added:mic',
      'track-added:cam',
      'track-added:chat',
      // A recording is a resource, and started, once its media flows (after bob joined, here).
      'participant-connected',
      'recording-started:mic',
      'recording-started:cam',
      'track-removed:mic',
      'track-removed:cam',
      'track-removed:chat',
      'participant-disconnected',
      'recording-completed:mic',
      'recording-completed:cam',
    ]);
    const completed = (await callbacksOf(name, room.sid)).find((e) => e.StatusCallbackEvent === 'recording-completed')!;
    expect(completed).toMatchObject({
      RecordingSid: mic!.sid,
      RecordingUri: `/v1/Recordings/${mic!.sid}`,
      MediaUri: `/v1/Recordings/${mic!.sid}/Media`,
      SourceSid: mic!.sourceSid,
      ParticipantSid: mic!.participantSid,
      ParticipantIdentity: 'alice',
      Type: 'audio',
      Container: 'mka',
      Codec: 'OPUS',
      GroupingSids: JSON.stringify({ room_sid: room.sid, participant_sid: mic!.participantSid }),
      Duration: '2',
      Size: '4321',
      Offset: '250',
      RoomSid: room.sid,
    });
    expect(completed.MediaExternalLocation).toBeUndefined();
    bob.close();
  });

  it('leaves no resource and no event for a recording whose publisher left before sending media', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true', StatusCallback: REFUSING_URL });
    media.autoStart = false;
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic')] });
    await eventually(() => expect(media.lastOrders()).toHaveLength(1));
    const [mic] = await recordingsOf(name, room.sid);
    alice.msg({ type: 'disconnect', version: 2 });
    await alice.waitClosed();
    // The server reports it failed with no media; it is acknowledged, never published or announced.
    await eventually(() => expect(media.calls.at(-1)?.acknowledged).toEqual([mic!.sid]));
    await publishRecordings(name);
    expect(await catalog().getRecording(mic!.sid)).toBeNull();
    expect((await callbacksOf(name, room.sid)).map((e) => e.StatusCallbackEvent ?? '').filter((e) => e.startsWith('recording-'))).toEqual([]);
  });

  it("stores in the account's bucket when its recording settings enable one, chosen when each recording starts", async () => {
    const bucket = {
      ...DEFAULT_RECORDING_SETTINGS,
      awsStorageEnabled: true,
      awsS3Url: 'https://recordings.s3.us-east-1.amazonaws.com/atrium',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
      region: 'us-east-1',
    };
    await catalog().updateRecordingSettings(bucket);
    try {
      const { room, name } = await recordedRoom({ RecordParticipantsOnConnect: 'true', StatusCallback: REFUSING_URL });
      const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic')] });
      const [mic] = await eventually(async () => {
        const found = await recordingsOf(name, room.sid);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(mic!.storage).toEqual({ type: 's3', url: bucket.awsS3Url, region: 'us-east-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' });
      const started = (await callbacksOf(name, room.sid)).find((e) => e.StatusCallbackEvent === 'recording-started')!;
      expect(started.MediaExternalLocation).toBe(`${bucket.awsS3Url}/${ACCOUNT_SID}/${mic!.sid}.mka`);
      expect(JSON.stringify(started)).not.toContain('wJalrXUtnFEMI');
      alice.close();
    } finally {
      await catalog().updateRecordingSettings(DEFAULT_RECORDING_SETTINGS);
    }
  });

  it('records nothing without RecordParticipantsOnConnect or rules, and nothing in peer-to-peer rooms', async () => {
    const { name, media } = await recordedRoom();
    const a = await SignalingClient.join(name, 'alice', { tracks: [audioTrack()] });
    expect(a.connected.recording).toEqual({ revision: 1, is_recording: false });

    const p2p = await recordedRoom({ Type: 'peer-to-peer' });
    const b = await SignalingClient.join(p2p.name, 'bob', { tracks: [audioTrack()] });
    expect(b.connected.recording).toEqual({ revision: 1, is_recording: false });
    const refused = await roomObject(p2p.name).setRecordingRules(p2p.room.sid, [{ type: 'include', all: true }]);
    expect(refused).toMatchObject({ ok: false, error: { code: 53121, status: 400 } });

    await new Promise((r) => setTimeout(r, 100));
    expect(media.calls).toEqual([]);
    expect(p2p.media.calls).toEqual([]);
    // Nothing stored for a room that never recorded.
    const tables = await insideRoomObject(roomObject(name), (_i, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'recording%'").toArray().map((r) => r.name),
    );
    expect(tables).toEqual([]);
    a.close();
    b.close();
  });
});

describe('RecordParticipantsOnConnect in the account room settings', () => {
  it('applies to group rooms created without it, over REST and ad hoc, never to peer-to-peer rooms', async () => {
    expect((await api('POST', '/v1/Settings/Rooms', { RecordParticipantsOnConnect: 'true' })).body.record_participants_on_connect).toBe(true);
    try {
      expect((await createRoom({ Type: 'group' })).body.record_participants_on_connect).toBe(true);
      expect((await createRoom({ Type: 'group', RecordParticipantsOnConnect: 'false' })).body.record_participants_on_connect).toBe(false);
      const p2p = await createRoom({ Type: 'peer-to-peer' });
      expect(p2p.status).toBe(201);
      expect(p2p.body.record_participants_on_connect).toBe(false);

      const name = `adhoc-${crypto.randomUUID()}`;
      const alice = await SignalingClient.join(name, 'alice', { tracks: [] });
      const adHoc = await insideRoomObject(roomObject(name), (instance) => instance.store.current());
      expect(adHoc).toMatchObject({ adHoc: true, type: 'group', recordParticipantsOnConnect: true });
      alice.close();
    } finally {
      await api('POST', '/v1/Settings/Rooms', { RecordParticipantsOnConnect: 'false' });
    }
  });
});

describe('recording rules', () => {
  it('are read and replaced over REST and applied live: a track that matches again gets a new recording', async () => {
    const { room, name, media } = await recordedRoom();
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic'), videoTrack('a-cam', 'cam')] });
    const initial = await api('GET', `/v1/Rooms/${room.sid}/RecordingRules`);
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({ room_sid: room.sid, rules: [], date_created: null, date_updated: null });

    const audioOnly = await api('POST', `/v1/Rooms/${room.sid}/RecordingRules`, { Rules: JSON.stringify([{ type: 'include', kind: 'audio' }]) });
    expect(audioOnly.status).toBe(200);
    expect(audioOnly.body.rules).toEqual([{ type: 'include', all: null, publisher: null, track: null, kind: 'audio' }]);
    // The answer waits for the media server's orders.
    const pa = alice.connected.participant.sid;
    expect(media.lastOrders()).toEqual([`audio:a-mic@${pa}.1`]);
    const [firstMic] = await recordingsOf(name, room.sid);

    const videoOnly = await roomObject(name).setRecordingRules(room.sid, [{ type: 'include', all: true }, { type: 'exclude', kind: 'audio' }]);
    expect(videoOnly).toMatchObject({ ok: true, value: { roomSid: room.sid, rules: [{ type: 'include', all: true }, { type: 'exclude', kind: 'audio' }] } });
    expect(media.lastOrders()).toEqual([`video:a-cam@${pa}.1`]);
    expect((await recordingsOf(name, room.sid)).map((r) => `${r.type}:${r.status}`)).toEqual(['audio:completed', 'video:processing']);

    await roomObject(name).setRecordingRules(room.sid, [{ type: 'include', publisher: 'alice', kind: 'audio' }]);
    const all = await recordingsOf(name, room.sid);
    expect(all.map((r) => `${r.type}:${r.status}`)).toEqual(['audio:completed', 'video:completed', 'audio:processing']);
    expect(all[2]!.sid).not.toBe(firstMic!.sid);

    const read = await roomObject(name).recordingRules(room.sid);
    expect(read).toMatchObject({ ok: true, value: { rules: [{ type: 'include', publisher: 'alice', kind: 'audio' }], dateCreated: expect.any(Number) } });

    // Refusals: invalid rules, and a room no longer in progress.
    expect(await roomObject(name).setRecordingRules(room.sid, [{ type: 'include' }])).toMatchObject({ ok: false, error: { code: 53120 } });
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    expect(await roomObject(name).setRecordingRules(room.sid, [])).toMatchObject({ ok: false, error: { code: 53112 } });
    // The room's end stopped the last one.
    await eventually(async () => expect((await recordingsOf(name, room.sid)).every((r) => r.status === 'completed')).toBe(true));
  });

  it('returns the rules a room records with on connect until they are set', async () => {
    const { room, name } = await recordedRoom({ RecordParticipantsOnConnect: 'true' });
    expect(await roomObject(name).recordingRules(room.sid)).toEqual({
      ok: true,
      value: { roomSid: room.sid, rules: [{ type: 'include', all: true }], dateCreated: null, dateUpdated: null },
    });
    expect(await roomObject(name).recordingRules('RM' + '0'.repeat(32))).toMatchObject({ ok: false, error: { code: 20404 } });
  });
});

describe('the media server', () => {
  it('a moved session stops the old recording and starts a new one', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true' });
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic')] });
    const pa = alice.connected.participant.sid;
    await eventually(() => expect(media.lastOrders()).toEqual([`audio:a-mic@${pa}.1`]));
    media.generations.set(pa, 2);
    await insideRoomObject(roomObject(name), (instance) => instance.recordings.changed(room.sid));
    await eventually(() => expect(media.lastOrders()).toEqual([`audio:a-mic@${pa}.2`]));
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => r.status)).toEqual(['completed', 'processing']));
    alice.close();
  });

  it('a restart that lost a recording fails it; one it recovered is applied', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true', StatusCallback: REFUSING_URL });
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic'), videoTrack('a-cam', 'cam')] });
    await eventually(() => expect(media.lastOrders()).toHaveLength(2));
    const [mic, cam] = await recordingsOf(name, room.sid);
    media.started(mic!.sid, 5_000);
    media.started(cam!.sid, 5_000);
    await poll(name);

    // Restarted: the microphone's file was recovered (completed), the camera's lost entirely.
    media.boot = 'boot-2';
    media.states.clear();
    media.states.set(mic!.sid, { sid: mic!.sid, status: 'completed', startedAt: 5_000, durationMs: 900, size: 10, codec: 'OPUS', container: 'mka' });
    await poll(name);
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => `${r.status}:${r.duration}`)).toEqual(['completed:1', 'failed:0']));
    const events = (await callbacksOf(name, room.sid)).map((e) => e.StatusCallbackEvent ?? '').filter((e) => e.startsWith('recording-'));
    expect(events.slice(-2).sort()).toEqual(['recording-completed', 'recording-failed']);
    alice.close();
  });

  it('one unreachable long after the room ended leaves its recordings failed, never processing', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true' });
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic')] });
    await eventually(() => expect(media.lastOrders()).toHaveLength(1));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    media.down = true;
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    await alice.waitClosed();
    await poll(name);
    expect((await recordingsOf(name, room.sid)).map((r) => r.status)).toEqual(['processing']);
    // Still unreachable well past the limit.
    await insideRoomObject(roomObject(name), (instance) => {
      instance.recordings.now = () => Date.now() + GIVE_UP_AFTER_END_MS + 1_000;
    });
    await poll(name);
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => r.status)).toEqual(['failed']));
    await eventually(async () => expect((await catalog().getRecording((await recordingsOf(name, room.sid))[0]!.sid))?.status).toBe('failed'));
  });
});

describe('retention', () => {
  it('purges the room\'s recordings from the Room object; the catalog keeps the resources', async () => {
    const { room, name, media } = await recordedRoom({ RecordParticipantsOnConnect: 'true' });
    const alice = await SignalingClient.join(name, 'alice', { tracks: [audioTrack('a-mic', 'mic')] });
    await eventually(() => expect(media.lastOrders()).toHaveLength(1));
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    await alice.waitClosed();
    await eventually(async () => expect((await recordingsOf(name, room.sid)).map((r) => r.status)).toEqual(['completed']));
    const [rec] = await recordingsOf(name, room.sid);
    await fireDeadline(roomObject(name), RETENTION_PREFIX + room.sid);
    const rows = await insideRoomObject(roomObject(name), (_i, state) => ({
      recordings: state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM recordings WHERE room_sid = ?', room.sid).one().n,
      rooms: state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM recording_rooms WHERE room_sid = ?', room.sid).one().n,
    }));
    expect(rows).toEqual({ recordings: 0, rooms: 0 });
    expect((await catalog().getRecording(rec!.sid))?.status).toBe('completed');
  });
});
