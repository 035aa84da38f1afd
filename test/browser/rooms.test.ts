/**
 * Peer-to-peer rooms end to end: unmodified twilio-video 2.36.0 clients in headless Chromium,
 * connected to a real Atrium (`wrangler dev`) exactly as the demo connects them. Media flows browser
 * to browser; these tests prove that Atrium's signaling gets the SDK there and keeps it there.
 * (Group rooms, through the media server, are group-rooms.test.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { ClientPool, launchBrowser, mintToken, sidsOf, uniqueRoom, type TestClient } from './support/browser';
import type { HarnessEvent, MediaKind } from './support/harness-api';

const TRACK_SID = /^MT[0-9a-f]{32}$/;
const ROOM_SID = /^RM[0-9a-f]{32}$/;
const KINDS: MediaKind[] = ['audio', 'video', 'data'];

let atrium: AtriumServer;
let browser: Browser;

beforeAll(async () => {
  [atrium, browser] = await Promise.all([startAtrium({ vars: { ROOM_DEFAULTS: JSON.stringify({ type: 'peer-to-peer' }) } }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await atrium?.stop();
});

/** Every kind of every other participant, as waitForSubscriptions wants it. */
const allTracksOf = (...identities: string[]) => identities.flatMap((identity) => KINDS.map((kind) => ({ identity, kind })));

const isDisconnected = (e: HarnessEvent): e is Extract<HarnessEvent, { type: 'disconnected' }> => e.type === 'disconnected';

describe('a room of three', () => {
  const room = uniqueRoom('trio');
  let clients: ClientPool;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;

  beforeAll(async () => {
    clients = new ClientPool(browser, atrium.url);
    [alice, bob, carol] = await Promise.all([clients.open(), clients.open(), clients.open()]);
    // One after another: each join then also exercises "someone new arrives" for those present.
    const first = await alice.join('alice', room);
    expect(first.roomSid).toMatch(ROOM_SID);
    expect(first.participantSid).toMatch(/^PA[0-9a-f]{32}$/);
    for (const kind of KINDS) expect(first.localTrackSids[kind]).toEqual([expect.stringMatching(TRACK_SID)]);
    const second = await bob.join('bob', room);
    const third = await carol.join('carol', room);
    expect([second.roomSid, third.roomSid]).toEqual([first.roomSid, first.roomSid]);
  });

  afterAll(async () => {
    await clients?.closeAll();
  });

  it("each subscribes to the others' audio, video and data, and video flows", async () => {
    const [forAlice, forBob, forCarol] = await Promise.all([
      alice.waitForSubscriptions(allTracksOf('bob', 'carol')),
      bob.waitForSubscriptions(allTracksOf('alice', 'carol')),
      carol.waitForSubscriptions(allTracksOf('alice', 'bob')),
    ]);
    await Promise.all([
      alice.expectVideoFlowing([...sidsOf(forAlice, 'bob', 'video'), ...sidsOf(forAlice, 'carol', 'video')]),
      bob.expectVideoFlowing([...sidsOf(forBob, 'alice', 'video'), ...sidsOf(forBob, 'carol', 'video')]),
      carol.expectVideoFlowing([...sidsOf(forCarol, 'alice', 'video'), ...sidsOf(forCarol, 'bob', 'video')]),
    ]);
  });

  it('delivers data track messages to the others, with the sender identity', async () => {
    expect(await alice.send('hello from alice')).toBe(1);
    expect(await bob.send('hello from bob')).toBe(1);
    const from = (sender: string, data: string) => (e: HarnessEvent) => e.type === 'message' && e.from === sender && e.data === data;
    await Promise.all([
      bob.waitForEvent(from('alice', 'hello from alice'), "alice's message"),
      carol.waitForEvent(from('alice', 'hello from alice'), "alice's message"),
      alice.waitForEvent(from('bob', 'hello from bob'), "bob's message"),
      carol.waitForEvent(from('bob', 'hello from bob'), "bob's message"),
    ]);
    // A data track does not echo to its sender.
    expect((await alice.events()).filter((e) => e.type === 'message' && e.from === 'alice')).toEqual([]);
  });

  it('resolves a late publishTrack with an MT sid and delivers the track to the others', async () => {
    const published = await alice.publish('video', 'late-camera');
    if (!published.ok) throw new Error(`publishTrack failed: ${published.code} ${published.message}`);
    expect(published.trackSid).toMatch(TRACK_SID);
    expect(published.name).toBe('late-camera');
    const isLateTrack = (e: HarnessEvent) => e.type === 'trackSubscribed' && e.trackSid === published.trackSid;
    const [atBob, atCarol] = await Promise.all([
      bob.waitForEvent(isLateTrack, "alice's late track"),
      carol.waitForEvent(isLateTrack, "alice's late track"),
    ]);
    for (const event of [atBob, atCarol]) expect(event).toMatchObject({ identity: 'alice', kind: 'video', trackName: 'late-camera' });
    await Promise.all([bob.expectVideoFlowing([published.trackSid]), carol.expectVideoFlowing([published.trackSid])]);
  });

  it('shows a leave to the others and unsubscribes them from its tracks', async () => {
    const carolsTracks = new Set([...(await alice.waitForSubscriptions(allTracksOf('carol')))].filter(([, who]) => who.startsWith('carol/')).map(([sid]) => sid));
    await carol.disconnect();
    for (const other of [alice, bob]) {
      await other.waitForEvent((e) => e.type === 'participantDisconnected' && e.identity === 'carol', "carol's leave");
    }
    const unsubscribed = (await alice.events()).filter((e) => e.type === 'trackUnsubscribed' && e.identity === 'carol');
    expect(new Set(unsubscribed.map((e) => (e.type === 'trackUnsubscribed' ? e.trackSid : '')))).toEqual(carolsTracks);
    // A local leave is not an error.
    expect(await carol.waitForEvent(isDisconnected, 'its own disconnect')).toMatchObject({ code: null });
    expect(await alice.roomState()).toBe('connected');
  });
});

