/// <reference types="node" />
/**
 * The Rooms REST API as the official `twilio` helper library sees it: the strongest evidence of
 * wire compatibility is that unmodified twilio-node, pointed at Atrium, creates, fetches, pages,
 * completes and fails exactly as it does against Twilio.
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type { RoomInstance } from 'twilio/lib/rest/video/v1/room';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from './support/atrium-server';
import { restError } from './support/rest-error';

const { accountSid, authToken, apiKeySid, apiKeySecret } = DEV_CREDENTIALS;
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ROOM_SID = /^RM[0-9a-f]{32}$/;

/** A RequestClient that remembers every URL it was asked for, to prove that paging really pages. */
class RecordingRequestClient extends twilio.RequestClient {
  readonly uris: string[] = [];
  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    this.uris.push(opts.uri);
    return super.request<TData>(opts);
  }
}

let atrium: AtriumServer;
let uniqueCounter = 0;

/** A room name no other test uses: the server is shared by the whole file. */
const uniqueName = (label: string): string => `${label}-${Date.now().toString(36)}-${++uniqueCounter}`;

function clientWithAuthToken(token: string = authToken, opts: twilio.ClientOpts = {}): twilio.Twilio {
  const client = twilio(accountSid, token, opts);
  client.video.baseUrl = atrium.url;
  return client;
}

function clientWithApiKey(secret: string = apiKeySecret, opts: twilio.ClientOpts = {}): twilio.Twilio {
  const client = twilio(apiKeySid, secret, { accountSid, ...opts });
  client.video.baseUrl = atrium.url;
  return client;
}

/** The raw JSON of a request, for what twilio-node hides (it turns dates into Date objects). */
async function rawJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${atrium.url}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

function expectRoomUrls(room: RoomInstance): void {
  const self = `${atrium.url}/v1/Rooms/${room.sid}`;
  expect(room.url).toBe(self);
  expect(room.links).toEqual({
    participants: `${self}/Participants`,
    recordings: `${self}/Recordings`,
    transcriptions: `${self}/Transcriptions`,
    recording_rules: `${self}/RecordingRules`,
  });
}

function expectRecentDate(value: unknown): void {
  expect(value).toBeInstanceOf(Date);
  // Server and test share the machine's clock; a minute covers a slow start.
  expect(Math.abs((value as Date).getTime() - Date.now())).toBeLessThan(60_000);
}

beforeAll(async () => {
  // twilio-node rewrites the host for a region or edge; these tests must hit the local server.
  delete process.env.TWILIO_REGION;
  delete process.env.TWILIO_EDGE;
  atrium = await startAtrium();
});

afterAll(async () => {
  await atrium?.stop();
});

// Every test starts with no room in progress, so list assertions can be exact.
afterEach(async () => {
  const client = clientWithAuthToken();
  for (const room of await client.video.v1.rooms.list({ status: 'in-progress' })) {
    await client.video.v1.rooms(room.sid).update({ status: 'completed' });
  }
});

describe('create', () => {
  it('applies every parameter and returns the Room resource with 201', async () => {
    const name = uniqueName('all-params');
    const response = await clientWithApiKey().video.v1.rooms.createWithHttpInfo({
      uniqueName: name,
      type: 'group',
      maxParticipants: 7,
      statusCallback: 'http://127.0.0.1:9/rooms?tenant=a',
      statusCallbackMethod: 'GET',
      emptyRoomTimeout: 3,
      unusedRoomTimeout: 2,
      videoCodecs: ['VP8', 'H264'],
      mediaRegion: 'de1',
      maxParticipantDuration: 600,
      recordingRules: { rules: [{ type: 'include', all: true }] },
    });
    expect(response.statusCode).toBe(201);
    const room = response.body;
    expect(room.sid).toMatch(ROOM_SID);
    expect(room.accountSid).toBe(accountSid);
    expect(room.status).toBe('in-progress');
    expect(room.uniqueName).toBe(name);
    expect(room.type).toBe('group');
    expect(room.maxParticipants).toBe(7);
    expect(room.statusCallback).toBe('http://127.0.0.1:9/rooms?tenant=a');
    expect(room.statusCallbackMethod).toBe('GET');
    expect(room.emptyRoomTimeout).toBe(3);
    expect(room.unusedRoomTimeout).toBe(2);
    expect(room.videoCodecs).toEqual(['VP8', 'H264']);
    expect(room.mediaRegion).toBe('de1');
    expect(room.maxParticipantDuration).toBe(600);
    expect(room.audioOnly).toBe(false);
    expect(room.enableTurn).toBe(true);
    expect(room.endTime).toBeNull();
    expect(room.duration).toBeNull();
    expectRecentDate(room.dateCreated);
    expectRecentDate(room.dateUpdated);
    expect(room.dateUpdated.getTime()).toBeGreaterThanOrEqual(room.dateCreated.getTime());
    expectRoomUrls(room);
  });

  it('fills omitted parameters with the defaults, unique_name being the sid', async () => {
    const room = await clientWithAuthToken().video.v1.rooms.create();
    expect(room.sid).toMatch(ROOM_SID);
    expect(room.uniqueName).toBe(room.sid);
    expect(room.type).toBe('group');
    expect(room.maxParticipants).toBe(50);
    expect(room.maxParticipantDuration).toBe(14_400);
    expect(room.emptyRoomTimeout).toBe(5);
    expect(room.unusedRoomTimeout).toBe(5);
    expect(room.videoCodecs).toEqual(['VP8']);
    expect(room.statusCallback).toBeNull();
    expect(room.statusCallbackMethod).toBe('POST');
    expect(room.audioOnly).toBe(false);
  });

  it('creates an audio-only room without video codecs', async () => {
    const room = await clientWithAuthToken().video.v1.rooms.create({ uniqueName: uniqueName('audio'), audioOnly: true });
    expect(room.audioOnly).toBe(true);
    expect(room.videoCodecs ?? []).toEqual([]);
  });

  it('writes dates on the wire as ISO 8601 UTC seconds', async () => {
    const room = await clientWithAuthToken().video.v1.rooms.create({ uniqueName: uniqueName('wire') });
    const json = await rawJson(`/v1/Rooms/${room.sid}`);
    expect(json.date_created).toMatch(ISO_SECONDS);
    expect(json.date_updated).toMatch(ISO_SECONDS);
    expect(json.end_time).toBeNull();
    // twilio-node parsed exactly that string.
    expect(room.dateCreated.toISOString().replace('.000Z', 'Z')).toBe(json.date_created);
  });
});

