/// <reference types="node" />
/**
 * Participants, their tracks and subscribe rules as the official `twilio` helper sees them, with
 * real participants: WebSockets from Node speaking twilio-video's signaling protocol. Unmodified
 * twilio-node lists, fetches, pages and kicks participants and reads and sets subscribe rules
 * exactly as it would against Twilio, and the participants' clients feel the effect.
 */
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from './support/atrium-server';
import { restError } from './support/rest-error';
import { SignalingClient, track } from './support/signaling-client';

const { accountSid, apiKeySid, apiKeySecret } = DEV_CREDENTIALS;

let atrium: AtriumServer;
let client: twilio.Twilio;
let counter = 0;
const open: SignalingClient[] = [];

/** A room name no other test uses: the server is shared by the whole file. */
const uniqueName = (label: string): string => `${label}-${Date.now().toString(36)}-${++counter}`;

async function join(room: string, identity: string, tracks: ReturnType<typeof track>[] = []): Promise<SignalingClient> {
  const socket = await SignalingClient.join(atrium.url, room, identity, { tracks });
  open.push(socket);
  return socket;
}

beforeAll(async () => {
  atrium = await startAtrium();
  client = twilio(apiKeySid, apiKeySecret, { accountSid });
  client.video.baseUrl = atrium.url;
});

afterEach(() => {
  for (const socket of open.splice(0)) socket.terminate();
});

afterAll(async () => {
  await atrium?.stop();
});

describe('participants through twilio-node', () => {
  it('lists, filters, pages and fetches participants by sid or identity', async () => {
    const room = await client.video.v1.rooms.create({ uniqueName: uniqueName('list') });
    const alice = await join(room.uniqueName, 'alice');
    await join(room.uniqueName, 'bob');
    const aliceSid = alice.connected.participant.sid as string;

    const participants = await client.video.v1.rooms(room.sid).participants.list();
    expect(participants.map((p) => p.identity).sort()).toEqual(['alice', 'bob']);
    for (const p of participants) {
      expect(p).toMatchObject({ roomSid: room.sid, accountSid, status: 'connected', endTime: null, duration: null });
      expect(p.sid).toMatch(/^PA[0-9a-f]{32}$/);
      expect(p.startTime).toBeInstanceOf(Date);
      expect(Math.abs(p.dateCreated.getTime() - Date.now())).toBeLessThan(60_000);
      expect(p.url).toBe(`${atrium.url}/v1/Rooms/${room.sid}/Participants/${p.sid}`);
    }

    // Filters, and list() walking pages of one through next_page_url.
    const onlyAlice = await client.video.v1.rooms(room.uniqueName).participants.list({ identity: 'alice' });
    expect(onlyAlice.map((p) => p.sid)).toEqual([aliceSid]);
    expect(await client.video.v1.rooms(room.sid).participants.list({ status: 'disconnected' })).toEqual([]);
    expect(await client.video.v1.rooms(room.sid).participants.list({ dateCreatedAfter: new Date(Date.now() + 60_000) })).toEqual([]);
    const paged = await client.video.v1.rooms(room.sid).participants.list({ pageSize: 1 });
    expect(paged.map((p) => p.identity).sort()).toEqual(['alice', 'bob']);

    const bySid = await client.video.v1.rooms(room.sid).participants(aliceSid).fetch();
    expect(bySid).toMatchObject({ sid: aliceSid, identity: 'alice', status: 'connected' });
    const byIdentity = await client.video.v1.rooms(room.uniqueName).participants('alice').fetch();
    expect(byIdentity.sid).toBe(aliceSid);

    const missing = await restError(client.video.v1.rooms(room.sid).participants('nobody').fetch());
    expect(missing).toMatchObject({ status: 404, code: 20404 });
  });

  it('kicks a participant with update({ status: "disconnected" }): its socket closes and the others see it leave', async () => {
    const room = await client.video.v1.rooms.create({ uniqueName: uniqueName('kick') });
    const kicked = await join(room.uniqueName, 'kicked');
    const stays = await join(room.uniqueName, 'stays');
    const kickedSid = kicked.connected.participant.sid as string;

    const refused = await restError(client.video.v1.rooms(room.sid).participants(kickedSid).update({ status: 'connected' }));
    expect(refused).toMatchObject({ status: 400, code: 53112 });

    const updated = await client.video.v1.rooms(room.sid).participants(kickedSid).update({ status: 'disconnected' });
    expect(updated).toMatchObject({ sid: kickedSid, status: 'disconnected' });
    expect(updated.endTime).toBeInstanceOf(Date);
    expect(Number.isInteger(updated.duration)).toBe(true);

    expect(await kicked.nextMsg((m) => m.type === 'disconnected')).toEqual({ type: 'disconnected' });
    expect(await kicked.closedByServer()).toBe(true);
    const seen = await stays.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.sid === kickedSid);
    expect(seen.participants[0].state).toBe('disconnected');

    const left = await client.video.v1.rooms(room.sid).participants.list({ status: 'disconnected' });
    expect(left.map((p) => p.sid)).toEqual([kickedSid]);
    expect((await client.video.v1.rooms(room.sid).participants.list()).map((p) => p.identity)).toEqual(['stays']);
  });
});