describe('rooms of two', () => {
  let clients: ClientPool;

  beforeAll(() => {
    clients = new ClientPool(browser, atrium.url);
  });

  afterEach(async () => {
    await clients.closeAll();
  });

  /** Two participants in a fresh room who already see each other's audio, video and data. */
  async function pair(a: string, b: string): Promise<{ room: string; roomSid: string; first: TestClient; second: TestClient; videoOf: Record<string, string> }> {
    const room = uniqueRoom('pair');
    const [first, second] = await Promise.all([clients.open(), clients.open()]);
    const { roomSid } = await first.join(a, room);
    await second.join(b, room);
    const [atFirst, atSecond] = await Promise.all([
      first.waitForSubscriptions(allTracksOf(b)),
      second.waitForSubscriptions(allTracksOf(a)),
    ]);
    const videoOf = { [b]: sidsOf(atFirst, b, 'video')[0]!, [a]: sidsOf(atSecond, a, 'video')[0]! };
    return { room, roomSid, first, second, videoOf };
  }

  it('settles simultaneous publishes on both sides (glare) and delivers both tracks', async () => {
    const { first: dave, second: erin } = await pair('dave', 'erin');
    const [fromDave, fromErin] = await Promise.all([dave.publish('video', 'glare-dave'), erin.publish('video', 'glare-erin')]);
    if (!fromDave.ok || !fromErin.ok) throw new Error(`publish failed: ${JSON.stringify([fromDave, fromErin])}`);
    expect([fromDave.trackSid, fromErin.trackSid]).toEqual([expect.stringMatching(TRACK_SID), expect.stringMatching(TRACK_SID)]);
    await Promise.all([
      erin.waitForEvent((e) => e.type === 'trackSubscribed' && e.trackSid === fromDave.trackSid, "dave's glare track"),
      dave.waitForEvent((e) => e.type === 'trackSubscribed' && e.trackSid === fromErin.trackSid, "erin's glare track"),
    ]);
    await Promise.all([erin.expectVideoFlowing([fromDave.trackSid]), dave.expectVideoFlowing([fromErin.trackSid])]);
  });

  it('reconnects a client whose signaling socket dropped, with media and data still flowing', async () => {
    const { first: frank, second: gina, videoOf } = await pair('frank', 'gina');
    expect(await frank.dropSignaling()).toBeGreaterThanOrEqual(1);
    const reconnecting = await frank.waitForEvent((e) => e.type === 'reconnecting', 'reconnecting');
    const reconnected = await frank.waitForEvent((e) => e.type === 'reconnected', 'reconnected', 20_000);
    expect(reconnected.at).toBeGreaterThanOrEqual(reconnecting.at);
    expect(reconnecting).toMatchObject({ code: 53001 }); // SignalingConnectionDisconnectedError
    expect(await frank.roomState()).toBe('connected');
    await Promise.all([frank.expectVideoFlowing([videoOf.gina!]), gina.expectVideoFlowing([videoOf.frank!])]);
    expect(await frank.send('still here')).toBe(1);
    await gina.waitForEvent((e) => e.type === 'message' && e.from === 'frank' && e.data === 'still here', "frank's message after reconnecting");
    expect((await gina.events()).filter((e) => e.type === 'participantDisconnected')).toEqual([]);
  });

  it('disconnects the first of two participants with the same identity with 53205', async () => {
    const room = uniqueRoom('dup');
    const [first, second] = await Promise.all([clients.open(), clients.open()]);
    await first.join('twin', room);
    await second.join('twin', room);
    expect(await first.waitForEvent(isDisconnected, 'its disconnect by the duplicate')).toMatchObject({ code: 53205 });
    expect(await second.roomState()).toBe('connected');
  });

  it('rejects bad, expired and wrong-room tokens with their codes', async () => {
    const client = await clients.open();
    const room = uniqueRoom('tokens');
    const noMedia = { audio: false, video: false, data: false };
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, number][] = [
      ['bad signature', await mintToken({ identity: 'mallory', room, apiKeySecret: 'not-the-secret' }), 20107],
      ['expired', await mintToken({ identity: 'mallory', room, nowSeconds: now - 7200, ttlSeconds: 3600 }), 20104],
      ['wrong room', await mintToken({ identity: 'mallory', room: 'another-room' }), 20106],
    ];
    for (const [label, token, code] of cases) {
      const result = await client.connect('mallory', room, { ...noMedia, token });
      expect({ label, ok: result.ok, code: result.ok ? null : result.code }).toEqual({ label, ok: false, code });
    }
  });

  it('disconnects everyone with 53118 when the room is completed over REST', async () => {
    const { roomSid, first, second } = await pair('hank', 'ida');
    const res = await fetch(`${atrium.url}/v1/Rooms/${roomSid}`, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${DEV_CREDENTIALS.accountSid}:${DEV_CREDENTIALS.authToken}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'Status=completed',
    });
    expect(res.status).toBe(202); // Twilio answers a room update with 202 Accepted
    expect(await res.json()).toMatchObject({ sid: roomSid, status: 'completed' });
    for (const client of [first, second]) {
      expect(await client.waitForEvent(isDisconnected, 'the room completing')).toMatchObject({ code: 53118 });
    }
  });
});
