import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { checkMediaUrl } from '../core/media-url';
import type { RecordingRecord } from '../core/recordings';
import { newSid } from '../core/sids';
import { catalogStub } from '../durable-objects/addresses';
import type { Env } from '../durable-objects/env';
import { ACCOUNT_SID, api, basic, createRoom } from './support/rest';

/**
 * The Recordings REST resources as Twilio's OpenAPI file describes them, served from the account's
 * catalog: the records are put there as Room objects put them (upsertRecording), so every filter,
 * field and error can be checked here without media. Recording itself is tested end to end in the
 * browser suite (test/browser/recordings.test.ts).
 */

const SECOND = 'AC00000000000000000000000000000002';
const AUTH2 = basic(SECOND, 'second-account-token');
const SFU_SECRET = (env as unknown as Env).SFU_SECRET!;
const HOUR = 3_600_000;

let clock = Date.UTC(2026, 10, 1);
function record(over: Partial<RecordingRecord> = {}): RecordingRecord {
  const sid = over.sid ?? newSid('RT');
  const type = over.type ?? 'audio';
  const container = type === 'audio' ? 'mka' : 'mkv';
  clock += HOUR;
  return {
    sid,
    accountSid: ACCOUNT_SID,
    roomSid: newSid('RM'),
    participantSid: newSid('PA'),
    sourceSid: newSid('MT'),
    trackName: `${type}-track`,
    type,
    codec: type === 'audio' ? 'OPUS' : 'VP8',
    container,
    status: 'completed',
    dateCreated: clock,
    dateUpdated: clock + 10_000,
    duration: 10,
    size: 123_456,
    offset: 0,
    key: `${ACCOUNT_SID}/${sid}.${container}`,
    storage: { type: 'local', server: 'http://127.0.0.1:8788' },
    statusCallback: null,
    statusCallbackMethod: 'POST',
    ...over,
  };
}

async function put(...records: RecordingRecord[]): Promise<RecordingRecord[]> {
  for (const r of records) await catalogStub(env as unknown as Env, r.accountSid).upsertRecording(r);
  return records;
}

describe('GET /v1/Recordings/{Sid}', () => {
  it('returns every field of Twilio’s Recording resource, and nothing about where the file is', async () => {
    const [r] = await put(record({ type: 'video', offset: 1234 }));
    const res = await api('GET', `/v1/Recordings/${r!.sid}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      account_sid: ACCOUNT_SID,
      status: 'completed',
      date_created: new Date(r!.dateCreated).toISOString().replace('.000', ''),
      sid: r!.sid,
      source_sid: r!.sourceSid,
      size: 123_456,
      type: 'video',
      duration: 10,
      container_format: 'mkv',
      codec: 'VP8',
      grouping_sids: { room_sid: r!.roomSid, participant_sid: r!.participantSid },
      track_name: 'video-track',
      offset: 1234,
      media_external_location: null,
      status_callback: null,
      status_callback_method: 'POST',
      url: `http://atrium.test/v1/Recordings/${r!.sid}`,
      links: { media: `http://atrium.test/v1/Recordings/${r!.sid}/Media` },
    });
  });

  it('is 20404 for an unknown sid and for another account’s recording', async () => {
    const [r] = await put(record());
    expect((await api('GET', `/v1/Recordings/${newSid('RT')}`)).body.code).toBe(20404);
    const other = await api('GET', `/v1/Recordings/${r!.sid}`, undefined, { auth: AUTH2 });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe(20404);
  });

  it('shows null duration and size while processing, and the track sid as name when the track has none', async () => {
    const [r] = await put(record({ status: 'processing', duration: null, size: null, offset: null, trackName: '' }));
    const { body } = await api('GET', `/v1/Recordings/${r!.sid}`);
    expect(body).toMatchObject({ status: 'processing', duration: null, size: null, offset: null, track_name: r!.sourceSid });
  });
});