describe('fetch', () => {
  it('finds an in-progress room by sid and by unique name', async () => {
    const client = clientWithAuthToken();
    const name = uniqueName('fetch');
    const created = await client.video.v1.rooms.create({ uniqueName: name, maxParticipants: 4 });
    const bySid = await client.video.v1.rooms(created.sid).fetch();
    const byName = await client.video.v1.rooms(name).fetch();
    expect(bySid.toJSON()).toEqual(created.toJSON());
    expect(byName.toJSON()).toEqual(created.toJSON());
    expectRoomUrls(byName);
  });

  it('answers 20404 for an unknown sid and an unknown name', async () => {
    const client = clientWithAuthToken();
    const unknownSid = await restError(client.video.v1.rooms(`RM${'0'.repeat(31)}1`).fetch());
    expect(unknownSid.status).toBe(404);
    expect(unknownSid.code).toBe(20404);
    expect(unknownSid.moreInfo).toBe('https://www.twilio.com/docs/errors/20404');
    const unknownName = await restError(client.video.v1.rooms(uniqueName('nobody')).fetch());
    expect(unknownName.status).toBe(404);
    expect(unknownName.code).toBe(20404);
  });
});

describe('list', () => {
  /** Creates `count` in-progress rooms, returning their sids. */
  async function createRooms(count: number, label: string): Promise<string[]> {
    const client = clientWithAuthToken();
    const sids: string[] = [];
    for (let i = 0; i < count; i++) sids.push((await client.video.v1.rooms.create({ uniqueName: uniqueName(label) })).sid);
    return sids;
  }

  it('list() and each() walk every page', async () => {
    const created = await createRooms(7, 'page');
    const http = new RecordingRequestClient();
    const client = clientWithApiKey(apiKeySecret, { httpClient: http });

    const listed = await client.video.v1.rooms.list({ pageSize: 3 });
    expect(listed.map((r) => r.sid).sort()).toEqual([...created].sort());
    // 3 + 3 + 1: the helper followed next_page_url twice, on this server's host.
    expect(http.uris).toHaveLength(3);
    // The first request carries its query in `params`; the next two are next_page_url verbatim.
    expect(http.uris[0]).toBe(`${atrium.url}/v1/Rooms`);
    for (const uri of http.uris.slice(1)) expect(uri).toMatch(new RegExp(`^${atrium.url}/v1/Rooms\\?.*PageToken=PA`));
    // Newest first.
    const times = listed.map((r) => r.dateCreated.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const walked: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.video.v1.rooms.each({
        pageSize: 3,
        callback: (room) => {
          walked.push(room.sid);
        },
        done: (err?: Error) => (err ? reject(err) : resolve()),
      });
    });
    expect(walked).toEqual(listed.map((r) => r.sid));

    const limited = await client.video.v1.rooms.list({ pageSize: 3, limit: 5 });
    expect(limited.map((r) => r.sid)).toEqual(listed.slice(0, 5).map((r) => r.sid));
  });

  it('page() and nextPage() return pages of the requested size, then undefined', async () => {
    const created = await createRooms(7, 'pages');
    const rooms = clientWithAuthToken().video.v1.rooms;
    const first = await rooms.page({ pageSize: 3 });
    expect(first.instances).toHaveLength(3);
    expect(first.nextPageUrl).toMatch(new RegExp(`^${atrium.url}/v1/Rooms\\?.*PageSize=3`));
    expect(first.previousPageUrl ?? null).toBeNull();
    const second = await first.nextPage();
    expect(second?.instances).toHaveLength(3);
    expect(second?.previousPageUrl).toMatch(new RegExp(`^${atrium.url}/v1/Rooms\\?`));
    const third = await second?.nextPage();
    expect(third?.instances).toHaveLength(1);
    expect(third?.nextPageUrl ?? null).toBeNull();
    expect(third?.nextPage()).toBeUndefined();
    const sids = [first, second, third].flatMap((p) => p?.instances.map((r) => r.sid) ?? []);
    expect(new Set(sids).size).toBe(7);
    expect([...sids].sort()).toEqual([...created].sort());
    // previous_page_url leads back to the same rows (nothing was created in between).
    const backToSecond = await third?.previousPage();
    expect(backToSecond?.instances.map((r) => r.sid)).toEqual(second?.instances.map((r) => r.sid));
    const backToFirst = await second?.previousPage();
    expect(backToFirst?.instances.map((r) => r.sid)).toEqual(first.instances.map((r) => r.sid));
  });

  it('filters by status, unique name and creation date', async () => {
    const client = clientWithAuthToken();
    const [keep, done] = await createRooms(2, 'filter');
    const ended = await client.video.v1.rooms(done!).update({ status: 'completed' });
    expect(ended.status).toBe('completed');

    const inProgress = await client.video.v1.rooms.list();
    expect(inProgress.map((r) => r.sid)).toEqual([keep]);
    const completed = await client.video.v1.rooms.list({ status: 'completed' });
    expect(completed.map((r) => r.sid)).toContain(done);
    expect(completed.map((r) => r.sid)).not.toContain(keep);
    for (const room of completed) expect(room.status).toBe('completed');

    const byName = await client.video.v1.rooms.list({ status: 'completed', uniqueName: ended.uniqueName });
    expect(byName.map((r) => r.sid)).toEqual([done]);

    const longAgo = new Date('2000-01-01T00:00:00Z');
    expect((await client.video.v1.rooms.list({ dateCreatedBefore: longAgo })).length).toBe(0);
    expect((await client.video.v1.rooms.list({ dateCreatedAfter: longAgo })).map((r) => r.sid)).toEqual([keep]);
  });

  it('pages through completed rooms, keeping the status filter on every page', async () => {
    const client = clientWithAuthToken();
    for (const sid of await createRooms(5, 'done-pages')) await client.video.v1.rooms(sid).update({ status: 'completed' });
    const all = await client.video.v1.rooms.list({ status: 'completed', pageSize: 1000 });
    expect(all.length).toBeGreaterThanOrEqual(5);
    const paged = await client.video.v1.rooms.list({ status: 'completed', pageSize: 2 });
    expect(paged.map((r) => r.sid)).toEqual(all.map((r) => r.sid));
  });
});