describe('tracks and subscribe rules through twilio-node', () => {
  it('lists published and subscribed tracks, and changes what a participant receives live', async () => {
    const room = await client.video.v1.rooms.create({ uniqueName: uniqueName('rules') });
    const presenter = await join(room.uniqueName, 'presenter', [track('audio', 'mic'), track('video', 'camera')]);
    const viewer = await join(room.uniqueName, 'viewer');
    const presenterSid = presenter.connected.participant.sid as string;
    const viewerSid = viewer.connected.participant.sid as string;
    const viewerContext = client.video.v1.rooms(room.sid).participants(viewerSid);

    const published = await client.video.v1.rooms(room.sid).participants(presenterSid).publishedTracks.list();
    expect(published.map((t) => [t.name, t.kind, t.enabled]).sort()).toEqual([
      ['camera', 'video', true],
      ['mic', 'audio', true],
    ]);
    const camera = published.find((t) => t.name === 'camera')!;
    const fetched = await client.video.v1.rooms(room.sid).participants('presenter').publishedTracks(camera.sid).fetch();
    expect(fetched).toMatchObject({ sid: camera.sid, participantSid: presenterSid, roomSid: room.sid, name: 'camera' });

    const received = await viewerContext.subscribedTracks.list();
    expect(received.map((t) => [t.name, t.publisherSid, t.participantSid]).sort()).toEqual([
      ['camera', presenterSid, viewerSid],
      ['mic', presenterSid, viewerSid],
    ]);

    const initial = await viewerContext.subscribeRules.fetch();
    expect(initial.participantSid).toBe(viewerSid);
    expect(initial.rules).toEqual([{ type: 'include', all: true, publisher: null, track: null, kind: null, priority: null }]);

    const from = viewer.frames.length;
    const updated = await viewerContext.subscribeRules.update({
      rules: [
        { type: 'include', all: true },
        { type: 'exclude', publisher: 'presenter', kind: 'video' },
      ],
    });
    expect(updated.rules).toEqual([
      { type: 'include', all: true, publisher: null, track: null, kind: null, priority: null },
      { type: 'exclude', all: null, publisher: 'presenter', track: null, kind: 'video', priority: null },
    ]);
    const pushed = await viewer.nextMsg((m) => m.type === 'update' && m.subscribed, 10_000, from);
    expect(pushed.subscribed.revision).toBeGreaterThan(viewer.connected.subscribed.revision);
    expect(pushed.subscribed.tracks.map((t: { sid: string }) => t.sid)).toEqual([published.find((t) => t.name === 'mic')!.sid]);
    expect((await viewerContext.subscribedTracks.list()).map((t) => t.name)).toEqual(['mic']);
    expect((await viewerContext.subscribeRules.fetch()).rules).toEqual(updated.rules);

    const invalid = await restError(viewerContext.subscribeRules.update({ rules: [{ type: 'include', kind: 'screen' }] }));
    expect(invalid).toMatchObject({ status: 400, code: 53215 });
    const empty = await restError(viewerContext.subscribeRules.update({ rules: [] }));
    expect(empty.code).toBe(53215);
  });
});
