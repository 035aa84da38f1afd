/**
 * Media signaling at the media server (src/msp/), end to end with synthetic participants: a
 * session opened with media-signaling features gets one in-band data channel per feature from the
 * server (`atrium.msp.<feature>`), and speaks twilio-video's messages on them: network quality
 * reports answered with levels, render hints and priorities that switch received video off and
 * on, the dominant speaker from the audio levels in published packets. Whatever else arrives on
 * those channels is ignored, and the session carries on.
 */
import { describe, expect, test } from 'vitest';
import type { MediaSignalingFeature } from '../../core/media-signaling';
import { MEDIA_SIGNALING_FEATURES, mediaSignalingLabel } from '../../core/media-signaling';
import { mediaFixture } from './support/fixture';
import type { SyntheticParticipant, SyntheticParticipantOptions } from './support/synthetic-participant';
import { sleep, waitFor } from './support/wait';

const f = mediaFixture();

const ALL: MediaSignalingFeature[] = ['active_speaker', 'network_quality', 'track_switch_off', 'track_priority', 'render_hints'];

type Message = Record<string, any>;

/** A participant asking for every feature; with a data track, so its first offer has an application section. */
function participant(name: string, options: Partial<SyntheticParticipantOptions> = {}): SyntheticParticipant {
  return f.participant(name, { data: true, features: ALL, ...options });
}

/** The messages the server sent on a feature's channel (since `since`), parsed. */
function received(p: SyntheticParticipant, feature: MediaSignalingFeature, since = 0): Message[] {
  return p.messages
    .filter((m) => m.channel === 'remote' && m.label === mediaSignalingLabel(feature) && m.at >= since)
    .map((m) => {
      try {
        return JSON.parse(String(m.data)) as Message;
      } catch {
        return { unparsable: String(m.data) };
      }
    });
}

/** Waits for the server's channel of each feature. */
function channels(p: SyntheticParticipant, features: MediaSignalingFeature[] = ALL): Promise<unknown> {
  return waitFor(`${p.participant}'s media-signaling channels`, () => features.every((x) => p.remoteChannelLabels.includes(mediaSignalingLabel(x))), {
    timeoutMs: 8_000,
    detail: () => ({ labels: p.remoteChannelLabels, state: p.state }),
  });
}

/** Sends `message` (JSON unless it is text or binary already) on the feature's channel, once it is open. */
async function send(p: SyntheticParticipant, feature: MediaSignalingFeature, message: unknown): Promise<void> {
  const data = typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message);
  await waitFor(`${p.participant} to send on ${mediaSignalingLabel(feature)}`, () => p.sendOnRemoteChannel(mediaSignalingLabel(feature), data), { timeoutMs: 5_000 });
}

/** Waits for a message on the feature's channel, after the `after` first ones, that `match` accepts. */
function next(p: SyntheticParticipant, feature: MediaSignalingFeature, after: number, what: string, match: (m: Message) => boolean = () => true): Promise<Message> {
  return waitFor(what, () => received(p, feature).slice(after).find(match), { timeoutMs: 5_000, detail: () => received(p, feature) });
}

const qualityReport = (reportLevel: number, remoteReportLevel: number) => ({ type: 'network_quality', ice: { rtt: 0.01, availableSend: 2_000_000 }, reportLevel, remoteReportLevel });

/** The sid a subscriber's client knows a track by (tracksToSubscribe names them MT<track id>). */
const sidOf = (trackId: string | null): string => `MT${trackId}`;

/** No more packets of `track` arrive at `subscriber` over `ms` (after `settleMs` for those in flight). */
async function expectNoMorePackets(subscriber: SyntheticParticipant, track: string, ms = 700, settleMs = 150): Promise<void> {
  await sleep(settleMs);
  const before = subscriber.packetsOf(track);
  await sleep(ms);
  expect(subscriber.packetsOf(track), `${subscriber.participant} kept receiving ${track}`).toBe(before);
}

