import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { configuredDefaults } from '../core/room-defaults';
import { roomDefaults } from '../durable-objects/catalog/room-defaults';
import type { Env } from '../durable-objects/env';
import { mintAccessToken } from '../core/tokens/mint-token';
import { ORIGIN, api, basic, uniqueName } from './support/rest';
import { SignalingClient, connectMessage } from './support/signaling-client';

// Mutations use the second account, so the default account keeps the built-in settings.
const SECOND = {
  accountSid: 'AC00000000000000000000000000000002',
  authToken: 'second-account-token',
  apiKeySid: 'SK00000000000000000000000000000002',
  apiKeySecret: 'second-account-key-secret',
};
const AUTH2 = basic(SECOND.accountSid, SECOND.authToken);
/** Nothing listens on loopback's discard port: status callbacks there fail fast, never leaving the machine. */
const CALLBACK_URL = 'http://127.0.0.1:9/status';
const settings = (form?: Record<string, string>) =>
  form ? api('POST', '/v1/Settings/Rooms', form, { auth: AUTH2 }) : api('GET', '/v1/Settings/Rooms', undefined, { auth: AUTH2 });
const createRoom2 = (form: Record<string, string> = {}) => api('POST', '/v1/Rooms', { UniqueName: uniqueName('s'), ...form }, { auth: AUTH2 });

/** Connects to `room` of the second account the way twilio-video does; resolves with the first answer. */
async function connectSecond(room: string, identity: string) {
  const jwt = await mintAccessToken({ ...SECOND, identity });
  const c = await SignalingClient.open(room, `?AccountSid=${SECOND.accountSid}`);
  c.send({ type: 'hello', version: 2, timeout: 5000, body: connectMessage(room, jwt) });
  return { client: c, answer: await c.nextMsg((m) => m.type === 'connected' || m.type === 'error') };
}

const BUILT_IN = {
  client_room_creation: true,
  type: 'group',
  max_participants: null,
  status_callback: null,
  status_callback_method: 'POST',
  max_participant_duration: 14400,
  empty_room_timeout: 5,
  unused_room_timeout: 5,
  media_region: 'us1',
  record_participants_on_connect: false,
};

describe('/v1/Settings/Rooms', () => {
  it('starts with the built-in defaults, per account, and needs credentials', async () => {
    const res = await api('GET', '/v1/Settings/Rooms');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ account_sid: 'AC00000000000000000000000000000001', ...BUILT_IN, url: `${ORIGIN}/v1/Settings/Rooms` });
    expect((await api('GET', '/v1/Settings/Rooms', undefined, { auth: null })).status).toBe(401);
    expect((await api('GET', '/v1/Settings/Rooms?Type=go')).body.code).toBe(20001);
  });

  it('saves what is posted, keeps what is not, and rooms created over REST take it', async () => {
    const saved = await settings({
      Type: 'group-small',
      MaxParticipants: '3',
      StatusCallback: CALLBACK_URL,
      StatusCallbackMethod: 'get',
      MaxParticipantDuration: '900',
      EmptyRoomTimeout: '7',
      UnusedRoomTimeout: '9',
      MediaRegion: 'ie1',
    });
    expect(saved.status).toBe(200);
    const expected = {
      account_sid: SECOND.accountSid,
      ...BUILT_IN,
      type: 'group-small',
      max_participants: 3,
      status_callback: CALLBACK_URL,
      status_callback_method: 'GET',
      max_participant_duration: 900,
      empty_room_timeout: 7,
      unused_room_timeout: 9,
      media_region: 'ie1',
      url: `${ORIGIN}/v1/Settings/Rooms`,
    };
    expect(saved.body).toEqual(expected);
    expect((await settings()).body).toEqual(expected);
    // The default account is not affected.
    expect((await api('GET', '/v1/Settings/Rooms')).body).toMatchObject(BUILT_IN);

    const room = (await createRoom2()).body;
    expect(room).toMatchObject({
      type: 'group-small',
      max_participants: 3,
      status_callback: CALLBACK_URL,
      status_callback_method: 'GET',
      max_participant_duration: 900,
      empty_room_timeout: 7,
      unused_room_timeout: 9,
      media_region: 'ie1',
    });
    // Parameters of the create still win.
    const explicit = (await createRoom2({ Type: 'group', MaxParticipants: '10', EmptyRoomTimeout: '1' })).body;
    expect(explicit).toMatchObject({ type: 'group', max_participants: 10, empty_room_timeout: 1 });

    // A partial update keeps the rest; empty values clear the callback and return to the type's cap.
    const cleared = await settings({ StatusCallback: '', MaxParticipants: '' });
    expect(cleared.body).toEqual({ ...expected, status_callback: null, max_participants: null });
    expect((await createRoom2()).body).toMatchObject({ type: 'group-small', max_participants: 4, status_callback: null });
    await settings({ Type: 'group', MaxParticipantDuration: '14400', EmptyRoomTimeout: '5', UnusedRoomTimeout: '5', MediaRegion: 'us1', StatusCallbackMethod: 'POST' });
    expect((await settings()).body).toMatchObject(BUILT_IN);
  });

  it('validates with the codes room creation uses, and saves nothing on error', async () => {
    const before = (await settings()).body;
    const cases: [Record<string, string>, number][] = [
      [{ Type: 'huge' }, 53108],
      [{ MaxParticipants: 'many' }, 53107],
      [{ MaxParticipants: '51' }, 53107],
      [{ Type: 'go', MaxParticipants: '3' }, 53107],
      [{ MaxParticipants: '0' }, 53107],
      [{ MaxParticipantDuration: '10' }, 53109],
      [{ MaxParticipantDuration: '86401' }, 53109],
      [{ EmptyRoomTimeout: '0' }, 53109],
      [{ UnusedRoomTimeout: '61' }, 53109],
      [{ UnusedRoomTimeout: 'soon' }, 53109],
      [{ StatusCallback: 'ftp://hooks.example.com' }, 53111],
      [{ StatusCallback: 'not a url' }, 53111],
      [{ StatusCallbackMethod: 'PUT' }, 53110],
      [{ ClientRoomCreation: 'yes' }, 70002],
      [{ MediaRegion: 'mars' }, 53115],
      [{ MediaRegion: 'de1' }, 53116],
      [{ UniqueName: 'x' }, 20001],
      [{ Type: 'go', EmptyRoomTimeout: '99' }, 53109],
    ];
    for (const [form, code] of cases) {
      const res = await settings(form);
      expect(res.status, JSON.stringify(form)).toBe(400);
      expect(res.body, JSON.stringify(form)).toMatchObject({ code, status: 400 });
    }
    const twice = await api('POST', '/v1/Settings/Rooms', 'Type=go&Type=group', { auth: AUTH2 });
    expect(twice.body.code).toBe(70002);
    const json = await api('POST', '/v1/Settings/Rooms', '{"Type":"go"}', { auth: AUTH2, headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    expect((await settings()).body).toEqual(before);
  });

  it('with ClientRoomCreation=false a client connecting to a new name gets 53103; REST rooms still work', async () => {
    expect((await settings({ ClientRoomCreation: 'false' })).body.client_room_creation).toBe(false);
    const name = uniqueName('no-adhoc');
    const refused = await connectSecond(name, 'alice');
    expect(refused.answer).toMatchObject({ type: 'error', code: 53103 });
    await refused.client.waitClosed();
    expect((await api('GET', `/v1/Rooms?UniqueName=${name}`, undefined, { auth: AUTH2 })).body.rooms).toEqual([]);

    const room = (await createRoom2()).body;
    const joined = await connectSecond(room.unique_name, 'alice');
    expect(joined.answer).toMatchObject({ type: 'connected', sid: room.sid });

    // Back on: ad-hoc rooms come back, with the account's settings.
    await settings({ ClientRoomCreation: 'true', Type: 'group-small' });
    const adHocName = uniqueName('adhoc');
    const adHoc = await connectSecond(adHocName, 'bob');
    expect(adHoc.answer.type).toBe('connected');
    const created = await api('GET', `/v1/Rooms/${adHoc.answer.sid}`, undefined, { auth: AUTH2 });
    expect(created.body).toMatchObject({ type: 'group-small', max_participants: 4, unique_name: adHocName });
    await settings({ Type: 'group' });
  });
});

