/**
 * What twilio-video builds on a group room's media server, with the unmodified SDK in Chromium:
 * the dominant speaker, network quality levels, and track switch-off (bandwidth profiles), each
 * served by the media server on the data channels the client asked for in `connect`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../node/support/media-server';
import { ClientPool, launchBrowser, sidsOf, uniqueRoom, waitUntil, type TestClient } from './support/browser';
import type { HarnessEvent } from './support/harness-api';
import { LossyRelay } from './support/lossy-relay';

/** Every connection on one UDP port, so a relay in front of it can carry one participant's media. */
const SFU_PORT = 47_310;

let sfu: MediaServer;
let atrium: AtriumServer;
let browser: Browser;
let clients: ClientPool;

beforeAll(async () => {
  sfu = await startMediaServer({ env: { SFU_RTC_PORT_MIN: String(SFU_PORT), SFU_RTC_PORT_MAX: String(SFU_PORT), SFU_ANNOUNCED_ADDRESSES: '127.0.0.1' } });
  [atrium, browser] = await Promise.all([startAtrium({ vars: sfu.vars }), launchBrowser()]);
  clients = new ClientPool(browser, atrium.url);
});

afterAll(async () => {
  await clients?.closeAll();
  await browser?.close();
  await atrium?.stop();
  await sfu?.stop();
});

const FEATURES = { dominantSpeaker: true, networkQuality: { local: 1, remote: 1 } };

type EventOf<T extends HarnessEvent['type']> = Extract<HarnessEvent, { type: T }>;
const isType =
  <T extends HarnessEvent['type']>(type: T, match: (e: EventOf<T>) => boolean = () => true) =>
  (e: HarnessEvent): e is EventOf<T> =>
    e.type === type && match(e as EventOf<T>);

/** Video bytes `client` receives on `trackSid` over `ms`. */
async function videoBytesOver(client: TestClient, trackSid: string, ms: number): Promise<number> {
  const before = (await client.videoBytesReceived())[trackSid] ?? 0;
  await new Promise((r) => setTimeout(r, ms));
  return ((await client.videoBytesReceived())[trackSid] ?? 0) - before;
}

/** Each session's level at the media server, and its paths' levels with their figures: for failure messages. */
async function qualityAtServer(): Promise<string> {
  type Path = { fractionLost: { fractionLost: number | null }; latency: { jitter: number | null; rtt: number | null }; bandwidth: { available: number | null } };
  type Kind = { send: number; recv: number; sendStats: Path; recvStats: Path };
  type Quality = { level: number; audio: Kind; video: Kind } | null;
  const stats = (await sfu.call<{ detail: { sessions: { id: string; signaling: { quality: Quality } }[] }[] }>('GET', '/v1/stats')).body;
  const path = (p: Path) => `loss ${p.fractionLost.fractionLost?.toFixed(3)} rtt ${p.latency.rtt} jitter ${p.latency.jitter?.toFixed(3)} available ${p.bandwidth.available}`;
  return stats.detail
    .flatMap((r) => r.sessions)
    .map(({ id, signaling: { quality: q } }) =>
      q ? `${id}: ${q.level} [audio ${q.audio.send}/${q.audio.recv} (${path(q.audio.sendStats)} | ${path(q.audio.recvStats)}), video ${q.video.send}/${q.video.recv} (${path(q.video.sendStats)} | ${path(q.video.recvStats)})]` : `${id}: none`,
    )
    .join('; ');
}