describe('channels', () => {
  test('a session with features gets an in-band channel per feature from the server, labelled atrium.msp.<feature>; one without gets none', async () => {
    const a = participant('PAfeat');
    const b = f.participant('PAplain', { data: true });
    await a.join();
    await b.join();
    await a.waitConnected();
    await b.waitConnected();
    await channels(a);
    const labels = a.remoteChannelLabels.filter((l) => l.startsWith('atrium.msp.'));
    expect([...labels].sort()).toEqual(ALL.map((x) => `atrium.msp.${x}`).sort());
    expect(MEDIA_SIGNALING_FEATURES.every((x) => labels.includes(mediaSignalingLabel(x)))).toBe(true);
    // Open both ways: the client can write on each.
    for (const feature of ALL) expect(a.sendOnRemoteChannel(mediaSignalingLabel(feature), JSON.stringify({ type: 'ready' }))).toBe(true);
    await sleep(500);
    expect(b.remoteChannelLabels).toEqual([]);
    expect(a.remoteChannelLabels).toHaveLength(ALL.length);
  });

  test('only the features asked for', async () => {
    const a = participant('PAsome', { features: ['network_quality', 'active_speaker'] });
    await a.join();
    await channels(a, ['network_quality', 'active_speaker']);
    await sleep(500);
    expect([...a.remoteChannelLabels].sort()).toEqual(['atrium.msp.active_speaker', 'atrium.msp.network_quality']);
  });

  test('a client whose first offer has no application section gets one offered with the answer, and the channels on it', async () => {
    const a = participant('PAnodc', { data: false });
    const answered = await a.join();
    expect(answered.map((e) => [e.description?.type, e.description?.revision])).toEqual([
      ['answer', 1],
      ['offer', 2],
    ]);
    expect(answered[0]!.description!.sdp).not.toMatch(/m=application/);
    expect(answered[1]!.description!.sdp).toMatch(/m=application/);
    await a.waitConnected();
    await channels(a);
    await send(a, 'network_quality', qualityReport(1, 0));
    await next(a, 'network_quality', 0, 'a network quality reply');
  });
});

describe('network_quality', () => {
  test("a report gets a reply with the local level (by reportLevel) and the others' once they have one (by remoteReportLevel)", async () => {
    const a = participant('PAnqa');
    const b = participant('PAnqb');
    await a.join();
    await b.join();
    a.startMedia();
    b.startMedia();
    await a.subscribe(b.tracksToSubscribe(['audio', 'video']));
    await b.subscribe(a.tracksToSubscribe(['audio', 'video']));
    await a.waitForMedia(b, 'video');
    await b.waitForMedia(a, 'video');
    await channels(a);
    await channels(b);

    // b has not reported yet: it has no level, and is not listed.
    await send(a, 'network_quality', qualityReport(3, 1));
    const first = await next(a, 'network_quality', 0, "a's first network quality reply");
    expect(first.type).toBe('network_quality');
    expect(first.local).toEqual({ level: expect.any(Number), audio: expect.any(Object), video: expect.any(Object) });
    for (const level of [first.local.level, first.local.audio.send, first.local.audio.recv, first.local.video.send, first.local.video.recv]) {
      expect(Number.isInteger(level) && level >= 0 && level <= 5, `level ${level}`).toBe(true);
    }
    // reportLevel 3: with the figures (the client's round trip among them).
    expect(first.local.audio.sendStats).toMatchObject({ bandwidth: expect.any(Object), fractionLost: expect.any(Object), latency: { rtt: 0.01, level: expect.any(Number) } });
    // Loopback: nothing is lost on the way up, the round trip is 10 ms, and 2 Mbit/s covers VGA video.
    expect(first.local.video.send).toBe(5);
    expect(first.local.video.sendStats.bandwidth).toMatchObject({ available: 2_000_000 - 24_000, level: 5 });
    expect(first.remotes).toEqual([]);

    // Once b has reported, a's next reply lists it, once, by its participant sid.
    await send(b, 'network_quality', qualityReport(1, 0));
    const fromB = await next(b, 'network_quality', 0, "b's network quality reply");
    expect(typeof fromB.local).toBe('number');
    expect('remotes' in fromB).toBe(false);
    const count = received(a, 'network_quality').length;
    await send(a, 'network_quality', qualityReport(1, 1));
    const second = await next(a, 'network_quality', count, "a's second network quality reply");
    expect(second.local).toEqual(expect.any(Number));
    expect(second.local).toBeGreaterThanOrEqual(0);
    expect(second.local).toBeLessThanOrEqual(5);
    expect(second.remotes).toEqual([{ sid: b.participant, level: fromB.local }]);

    // remoteReportLevel 2: per kind.
    const count2 = received(a, 'network_quality').length;
    await send(a, 'network_quality', qualityReport(2, 2));
    const third = await next(a, 'network_quality', count2, "a's third network quality reply");
    expect(third.local).toEqual({ level: expect.any(Number), audio: { send: expect.any(Number), recv: expect.any(Number) }, video: { send: expect.any(Number), recv: expect.any(Number) } });
    expect(third.remotes).toEqual([{ sid: b.participant, level: fromB.local, audio: { send: expect.any(Number), recv: expect.any(Number) }, video: expect.any(Object) }]);
  });

  test('a client that says it can send far less than its video needs gets a lower level', async () => {
    const a = participant('PAnqslow');
    await a.join();
    a.startMedia();
    await a.waitConnected();
    await channels(a);
    // The server reads a's picture size from its key frames (the synthetic ones say 640x480).
    await waitFor("a's video to reach the server", () => f.publication(`${a.session}/${a.videoTrackId}`)?.packets, { timeoutMs: 5_000 });
    expect(f.publication(`${a.session}/${a.videoTrackId}`)).toMatchObject({ width: 640, height: 480 });
    await send(a, 'network_quality', { type: 'network_quality', ice: { rtt: 0.01, availableSend: 20_000 }, reportLevel: 2, remoteReportLevel: 0 });
    const reply = await next(a, 'network_quality', 0, 'a network quality reply');
    // 20 kbit/s, less audio's 24 kbit/s, leaves nothing for 300 kbit/s of VGA video.
    expect(reply.local.video.send).toBe(0);
    expect(reply.local.level).toBe(0);
    const count = received(a, 'network_quality').length;
    await send(a, 'network_quality', qualityReport(2, 0));
    const better = await next(a, 'network_quality', count, 'the next network quality reply');
    expect(better.local.video.send).toBe(5);
  });
});

