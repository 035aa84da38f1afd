import { describe, expect, it } from 'vitest';
import { ACCOUNT_SID, api, createRoom, ORIGIN, uniqueName } from './support/rest';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('POST /v1/Rooms', () => {
  it('creates a room and returns every field of the Room resource', async () => {
    const name = uniqueName();
    const res = await api('POST', '/v1/Rooms', { UniqueName: name });
    expect(res.status).toBe(201);
    const room = res.body;
    expect(room.sid).toMatch(/^RM[0-9a-f]{32}$/);
    expect(Object.keys(room).sort()).toEqual(
      [
        'account_sid', 'audio_only', 'date_created', 'date_updated', 'duration', 'empty_room_timeout', 'enable_turn',
        'end_time', 'large_room', 'links', 'max_concurrent_published_tracks', 'max_participant_duration',
        'max_participants', 'media_region', 'record_participants_on_connect', 'sid', 'status', 'status_callback',
        'status_callback_method', 'type', 'unique_name', 'unused_room_timeout', 'url', 'video_codecs',
      ].sort(),
    );
    expect(room).toMatchObject({
      status: 'in-progress',
      account_sid: ACCOUNT_SID,
      unique_name: name,
      type: 'group',
      enable_turn: true,
      max_participants: 50,
      max_participant_duration: 14400,
      status_callback: null,
      status_callback_method: 'POST',
      end_time: null,
      duration: null,
      empty_room_timeout: 5,
      unused_room_timeout: 5,
      video_codecs: ['VP8'],
      audio_only: false,
      large_room: false,
      record_participants_on_connect: false,
      url: `${ORIGIN}/v1/Rooms/${room.sid}`,
      links: {
        participants: `${ORIGIN}/v1/Rooms/${room.sid}/Participants`,
        recordings: `${ORIGIN}/v1/Rooms/${room.sid}/Recordings`,
        transcriptions: `${ORIGIN}/v1/Rooms/${room.sid}/Transcriptions`,
        recording_rules: `${ORIGIN}/v1/Rooms/${room.sid}/RecordingRules`,
      },
    });
    expect(room.date_created).toMatch(ISO);
    expect(room.date_updated).toMatch(ISO);
    expect(typeof room.media_region).toBe('string');
    expect(typeof room.max_concurrent_published_tracks).toBe('number');
  });

  it('takes every parameter the spec lists', async () => {
    const res = await createRoom({
      Type: 'group-small',
      StatusCallback: 'http://127.0.0.1:9/cb?x=1',
      StatusCallbackMethod: 'GET',
      MaxParticipants: '3',
      RecordParticipantsOnConnect: 'false',
      TranscribeParticipantsOnConnect: 'false',
      VideoCodecs: ['VP8', 'H264'],
      MediaRegion: 'ie1',
      RecordingRules: JSON.stringify([{ type: 'exclude', all: true }]),
      TranscriptionsConfiguration: JSON.stringify({ languageCode: 'en-US' }),
      AudioOnly: 'false',
      MaxParticipantDuration: '600',
      EmptyRoomTimeout: '1',
      UnusedRoomTimeout: '60',
      LargeRoom: 'false',
      EnableTurn: 'true',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'group-small',
      status_callback: 'http://127.0.0.1:9/cb?x=1',
      status_callback_method: 'GET',
      max_participants: 3,
      video_codecs: ['VP8', 'H264'],
      media_region: 'ie1',
      max_participant_duration: 600,
      empty_room_timeout: 1,
      unused_room_timeout: 60,
    });
  });

  it('uses the room sid as the unique name when none is given', async () => {
    const res = await api('POST', '/v1/Rooms', {});
    expect(res.status).toBe(201);
    expect(res.body.unique_name).toBe(res.body.sid);
    const fetched = await api('GET', `/v1/Rooms/${res.body.sid}`);
    expect(fetched.body.unique_name).toBe(res.body.sid);
  });

  it('accepts an empty body with no content type (curl -X POST)', async () => {
    const res = await api('POST', '/v1/Rooms');
    expect(res.status).toBe(201);
  });

  it('sets audio-only rooms to no video codecs', async () => {
    const res = await createRoom({ AudioOnly: 'true' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ audio_only: true, video_codecs: [] });
  });

  it.each([
    ['go', 2],
    ['peer-to-peer', 10],
    ['group-small', 4],
    ['group', 50],
  ])('defaults MaxParticipants of %s rooms to its cap %i and rejects one more with 53107', async (type, cap) => {
    const ok = await createRoom({ Type: type });
    expect(ok.status).toBe(201);
    expect(ok.body.max_participants).toBe(cap);
    const over = await createRoom({ Type: type, MaxParticipants: String(cap + 1) });
    expect(over.status).toBe(400);
    expect(over.body.code).toBe(53107);
  });

  // Each row: parameters, expected Twilio code, HTTP status.
  const invalid: [string, Record<string, string | string[]>, number][] = [
    ['empty name', { UniqueName: '' }, 53100],
    ['sid-like name', { UniqueName: 'RM0123456789abcdef0123456789abcdef' }, 53100],
    ['name over 128 characters', { UniqueName: 'x'.repeat(129) }, 53101],
    ['name with a control character', { UniqueName: 'bad\u0001name' }, 53102],
    ['name with a newline', { UniqueName: 'bad\nname' }, 53102],
    ['unknown type', { Type: 'huge' }, 53108],
    ['MaxParticipants 0', { MaxParticipants: '0' }, 53107],
    ['MaxParticipants not a number', { MaxParticipants: 'ten' }, 53107],
    ['MaxParticipants huge', { MaxParticipants: '99999999999999999999' }, 53107],
    ['EmptyRoomTimeout 0', { EmptyRoomTimeout: '0' }, 53109],
    ['EmptyRoomTimeout 61', { EmptyRoomTimeout: '61' }, 53109],
    ['UnusedRoomTimeout 0', { UnusedRoomTimeout: '0' }, 53109],
    ['UnusedRoomTimeout fraction', { UnusedRoomTimeout: '1.5' }, 53109],
    ['MaxParticipantDuration too long', { MaxParticipantDuration: '86401' }, 53109],
    ['MaxParticipantDuration too short', { MaxParticipantDuration: '10' }, 53109],
    ['StatusCallbackMethod PUT', { StatusCallbackMethod: 'PUT' }, 53110],
    ['StatusCallback not a URL', { StatusCallback: 'not a url' }, 53111],
    ['StatusCallback ftp', { StatusCallback: 'ftp://example.com/x' }, 53111],
    ['StatusCallback too long', { StatusCallback: 'https://example.com/' + 'a'.repeat(5000) }, 53111],
    ['AudioOnly on peer-to-peer', { Type: 'peer-to-peer', AudioOnly: 'true' }, 53114],
    ['LargeRoom on go', { Type: 'go', LargeRoom: 'true' }, 53114],
    ['recording on peer-to-peer', { Type: 'peer-to-peer', RecordParticipantsOnConnect: 'true' }, 53114],
    ['unknown MediaRegion', { MediaRegion: 'mars1' }, 53115],
    ['unknown parameter', { Colour: 'blue' }, 20001],
    ['wrongly cased parameter', { uniquename: 'x' }, 20001],
    ['boolean that is not', { AudioOnly: 'yes' }, 70002],
    ['bad codec', { VideoCodecs: 'VP9' }, 70002],
    ['RecordingRules not JSON', { RecordingRules: '[{' }, 53120],
    ['repeated scalar', { UniqueName: ['a', 'b'] }, 70002],
  ];
  it.each(invalid)('rejects %s', async (_label, form, code) => {
    const res = await api('POST', '/v1/Rooms', form);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      code,
      message: expect.any(String),
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status: 400,
    });
  });

  it('rejects a region this deployment does not serve with 53116', async () => {
    // The test configuration serves only us1 and ie1 (vitest.config.ts).
    const res = await createRoom({ MediaRegion: 'jp1' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(53116);
  });

  it('accepts 128-character and non-ASCII names', async () => {
    const long = await api('POST', '/v1/Rooms', { UniqueName: 'é'.repeat(64) + 'x'.repeat(63) + '🎥' });
    expect(long.status).toBe(201);
    const fetched = await api('GET', `/v1/Rooms/${encodeURIComponent(long.body.unique_name)}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.sid).toBe(long.body.sid);
  });
});