describe('complete', () => {
  it('update({ status: "completed" }) ends the room with 202, an end time and a duration', async () => {
    const client = clientWithApiKey();
    const name = uniqueName('complete');
    const room = await client.video.v1.rooms.create({ uniqueName: name });
    const response = await client.video.v1.rooms(room.sid).updateWithHttpInfo({ status: 'completed' });
    expect(response.statusCode).toBe(202);
    const ended = response.body;
    expect(ended.sid).toBe(room.sid);
    expect(ended.status).toBe('completed');
    expectRecentDate(ended.endTime);
    expect(ended.endTime.getTime()).toBeGreaterThanOrEqual(room.dateCreated.getTime());
    expect(Number.isInteger(ended.duration)).toBe(true);
    expect(ended.duration).toBeGreaterThanOrEqual(0);

    const fetched = await client.video.v1.rooms(room.sid).fetch();
    expect(fetched.status).toBe('completed');
    expect(fetched.endTime).toEqual(ended.endTime);
    // A unique name addresses a room only while it is in progress.
    expect((await restError(client.video.v1.rooms(name).fetch())).code).toBe(20404);
  });

  it('completing twice is 53112, and so is any other status', async () => {
    const client = clientWithAuthToken();
    const room = await client.video.v1.rooms.create({ uniqueName: uniqueName('twice') });
    await client.video.v1.rooms(room.sid).update({ status: 'completed' });
    const again = await restError(client.video.v1.rooms(room.sid).update({ status: 'completed' }));
    expect(again.code).toBe(53112);
    expect(again.status).toBe(400);

    const other = await client.video.v1.rooms.create({ uniqueName: uniqueName('other-status') });
    const invalid = await restError(client.video.v1.rooms(other.sid).update({ status: 'failed' }));
    expect(invalid.code).toBe(53112);
    expect((await client.video.v1.rooms(other.sid).fetch()).status).toBe('in-progress');
  });

  it('completing an unknown room is 20404', async () => {
    const err = await restError(clientWithAuthToken().video.v1.rooms(`RM${'f'.repeat(32)}`).update({ status: 'completed' }));
    expect(err.code).toBe(20404);
    expect(err.status).toBe(404);
  });

  it('frees the unique name: a new room gets a new sid, the old one stays fetchable and listed', async () => {
    const client = clientWithAuthToken();
    const name = uniqueName('reuse');
    const first = await client.video.v1.rooms.create({ uniqueName: name });
    await client.video.v1.rooms(name).update({ status: 'completed' });
    const second = await client.video.v1.rooms.create({ uniqueName: name });
    expect(second.sid).toMatch(ROOM_SID);
    expect(second.sid).not.toBe(first.sid);
    expect(second.status).toBe('in-progress');

    expect((await client.video.v1.rooms(name).fetch()).sid).toBe(second.sid);
    const old = await client.video.v1.rooms(first.sid).fetch();
    expect(old.status).toBe('completed');
    expect(old.uniqueName).toBe(name);

    const completed = await client.video.v1.rooms.list({ status: 'completed', uniqueName: name });
    expect(completed.map((r) => r.sid)).toEqual([first.sid]);
    const current = await client.video.v1.rooms.list({ uniqueName: name });
    expect(current.map((r) => r.sid)).toEqual([second.sid]);
  });
});