describe('track switch-off', () => {
  /** A publisher sending audio and video, and a subscriber with every feature receiving both. */
  async function publisherAndSubscriber(subscriberOptions: Partial<SyntheticParticipantOptions> = {}) {
    const publisher = f.participant('PAswpub', { keyFrameInterval: 0 });
    const subscriber = participant('PAswsub', { video: false, ...subscriberOptions });
    await publisher.join();
    await subscriber.join();
    publisher.startMedia();
    await subscriber.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
    await subscriber.waitForMedia(publisher, 'audio');
    await subscriber.waitForMedia(publisher, 'video');
    await channels(subscriber);
    return { publisher, subscriber };
  }

  test('render hint enabled:false stops the video (audio goes on); enabled:true resumes it at a key frame, numbering continued', async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    const sid = sidOf(publisher.videoTrackId);
    const videoKey = `${publisher.session}/${publisher.videoTrackId}`;

    await send(subscriber, 'render_hints', { type: 'render_hints', subscriber: { id: 7, hints: [{ track: sid, enabled: false, render_dimensions: { width: 320, height: 240 } }] } });
    const reply = await next(subscriber, 'render_hints', 0, 'the render hints reply');
    expect(reply).toEqual({ type: 'render_hints', subscriber: { id: 7, hints: [{ track: sid, result: 'OK' }] } });
    const off = await next(subscriber, 'track_switch_off', 0, 'a track_switch_off message', (m) => m.type === 'track_switch_off');
    expect(off).toEqual({ type: 'track_switch_off', off: [sid], on: [] });
    await expectNoMorePackets(subscriber, publisher.videoTrackId!);
    expect(f.publication(videoKey)!.sinks).toBe(0);
    // Audio is not switched off.
    await subscriber.waitForMedia(publisher, 'audio', 20);
    // The line stays negotiated: nothing was offered.
    expect(subscriber.offered.get(subscriber.lineFor(publisher.videoTrackId!)!.mid)).toMatchObject({ direction: 'sendonly' });

    const mid = subscriber.lineFor(publisher.videoTrackId!)!.mid;
    const stream = subscriber.received.get(mid)!;
    const lastBefore = stream.log[stream.log.length - 1]!;
    const keyFramesBefore = stream.keyFrames;
    const messages = received(subscriber, 'track_switch_off').length;
    const requests = Date.now();
    await send(subscriber, 'render_hints', { type: 'render_hints', subscriber: { id: 8, hints: [{ track: sid, enabled: true }] } });
    const on = await next(subscriber, 'track_switch_off', messages, 'the track_switch_off message switching it on');
    expect(on).toEqual({ type: 'track_switch_off', off: [], on: [sid] });
    await subscriber.waitForMedia(publisher, 'video', 10);
    // The publisher was asked for a key frame (it sends none unasked), and the first packet is one.
    expect(publisher.keyFrameRequests(requests)).toBeGreaterThanOrEqual(1);
    const resumed = stream.log.filter((p) => p.at > lastBefore.at);
    expect(resumed[0]!.keyFrame).toBe(true);
    expect(stream.keyFrames).toBeGreaterThan(keyFramesBefore);
    // The subscriber sees a pause, not loss: numbering goes on from the last packet before.
    expect(resumed[0]!.seq).toBe((lastBefore.seq + 1) & 0xffff);
    expect(resumed[0]!.ssrc).toBe(lastBefore.ssrc);
    expect(f.publication(videoKey)!.sinks).toBe(1);
  });

  test("a repeated PUT of the session takes the client's newest bandwidth profile, and the video that no longer fits is switched off", async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    const sid = sidOf(publisher.videoTrackId);
    const path = `/v1/sessions/${subscriber.session}`;
    const body = { room: f.room, participant: subscriber.participant, pc: subscriber.pcId, features: ALL };
    // Control API checks first: an unknown feature or a bad profile changes nothing.
    for (const bad of [
      { ...body, features: ['active_speaker', 'dominant_speaker'] },
      { ...body, profile: { maxSubscriptionBitrate: -1 } },
    ]) {
      const res = await f.server.control.call('PUT', path, bad);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 53004 });
    }
    expect(f.session(subscriber.session)).toMatchObject({ signaling: { profile: {}, switchedOff: [] } });

    const res = await f.server.control.call('PUT', path, { ...body, profile: { maxSubscriptionBitrate: 50_000, mode: 'grid' } });
    expect(res.status).toBe(200);
    expect(f.session(subscriber.session)).toMatchObject({ signaling: { profile: { maxSubscriptionBitrate: 50_000, mode: 'grid' }, switchedOff: [sid] } });
    expect(await next(subscriber, 'track_switch_off', 0, 'the switch-off')).toEqual({ type: 'track_switch_off', off: [sid], on: [] });
    await expectNoMorePackets(subscriber, publisher.videoTrackId!);

    // Room again: back on.
    await f.server.control.call('PUT', path, { ...body, profile: { maxSubscriptionBitrate: 5_000_000 } });
    expect(await next(subscriber, 'track_switch_off', 1, 'the switch-on')).toEqual({ type: 'track_switch_off', off: [], on: [sid] });
    await subscriber.waitForMedia(publisher, 'video', 10);
  });

  test("a 'ready' on the switch-off channel is answered with the whole state", async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    const sid = sidOf(publisher.videoTrackId);
    await send(subscriber, 'track_switch_off', { type: 'ready' });
    const state = await next(subscriber, 'track_switch_off', 0, 'the switch-off state');
    expect(state).toEqual({ type: 'track_switch_off', off: [], on: [sid] });
  });

  test('a small maxSubscriptionBitrate keeps the higher-priority video on; track_priority from the subscriber turns it around', async () => {
    // Two publishers; the subscriber's budget fits one video (each counts at 100 kbit/s at least).
    const high = f.participant('PAhigh', { keyFrameInterval: 30 });
    const low = f.participant('PAlow', { keyFrameInterval: 30 });
    const subscriber = participant('PAbudget', { video: false, profile: { maxSubscriptionBitrate: 150_000 } });
    await high.join();
    await low.join();
    await subscriber.join();
    high.startMedia();
    low.startMedia();
    await channels(subscriber);
    await subscriber.subscribe([
      ...high.tracksToSubscribe(['audio', 'video']).map((t) => ({ ...t, priority: 'high' as const })),
      ...low.tracksToSubscribe(['audio', 'video']).map((t) => ({ ...t, priority: 'low' as const })),
    ]);
    await subscriber.waitForMedia(high, 'video');
    const off = await next(subscriber, 'track_switch_off', 0, "the low-priority video's switch-off", (m) => m.off?.length > 0);
    expect(off.off).toEqual([sidOf(low.videoTrackId)]);
    await expectNoMorePackets(subscriber, low.videoTrackId!);
    await subscriber.waitForMedia(low, 'audio', 20);
    await subscriber.waitForMedia(high, 'video', 10);

    // The subscriber prefers the other one.
    const count = received(subscriber, 'track_switch_off').length;
    await send(subscriber, 'track_priority', { type: 'track_priority', track: sidOf(high.videoTrackId), subscribe: 'low' });
    await send(subscriber, 'track_priority', { type: 'track_priority', track: sidOf(low.videoTrackId), subscribe: 'high' });
    await waitFor(
      'the switch to turn around',
      () => {
        const since = received(subscriber, 'track_switch_off').slice(count);
        return since.some((m) => m.off?.includes(sidOf(high.videoTrackId))) && since.some((m) => m.on?.includes(sidOf(low.videoTrackId)));
      },
      { timeoutMs: 5_000, detail: () => received(subscriber, 'track_switch_off') },
    );
    await subscriber.waitForMedia(low, 'video', 10);
    await expectNoMorePackets(subscriber, high.videoTrackId!);
    expect(f.session(subscriber.session)).toMatchObject({ signaling: { switchedOff: [sidOf(high.videoTrackId)] } });
  });
});