describe('GET /v1/Recordings', () => {
  it('filters by Status, SourceSid, GroupingSid, MediaType and dates, newest first, with Twilio’s paging', async () => {
    const room = newSid('RM');
    const alice = newSid('PA');
    const recs = await put(
      record({ roomSid: room, participantSid: alice, type: 'audio' }),
      record({ roomSid: room, participantSid: alice, type: 'video' }),
      record({ roomSid: room, participantSid: newSid('PA'), type: 'audio', status: 'failed' }),
      record({ roomSid: room, type: 'video', status: 'processing', duration: null, size: null }),
    );
    const list = async (q: string) => (await api('GET', `/v1/Recordings?${q}`)).body;
    const sids = async (q: string) => ((await list(q)).recordings as { sid: string }[]).map((r) => r.sid);
    expect(await sids(`GroupingSid=${room}`)).toEqual(recs.map((r) => r.sid).reverse());
    expect(await sids(`GroupingSid=${room}&GroupingSid=${alice}`)).toEqual([recs[1]!.sid, recs[0]!.sid]);
    expect(await sids(`GroupingSid=${room}&MediaType=video`)).toEqual([recs[3]!.sid, recs[1]!.sid]);
    expect(await sids(`GroupingSid=${room}&Status=failed`)).toEqual([recs[2]!.sid]);
    expect(await sids(`SourceSid=${recs[0]!.sourceSid}`)).toEqual([recs[0]!.sid]);
    const after = new Date(recs[1]!.dateCreated).toISOString();
    const before = new Date(recs[2]!.dateCreated + 1).toISOString();
    expect(await sids(`GroupingSid=${room}&DateCreatedAfter=${after}&DateCreatedBefore=${before}`)).toEqual([recs[2]!.sid, recs[1]!.sid]);

    const first = await list(`GroupingSid=${room}&PageSize=3`);
    expect(first.meta).toMatchObject({ key: 'recordings', page: 0, page_size: 3, previous_page_url: null });
    expect(first.recordings).toHaveLength(3);
    const next = new URL(first.meta.next_page_url);
    expect(next.searchParams.get('GroupingSid')).toBe(room);
    const second = (await api('GET', next.pathname + next.search)).body;
    expect(second.recordings.map((r: { sid: string }) => r.sid)).toEqual([recs[0]!.sid]);
    expect(second.meta.next_page_url).toBeNull();
  });

  it('refuses values outside Twilio’s enums and unknown parameters', async () => {
    for (const q of ['Status=done', 'MediaType=screen', 'GroupingSid=RT00000000000000000000000000000000', 'Color=red']) {
      const res = await api('GET', `/v1/Recordings?${q}`);
      expect(res.status, q).toBe(400);
      expect([70002, 20001], q).toContain(res.body.code);
    }
  });
});