describe('errors', () => {
  it('a duplicate unique name in progress is 53113 with HTTP 400', async () => {
    const client = clientWithAuthToken();
    const name = uniqueName('dup');
    await client.video.v1.rooms.create({ uniqueName: name });
    const err = await restError(clientWithApiKey().video.v1.rooms.create({ uniqueName: name }));
    expect(err.code).toBe(53113);
    expect(err.status).toBe(400);
    expect(err.moreInfo).toBe('https://www.twilio.com/docs/errors/53113');
    expect(err.message.length).toBeGreaterThan(0);
    // The failed attempt created nothing.
    expect((await client.video.v1.rooms.list({ uniqueName: name })).length).toBe(1);
  });

  it('invalid parameters carry their Video error codes', async () => {
    const rooms = clientWithAuthToken().video.v1.rooms;
    expect((await restError(rooms.create({ maxParticipants: 51 }))).code).toBe(53107);
    expect((await restError(rooms.create({ emptyRoomTimeout: 61 }))).code).toBe(53109);
    expect((await restError(rooms.create({ statusCallback: 'not a url' }))).code).toBe(53111);
    expect((await restError(rooms.create({ mediaRegion: 'xx9' }))).code).toBe(53115);
    expect((await restError(rooms.create({ uniqueName: 'x'.repeat(129) }))).code).toBe(53101);
    // None of them left a room behind.
    expect(await rooms.list()).toEqual([]);
  });
});

describe('authentication', () => {
  it('AccountSid:AuthToken and ApiKeySid:ApiKeySecret reach the same account', async () => {
    const byToken = clientWithAuthToken();
    const byKey = clientWithApiKey();
    const a = await byToken.video.v1.rooms.create({ uniqueName: uniqueName('token') });
    const b = await byKey.video.v1.rooms.create({ uniqueName: uniqueName('key') });
    expect(a.accountSid).toBe(accountSid);
    expect(b.accountSid).toBe(accountSid);
    expect((await byKey.video.v1.rooms(a.sid).fetch()).sid).toBe(a.sid);
    expect((await byToken.video.v1.rooms(b.sid).fetch()).sid).toBe(b.sid);
  });

  it('a wrong auth token, a wrong API key secret or an unknown key is 20003 with HTTP 401', async () => {
    const attempts = [
      clientWithAuthToken('wrong-token'),
      clientWithApiKey('wrong-secret'),
      (() => {
        const client = twilio(`SK${'9'.repeat(32)}`, apiKeySecret, { accountSid });
        client.video.baseUrl = atrium.url;
        return client;
      })(),
    ];
    for (const client of attempts) {
      const listErr = await restError(client.video.v1.rooms.list());
      expect(listErr.code).toBe(20003);
      expect(listErr.status).toBe(401);
      const createErr = await restError(client.video.v1.rooms.create({ uniqueName: uniqueName('denied') }));
      expect(createErr.code).toBe(20003);
    }
    // None of the rejected creates went through.
    expect(await clientWithAuthToken().video.v1.rooms.list()).toEqual([]);
  });
});