describe('what the client sends', () => {
  test('garbage on the channels is ignored, and the session keeps working', async () => {
    const publisher = f.participant('PAgpub');
    const a = participant('PAgarbage', { video: false });
    await publisher.join();
    await a.join();
    publisher.startMedia();
    await a.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
    await a.waitForMedia(publisher, 'video');
    await channels(a);

    const garbage: (string | Buffer)[] = [
      'not json',
      '{"type": "network_quality"',
      '',
      '[]',
      '[{"type":"network_quality"}]',
      'null',
      '42',
      '"network_quality"',
      'true',
      '{}',
      '{"type": 5}',
      '{"type": null}',
      '{"type": ["network_quality"]}',
      JSON.stringify({ type: 'network_quality', padding: 'x'.repeat(70 * 1024) }),
      JSON.stringify({ type: 'render_hints', subscriber: { id: 1, hints: [{ track: sidOf(publisher.videoTrackId), enabled: false }] }, padding: 'y'.repeat(100 * 1024) }),
      Buffer.from(JSON.stringify(qualityReport(1, 1))),
      Buffer.from([0xff, 0x00, 0xfe]),
    ];
    for (const feature of ALL) for (const g of garbage) await send(a, feature, g);
    // Right type, wrong everything else: each field is checked before use.
    const wrongTypes: [MediaSignalingFeature, unknown][] = [
      ['render_hints', { type: 'render_hints' }],
      ['render_hints', { type: 'render_hints', subscriber: 'everyone' }],
      ['render_hints', { type: 'render_hints', subscriber: { id: 2, hints: 'all' } }],
      ['render_hints', { type: 'render_hints', subscriber: { id: 3, hints: [null, 5, 'x', { track: 12, enabled: false }, { track: 'z'.repeat(65), enabled: false }] } }],
      ['render_hints', { type: 'render_hints', subscriber: { id: 4, hints: [{ track: sidOf(publisher.videoTrackId), enabled: 'no' }] } }],
      ['track_priority', { type: 'track_priority', track: sidOf(publisher.videoTrackId), subscribe: 'urgent' }],
      ['track_priority', { type: 'track_priority', track: 5, subscribe: 'low' }],
      ['track_priority', { type: 'track_priority' }],
      ['network_quality', { type: 'network_quality', ice: 'fast', reportLevel: 'all', remoteReportLevel: -1 }],
      ['network_quality', { type: 'network_quality', ice: { rtt: 'x', availableSend: -5 }, reportLevel: 99, remoteReportLevel: 2.5 }],
      ['network_quality', { type: 'network_quality', ice: { rtt: Number.MAX_VALUE, availableSend: 1e300 } }],
      // A message of one feature's type on another's channel.
      ['active_speaker', qualityReport(3, 3)],
      ['track_switch_off', { type: 'render_hints', subscriber: { id: 5, hints: [{ track: sidOf(publisher.videoTrackId), enabled: false }] } }],
      ['render_hints', { type: 'track_priority', track: sidOf(publisher.videoTrackId), subscribe: 'low' }],
      ['network_quality', { type: 'active_speaker', participant: 'PAgarbage' }],
    ];
    for (const [feature, message] of wrongTypes) await send(a, feature, message);
    await sleep(700);

    // The malformed ones got nothing back; network-quality reports with bad fields were read as
    // reports with none (levels 1, no remotes), and render hints without a usable hint changed nothing.
    expect(received(a, 'network_quality')).toEqual([
      { type: 'network_quality', local: expect.any(Number) },
      { type: 'network_quality', local: expect.any(Number) },
      { type: 'network_quality', local: expect.any(Number) },
    ]);
    expect(received(a, 'render_hints')).toEqual([
      { type: 'render_hints', subscriber: { id: 3, hints: [] } },
      { type: 'render_hints', subscriber: { id: 4, hints: [{ track: sidOf(publisher.videoTrackId), result: 'OK' }] } },
    ]);
    expect(received(a, 'track_switch_off')).toEqual([]);
    expect(received(a, 'active_speaker').filter((m) => m.type !== 'active_speaker')).toEqual([]);
    expect(f.session(a.session)).toMatchObject({ state: 'connected', signaling: { switchedOff: [] } });
    await a.waitForMedia(publisher, 'video', 20);

    // And it still works: a report is answered, a hint switches the video off.
    await send(a, 'network_quality', qualityReport(2, 1));
    const reply = await next(a, 'network_quality', 3, 'a reply to a good report');
    expect(reply).toMatchObject({ type: 'network_quality', local: { level: expect.any(Number) }, remotes: [] });
    await send(a, 'render_hints', { type: 'render_hints', subscriber: { id: 6, hints: [{ track: sidOf(publisher.videoTrackId), enabled: false }] } });
    expect(await next(a, 'track_switch_off', 0, 'the switch-off')).toEqual({ type: 'track_switch_off', off: [sidOf(publisher.videoTrackId)], on: [] });
    await expectNoMorePackets(a, publisher.videoTrackId!);
    await a.waitForMedia(publisher, 'audio', 10);
  });
});