describe('GET /v1/Recordings/{Sid}/Media', () => {
  it('redirects to a URL the media server signed itself, valid for the Ttl asked', async () => {
    const [r] = await put(record());
    const res = await api('GET', `/v1/Recordings/${r!.sid}/Media?Ttl=60`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe('http://127.0.0.1:8788');
    expect(location.pathname).toBe(`/v1/media/${r!.key}`);
    const now = Math.floor(Date.now() / 1000);
    expect(Number(location.searchParams.get('Expires')) - now).toBeGreaterThanOrEqual(59);
    expect(Number(location.searchParams.get('Expires')) - now).toBeLessThanOrEqual(61);
    expect(await checkMediaUrl(SFU_SECRET, location.pathname, location.searchParams, now)).toBeNull();
    expect(await checkMediaUrl('another-secret-of-enough-length', location.pathname, location.searchParams, now)).not.toBeNull();
    expect(await checkMediaUrl(SFU_SECRET, location.pathname, location.searchParams, now + 120)).not.toBeNull();
  });

  it('presigns a GET of the account’s bucket object (SigV4 query signing)', async () => {
    const [r] = await put(
      record({ storage: { type: 's3', url: 'https://bucket.s3.eu-west-1.amazonaws.com/calls', region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret/example' } }),
    );
    const fetched = await api('GET', `/v1/Recordings/${r!.sid}`);
    expect(fetched.body.media_external_location).toBe(`https://bucket.s3.eu-west-1.amazonaws.com/calls/${ACCOUNT_SID}/${r!.sid}.mka`);
    expect(JSON.stringify(fetched.body)).not.toContain('secret/example');
    const res = await api('GET', `/v1/Recordings/${r!.sid}/Media`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(fetched.body.media_external_location);
    expect(location.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(location.searchParams.get('X-Amz-Credential')).toMatch(/^AKIAEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is 20404 while processing and after deletion; Ttl out of range is 400', async () => {
    const [processing, deleted] = await put(record({ status: 'processing', duration: null, size: null }), record({ status: 'deleted' }));
    expect((await api('GET', `/v1/Recordings/${processing!.sid}/Media`)).body.code).toBe(20404);
    expect((await api('GET', `/v1/Recordings/${deleted!.sid}/Media`)).body.code).toBe(20404);
    expect((await api('GET', `/v1/Recordings/${deleted!.sid}/Media?Ttl=3601`)).status).toBe(400);
  });
});

describe('DELETE /v1/Recordings/{Sid}', () => {
  it('refuses a recording still processing, and answers 204 for one already deleted', async () => {
    const [processing, deleted] = await put(record({ status: 'processing', duration: null, size: null }), record({ status: 'deleted' }));
    const res = await api('DELETE', `/v1/Recordings/${processing!.sid}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/processing/);
    expect((await api('DELETE', `/v1/Recordings/${deleted!.sid}`)).status).toBe(204);
  });

  it('says which store refused when the media cannot be deleted, and keeps the recording', async () => {
    // Nothing listens on loopback's discard port.
    const [r] = await put(record({ storage: { type: 'local', server: 'http://127.0.0.1:9' } }));
    const res = await api('DELETE', `/v1/Recordings/${r!.sid}`);
    expect(res.status).toBe(500);
    expect(res.body.code).toBe(20500);
    expect(res.body.message).toMatch(/could not be deleted/);
    expect((await api('GET', `/v1/Recordings/${r!.sid}`)).body.status).toBe('completed');
  });
});

describe('/v1/Rooms/{RoomSid}/Recordings', () => {
  it('lists and fetches the room’s recordings as RoomRecording resources, and no other room’s', async () => {
    const room = (await createRoom({ Type: 'group' })).body;
    const [a, b] = await put(record({ roomSid: room.sid }), record({ roomSid: room.sid, type: 'video' }), record());
    const list = await api('GET', `/v1/Rooms/${room.sid}/Recordings`);
    expect(list.status).toBe(200);
    expect(list.body.recordings.map((r: { sid: string }) => r.sid)).toEqual([b!.sid, a!.sid]);
    const one = await api('GET', `/v1/Rooms/${room.unique_name}/Recordings/${a!.sid}`);
    expect(one.body).toMatchObject({ sid: a!.sid, room_sid: room.sid, url: `http://atrium.test/v1/Rooms/${room.sid}/Recordings/${a!.sid}` });
    expect(one.body.status_callback).toBeUndefined();
    const [elsewhere] = await put(record());
    expect((await api('GET', `/v1/Rooms/${room.sid}/Recordings/${elsewhere!.sid}`)).body.code).toBe(20404);
    expect((await api('GET', `/v1/Rooms/${room.sid}/Recordings?MediaType=audio`)).status).toBe(400);
  });
});

describe('/v1/Rooms/{RoomSid}/RecordingRules', () => {
  it('starts empty, or include-all with RecordParticipantsOnConnect, and takes Twilio’s rules', async () => {
    const plain = (await createRoom({ Type: 'group' })).body;
    const recorded = (await createRoom({ Type: 'group', RecordParticipantsOnConnect: 'true' })).body;
    expect((await api('GET', `/v1/Rooms/${plain.sid}/RecordingRules`)).body.rules).toEqual([]);
    expect((await api('GET', `/v1/Rooms/${recorded.sid}/RecordingRules`)).body.rules).toEqual([{ type: 'include', all: true, publisher: null, track: null, kind: null }]);
    const rules = [
      { type: 'include', publisher: 'alice' },
      { type: 'exclude', kind: 'video' },
    ];
    const res = await api('POST', `/v1/Rooms/${plain.sid}/RecordingRules`, { Rules: JSON.stringify(rules) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      room_sid: plain.sid,
      rules: [
        { type: 'include', all: null, publisher: 'alice', track: null, kind: null },
        { type: 'exclude', all: null, publisher: null, track: null, kind: 'video' },
      ],
    });
    expect((await api('GET', `/v1/Rooms/${plain.sid}/RecordingRules`)).body.rules).toEqual(res.body.rules);
  });

  it('refuses bad rules with 53120 and peer-to-peer rooms with 53121', async () => {
    const room = (await createRoom({ Type: 'group' })).body;
    for (const bad of ['not json', '{}', '[{"type":"maybe","all":true}]', '[{"type":"include"}]', '[{"type":"include","kind":"screen"}]']) {
      const res = await api('POST', `/v1/Rooms/${room.sid}/RecordingRules`, { Rules: bad });
      expect(res.status, bad).toBe(400);
      expect(res.body.code, bad).toBe(53120);
    }
    expect((await api('POST', `/v1/Rooms/${room.sid}/RecordingRules`, {})).body.code).toBe(53120);
    const p2p = (await createRoom({ Type: 'peer-to-peer' })).body;
    const res = await api('POST', `/v1/Rooms/${p2p.sid}/RecordingRules`, { Rules: '[{"type":"include","all":true}]' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(53121);
  });

  it('takes the first rules from RecordingRules at creation, checked like any others', async () => {
    const room = (await createRoom({ Type: 'group', RecordParticipantsOnConnect: 'true', RecordingRules: '{"rules":[{"type":"include","kind":"audio"}]}' })).body;
    expect((await api('GET', `/v1/Rooms/${room.sid}/RecordingRules`)).body.rules).toEqual([{ type: 'include', all: null, publisher: null, track: null, kind: 'audio' }]);
    const bad = await createRoom({ Type: 'group', RecordingRules: '[{"type":"include"}]' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(53120);
    expect((await createRoom({ Type: 'go', RecordingRules: '[]' })).body.code).toBe(53114);
  });

  it('refuses RecordParticipantsOnConnect on a peer-to-peer room at creation (53114)', async () => {
    const res = await createRoom({ Type: 'peer-to-peer', RecordParticipantsOnConnect: 'true' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(53114);
  });
});

describe('/v1/RecordingSettings/Default', () => {
  const settings = (form?: Record<string, string>) =>
    form ? api('POST', '/v1/RecordingSettings/Default', form, { auth: AUTH2 }) : api('GET', '/v1/RecordingSettings/Default', undefined, { auth: AUTH2 });

  it('is the media server’s folder until set, then keeps the bucket and never shows the secret', async () => {
    const before = await settings();
    expect(before.body).toEqual({
      account_sid: SECOND,
      friendly_name: null,
      aws_credentials_sid: null,
      aws_s3_url: null,
      aws_storage_enabled: false,
      encryption_key_sid: null,
      encryption_enabled: false,
      url: 'http://atrium.test/v1/RecordingSettings/Default',
    });
    const set = await settings({
      FriendlyName: 'calls',
      AwsS3Url: 'https://acct.r2.cloudflarestorage.com/recordings/calls/',
      AwsStorageEnabled: 'true',
      AwsAccessKeyId: 'r2-key-id',
      AwsSecretAccessKey: 'r2-very-secret',
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ friendly_name: 'calls', aws_s3_url: 'https://acct.r2.cloudflarestorage.com/recordings/calls', aws_storage_enabled: true });
    expect(set.body.aws_credentials_sid).toMatch(/^CR[0-9a-f]{32}$/);
    const after = await settings();
    expect(after.body).toEqual(set.body);
    expect(JSON.stringify(after.body)).not.toContain('r2-very-secret');
    // Stored per account: the default account's are untouched.
    expect((await api('GET', '/v1/RecordingSettings/Default')).body.aws_storage_enabled).toBe(false);
    // The twilio helper sends the sid it was given back: accepted when it is the same key.
    const again = await settings({ FriendlyName: 'calls 2', AwsCredentialsSid: set.body.aws_credentials_sid });
    expect(again.body).toMatchObject({ friendly_name: 'calls 2', aws_credentials_sid: set.body.aws_credentials_sid, aws_storage_enabled: true });
    const off = await settings({ FriendlyName: 'calls', AwsStorageEnabled: 'false' });
    expect(off.body.aws_storage_enabled).toBe(false);
  });

  it('says what is wrong', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /FriendlyName is required/],
      [{ FriendlyName: 'x', AwsS3Url: 'not a url' }, /AwsS3Url/],
      [{ FriendlyName: 'x', AwsStorageEnabled: 'maybe' }, /AwsStorageEnabled/],
      [{ FriendlyName: 'x', EncryptionEnabled: 'true' }, /EncryptionEnabled/],
      [{ FriendlyName: 'x', AwsAccessKeyId: 'only-the-id' }, /together/],
      [{ FriendlyName: 'x', AwsCredentialsSid: 'CR00000000000000000000000000000000' }, /AwsCredentialsSid/],
      [{ FriendlyName: 'x', AwsStorageEnabled: 'true', AwsS3Url: '' }, /AwsS3Url/],
      [{ FriendlyName: 'x', Color: 'red' }, /Color/],
    ];
    for (const [form, message] of cases) {
      const res = await api('POST', '/v1/RecordingSettings/Default', form);
      expect(res.status, JSON.stringify(form)).toBe(400);
      expect(res.body.message, JSON.stringify(form)).toMatch(message);
    }
  });
});