describe('the dominant speaker', () => {
  it('is the one participant whose microphone is on, within 5 s, and it stays', async () => {
    const room = uniqueRoom('speaker');
    const [alice, bob, carol] = await Promise.all([clients.open(), clients.open(), clients.open()]);
    await alice.join('alice', room, { video: false, data: false, connectOptions: FEATURES });
    await bob.join('bob', room, { video: false, data: false, connectOptions: FEATURES });
    await carol.join('carol', room, { video: false, data: false, connectOptions: FEATURES });
    await bob.setMicrophoneEnabled(false);
    await carol.setMicrophoneEnabled(false);
    const mutedAt = Date.now();
    for (const listener of [bob, carol]) {
      await waitUntil(async () => ((await listener.dominantSpeaker()) === 'alice' ? true : undefined), 5_000, () => `${listener.identity} to see alice as dominant speaker`);
    }
    const within = Date.now() - mutedAt;
    // It stays: nobody else is announced for the next 5 s.
    await new Promise((r) => setTimeout(r, 5_000));
    for (const listener of [bob, carol]) {
      const later = (await listener.events()).filter(isType('dominantSpeakerChanged', (e) => e.at > mutedAt + within));
      expect(later.map((e) => e.identity)).toEqual([]);
      expect(await listener.dominantSpeaker()).toBe('alice');
    }
    console.log(`dominant speaker seen by everyone ${within} ms after the others muted`);
    await Promise.all([alice, bob, carol].map((c) => c.close()));
  });
});

describe('network quality', () => {
  it('gives everyone a level within 10 s, and a participant with a lossy uplink a lower one than the others', async () => {
    const room = uniqueRoom('quality');
    // Carol reaches the media server through a relay that loses 20 % of the media she sends.
    const relay = await LossyRelay.start({ host: '127.0.0.1', port: SFU_PORT }, 0.2);
    try {
      const [alice, bob, carol] = await Promise.all([clients.open(), clients.open(), clients.open()]);
      // Pages and tests share the machine's clock: an event's `at` compares with Date.now() here.
      const joinedAt: Record<string, number> = {};
      const join = async (c: TestClient, identity: string, extra: { candidatePorts?: Record<string, number> } = {}) => {
        await c.join(identity, room, { data: false, connectOptions: FEATURES, ...extra });
        joinedAt[identity] = Date.now();
      };
      await join(alice, 'alice');
      await join(bob, 'bob');
      await join(carol, 'carol', { candidatePorts: { [SFU_PORT]: relay.port } });
      // Each gets a level within 10 s of its connect() resolving.
      const firstLevelMs: Record<string, number> = {};
      for (const c of [alice, bob, carol]) {
        const first = await c.waitForEvent(isType('networkQualityLevelChanged', (e) => e.local && e.level !== null), `${c.identity}'s first network quality level`, 10_000);
        firstLevelMs[c.identity] = first.at - joinedAt[c.identity]!;
      }
      // Levels follow what was measured over the last seconds: carol's falls, the others' stay up.
      let last: unknown;
      let serverQuality = '';
      const levels = await waitUntil(
        async () => {
          const [a, b, c] = await Promise.all([alice.networkQuality(), bob.networkQuality(), carol.networkQuality()]);
          last = { alice: a, bob: b, carol: c };
          serverQuality = await qualityAtServer();
          const known = [a.local, b.local, c.local, a.remote.carol, a.remote.bob].every((level) => typeof level === 'number');
          return known && c.local! < Math.min(a.local!, b.local!) && a.remote.carol! < a.remote.bob! ? { alice: a, bob: b, carol: c } : undefined;
        },
        20_000,
        () => `carol to have a lower level than alice and bob, in her view and in theirs; last ${JSON.stringify(last)}, at the media server ${serverQuality}`,
        500,
      );
      expect(relay.counts.dropped).toBeGreaterThan(0);
      for (const ms of Object.values(firstLevelMs)) expect(ms).toBeLessThan(10_000);
      console.log(`first level after joining (ms): ${JSON.stringify(firstLevelMs)}; then ${JSON.stringify(levels)}; relay ${JSON.stringify(relay.counts)}`);
      await Promise.all([alice, bob, carol].map((c) => c.close()));
    } finally {
      relay.close();
    }
  });
});