describe('active_speaker', () => {
  test('the one publisher sending loud audio becomes dominant speaker at every session, and a later one takes over', async () => {
    const loud = participant('PAloud', { video: false, audioLevel: 20 });
    const quiet = participant('PAquiet', { video: false, audioLevel: 127 });
    const listener = participant('PAlisten', { video: false, audio: false });
    const everyone = [loud, quiet, listener];
    for (const p of everyone) await p.join();
    for (const p of everyone) await channels(p, ['active_speaker']);
    quiet.startMedia();
    await sleep(800);
    // Silence only: nobody is dominant.
    for (const p of everyone) expect(received(p, 'active_speaker')).toEqual([]);

    loud.startMedia();
    for (const p of everyone) {
      const m = await next(p, 'active_speaker', 0, `${p.participant} to hear of the dominant speaker`);
      expect(m).toEqual({ type: 'active_speaker', participant: loud.participant });
    }
    // It stays.
    await sleep(1_500);
    for (const p of everyone) expect(received(p, 'active_speaker')).toEqual([{ type: 'active_speaker', participant: loud.participant }]);

    // A client that (re)opens its channel is told who it is.
    await send(listener, 'active_speaker', { type: 'ready' });
    expect(await next(listener, 'active_speaker', 1, 'the answer to ready')).toEqual({ type: 'active_speaker', participant: loud.participant });

    // The other one speaks up and the first falls silent: it takes over (after the hold).
    const switchedAt = Date.now();
    loud.audioLevel = 127;
    quiet.audioLevel = 10;
    for (const p of everyone) {
      const m = await next(p, 'active_speaker', p === listener ? 2 : 1, `${p.participant} to hear of the new dominant speaker`);
      expect(m).toEqual({ type: 'active_speaker', participant: quiet.participant });
    }
    expect(Date.now() - switchedAt).toBeGreaterThanOrEqual(900);
  });
});
