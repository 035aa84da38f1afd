import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RecordingRecord } from '../core/recordings';
import { DEFAULT_RECORDING_SETTINGS } from '../core/recording-settings';

let accounts = 0;
/** A catalog of its own per test: an account no other test uses. */
const freshCatalog = () => env.CATALOG.get(env.CATALOG.idFromName(`AC${(++accounts).toString(16).padStart(32, 'e')}`));

const ROOM_A = 'RM' + 'a'.repeat(32);
const ROOM_B = 'RM' + 'b'.repeat(32);
const PA_1 = 'PA' + '1'.repeat(32);
const PA_2 = 'PA' + '2'.repeat(32);

let sids = 0;
function recording(over: Partial<RecordingRecord> = {}): RecordingRecord {
  const sid = `RT${(++sids).toString(16).padStart(32, '0')}`;
  return {
    sid,
    accountSid: 'AC' + 'e'.repeat(32),
    roomSid: ROOM_A,
    participantSid: PA_1,
    sourceSid: 'MT' + '9'.repeat(32),
    trackName: 'mic',
    type: 'audio',
    codec: 'OPUS',
    container: 'mka',
    status: 'processing',
    dateCreated: 1_000,
    dateUpdated: 1_000,
    duration: null,
    size: null,
    offset: null,
    key: `AC${'e'.repeat(32)}/${sid}.mka`,
    storage: { type: 'local', server: 'http://sfu.test' },
    statusCallback: null,
    statusCallbackMethod: 'POST',
    ...over,
  };
}

const page = { pageSize: 50, offset: 0 };

describe('the catalog of recordings', () => {
  it('keeps the copy furthest along: final over processing, newer over older, deleted for good', async () => {
    const catalog = freshCatalog();
    const r = recording();
    await catalog.upsertRecording(r);
    await catalog.upsertRecording({ ...r, offset: 0, dateUpdated: 2_000 });
    await catalog.upsertRecording({ ...r, dateUpdated: 1_500 }); // a late retry of an older copy
    expect((await catalog.getRecording(r.sid))?.offset).toBe(0);

    const completed = { ...r, status: 'completed' as const, duration: 3, size: 10, offset: 0, dateUpdated: 3_000 };
    await catalog.upsertRecording(completed);
    await catalog.upsertRecording({ ...r, offset: 0, dateUpdated: 4_000 }); // processing never comes back
    expect(await catalog.getRecording(r.sid)).toEqual(completed);

    const deleted = await catalog.markRecordingDeleted(r.sid);
    expect(deleted).toMatchObject({ status: 'deleted', duration: 3, size: 10 });
    await catalog.upsertRecording({ ...completed, dateUpdated: Date.now() + 60_000 });
    expect((await catalog.getRecording(r.sid))?.status).toBe('deleted');
    expect(await catalog.markRecordingDeleted('RT' + 'f'.repeat(32))).toBeNull();
    expect(await catalog.getRecording('RT' + 'f'.repeat(32))).toBeNull();
  });

  it('lists newest first, by status, source, grouping sids, media type, room and dates, with paging', async () => {
    const catalog = freshCatalog();
    const a1 = recording({ dateCreated: 1_000 });
    const a2 = recording({ dateCreated: 2_000, type: 'video', codec: 'VP8', container: 'mkv', participantSid: PA_2, status: 'completed' });
    const b1 = recording({ dateCreated: 3_000, roomSid: ROOM_B, sourceSid: 'MT' + '8'.repeat(32) });
    for (const r of [a1, a2, b1]) await catalog.upsertRecording(r);
    const sidsOf = async (q: Record<string, unknown>) => (await catalog.listRecordings({ ...page, ...q })).map((r) => r.sid);

    expect(await sidsOf({})).toEqual([b1.sid, a2.sid, a1.sid]);
    expect(await sidsOf({ status: 'completed' })).toEqual([a2.sid]);
    expect(await sidsOf({ sourceSid: 'MT' + '8'.repeat(32) })).toEqual([b1.sid]);
    expect(await sidsOf({ groupingSids: [ROOM_A] })).toEqual([a2.sid, a1.sid]);
    expect(await sidsOf({ groupingSids: [PA_2] })).toEqual([a2.sid]);
    expect(await sidsOf({ groupingSids: [ROOM_A, PA_1] })).toEqual([a1.sid]);
    expect(await sidsOf({ mediaType: 'video' })).toEqual([a2.sid]);
    expect(await sidsOf({ mediaType: 'data' })).toEqual([]);
    expect(await sidsOf({ roomSid: ROOM_B })).toEqual([b1.sid]);
    expect(await sidsOf({ createdAfter: 2_000 })).toEqual([b1.sid, a2.sid]);
    expect(await sidsOf({ createdBefore: 2_000 })).toEqual([a1.sid]);
    // One more row than the page, to tell whether another follows; then by offset or cursor.
    expect(await sidsOf({ pageSize: 1 })).toEqual([b1.sid, a2.sid]);
    expect(await sidsOf({ pageSize: 1, offset: 1 })).toEqual([a2.sid, a1.sid]);
    expect(await sidsOf({ pageSize: 1, after: { dateCreated: a2.dateCreated, sid: a2.sid } })).toEqual([a1.sid]);
  });

  it('keeps the account recording settings, secrets included (the Worker never renders them)', async () => {
    const catalog = freshCatalog();
    expect(await catalog.recordingSettings()).toBeNull();
    const settings = { ...DEFAULT_RECORDING_SETTINGS, awsStorageEnabled: true, awsS3Url: 'https://b.example.com/rec', accessKeyId: 'id', secretAccessKey: 'secret', region: 'auto' };
    await catalog.updateRecordingSettings(settings);
    expect(await catalog.recordingSettings()).toEqual(settings);
  });
});