describe('track switch-off', () => {
  it('switchOff() stops the bytes of a remote video and fires switchedOff; switchOn() resumes them', async () => {
    const room = uniqueRoom('switchoff');
    const [alice, bob] = await Promise.all([clients.open(), clients.open()]);
    await alice.join('alice', room, { data: false });
    await bob.join('bob', room, { data: false, connectOptions: { bandwidthProfile: { video: { clientTrackSwitchOffControl: 'manual', contentPreferencesMode: 'manual' } } } });
    const [video] = sidsOf(await bob.waitForSubscriptions([{ identity: 'alice', kind: 'video' }]), 'alice', 'video');
    await bob.expectVideoFlowing([video!]);

    const offAt = Date.now();
    await bob.switchVideo(video!, false);
    await bob.waitForEvent(isType('trackSwitchedOff', (e) => e.trackSid === video), 'trackSwitchedOff for alice\'s video', 5_000);
    expect(await bob.isSwitchedOff(video!)).toBe(true);
    // What was in flight arrives; then nothing.
    await new Promise((r) => setTimeout(r, 500));
    const whileOff = await videoBytesOver(bob, video!, 3_000);
    expect(whileOff).toBeLessThan(500);

    await bob.switchVideo(video!, true);
    await bob.waitForEvent(isType('trackSwitchedOn', (e) => e.trackSid === video && e.at > offAt), 'trackSwitchedOn for alice\'s video', 5_000);
    await bob.expectVideoFlowing([video!], { minBytes: 10_000 });
    expect(await bob.isSwitchedOff(video!)).toBe(false);
    await Promise.all([alice, bob].map((c) => c.close()));
  });

  it('switches off low-priority video first when a subscriber cannot receive everything', async () => {
    const room = uniqueRoom('priority');
    const [alice, bob, carol] = await Promise.all([clients.open(), clients.open(), clients.open()]);
    // Each camera capped at 150 kbit/s: carol's 190 kbit/s takes one of them, never both.
    const publisher = { data: false, connectOptions: { maxVideoBitrate: 150_000 } };
    await alice.join('alice', room, publisher);
    await bob.join('bob', room, publisher);
    await alice.setPublishPriority('video', 'high');
    await bob.setPublishPriority('video', 'low');
    await carol.join('carol', room, {
      video: false,
      data: false,
      connectOptions: { bandwidthProfile: { video: { maxSubscriptionBitrate: 190_000, clientTrackSwitchOffControl: 'manual', contentPreferencesMode: 'manual' } } },
    });
    const subs = await carol.waitForSubscriptions([{ identity: 'alice', kind: 'video' }, { identity: 'bob', kind: 'video' }]);
    const [high] = sidsOf(subs, 'alice', 'video');
    const [low] = sidsOf(subs, 'bob', 'video');
    // Switched off before carol's client had the track: it starts switched off (the client caches
    // the state of sids it does not know yet, and fires no event for the initial state).
    await waitUntil(async () => ((await carol.isSwitchedOff(low!)) ? true : undefined), 10_000, () => "bob's low-priority video to be switched off at carol");
    await carol.expectVideoFlowing([high!]);
    expect(await carol.isSwitchedOff(low!)).toBe(true);
    expect(await carol.isSwitchedOff(high!)).toBe(false);
    const offEvents = (await carol.events()).filter(isType('trackSwitchedOff'));
    expect(offEvents.map((e) => e.trackSid)).not.toContain(high);
    expect(await videoBytesOver(carol, low!, 2_000)).toBeLessThan(500);

    // The publishers swap priorities mid-call: the switch follows.
    const swappedAt = Date.now();
    await alice.setPublishPriority('video', 'low');
    await bob.setPublishPriority('video', 'high');
    await carol.waitForEvent(isType('trackSwitchedOn', (e) => e.trackSid === low && e.at >= swappedAt), "bob's video switched on once it is high priority", 10_000);
    await carol.waitForEvent(isType('trackSwitchedOff', (e) => e.trackSid === high && e.at >= swappedAt), "alice's video switched off once it is low priority", 10_000);
    await carol.expectVideoFlowing([low!]);
    await Promise.all([alice, bob, carol].map((c) => c.close()));
  });
});