describe('ROOM_DEFAULTS', () => {
  const withDefaults = (json: string) => ({ ...env, ROOM_DEFAULTS: json }) as Env;

  it('configures the defaults in the JSON fields of the settings resource', () => {
    const defaults = configuredDefaults(
      withDefaults('{"type":"peer-to-peer","max_participants":6,"client_room_creation":false,"status_callback":"https://cb.example.com","empty_room_timeout":2}'),
    );
    expect(defaults).toMatchObject({
      type: 'peer-to-peer',
      maxParticipants: 6,
      clientRoomCreation: false,
      statusCallback: 'https://cb.example.com',
      emptyRoomTimeout: 2,
      unusedRoomTimeout: 5,
      mediaRegion: 'us1',
    });
    expect(configuredDefaults(withDefaults('{"status_callback":null,"max_participants":null}'))).toMatchObject({ statusCallback: null, maxParticipants: 0 });
    expect(configuredDefaults(env as Env)).toMatchObject({ type: 'group', clientRoomCreation: true });
    // A settings answer pasted as it is.
    const pasted = JSON.stringify({ account_sid: 'AC00000000000000000000000000000001', ...BUILT_IN, type: 'go', url: 'https://host/v1/Settings/Rooms' });
    expect(configuredDefaults(withDefaults(pasted))).toMatchObject({ type: 'go', maxParticipants: 0 });
  });

  it('refuses a bad configuration with a message that says what is wrong', () => {
    expect(() => configuredDefaults(withDefaults('{"type":'))).toThrow(/ROOM_DEFAULTS is invalid/);
    expect(() => configuredDefaults(withDefaults('[]'))).toThrow(/JSON object/);
    expect(() => configuredDefaults(withDefaults('{"colour":"red"}'))).toThrow(/unknown field colour/);
    expect(() => configuredDefaults(withDefaults('{"type":"huge"}'))).toThrow(/RoomType is not valid/);
    expect(() => configuredDefaults(withDefaults('{"empty_room_timeout":{"minutes":3}}'))).toThrow(/must be a string, number, boolean or null/);
  });

  it("lies under the account's saved settings", async () => {
    const account = 'AC00000000000000000000000000000003';
    const e = withDefaults('{"type":"go","unused_room_timeout":30}');
    expect(await roomDefaults(e, account)).toMatchObject({ type: 'go', unusedRoomTimeout: 30 });
    await env.CATALOG.get(env.CATALOG.idFromName(account)).updateRoomSettings({ type: 'group' });
    expect(await roomDefaults(e, account)).toMatchObject({ type: 'group', unusedRoomTimeout: 30 });
  });
});
