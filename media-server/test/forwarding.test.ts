/**
 * Forwarding at the media server (src/media/, src/data/) with two or three synthetic participants in
 * a room: what a subscriber receives of a publisher's tracks (its own SSRC and payload type, no
 * header extensions, starting at a key frame), the feedback between them (PLI both ways, NACK and
 * retransmission), data channel relay, and what stops forwarding.
 */
import { describe, expect, test } from 'vitest';
import { mediaFixture } from './support/fixture';
import type { PacketRecord, SyntheticParticipant } from './support/synthetic-participant';
import { sleep, waitFor } from './support/wait';

const f = mediaFixture();

/** A publisher with Chrome's payload types, sending, and a subscriber with Firefox's; both connected, nothing subscribed yet. */
async function publisherAndSubscriber(opts: { publisher?: Parameters<typeof f.participant>[1]; subscriber?: Parameters<typeof f.participant>[1] } = {}) {
  const publisher = f.participant('PApub', { audioPayloadType: 111, videoPayloadType: 96, ...opts.publisher });
  const subscriber = f.participant('PAsub', { audioPayloadType: 109, videoPayloadType: 120, ...opts.subscriber });
  await publisher.join();
  await subscriber.join();
  publisher.startMedia();
  await publisher.waitConnected();
  await subscriber.waitConnected();
  return { publisher, subscriber };
}

function videoLine(subscriber: SyntheticParticipant, publisher: SyntheticParticipant): string {
  const line = subscriber.lineFor(publisher.videoTrackId!);
  if (!line) throw new Error(`${subscriber.participant} has no line for ${publisher.participant}'s video`);
  return line.mid;
}

function packetsOn(subscriber: SyntheticParticipant, mid: string): PacketRecord[] {
  return subscriber.received.get(mid)?.log ?? [];
}

/** No more packets of `track` arrive at `subscriber` over `ms` (after `settleMs` for those in flight). */
async function expectNoMorePackets(subscriber: SyntheticParticipant, track: string, ms = 700, settleMs = 150): Promise<void> {
  await sleep(settleMs);
  const before = subscriber.packetsOf(track);
  await sleep(ms);
  expect(subscriber.packetsOf(track), `${subscriber.participant} kept receiving ${track}`).toBe(before);
}

describe('media', () => {
  test("a subscriber receives the publisher's audio and video with its own SSRC and payload type, header extensions stripped", async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    // Each way: the subscriber uses Firefox's payload types, the publisher Chrome's.
    subscriber.startMedia();
    await subscriber.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
    await publisher.subscribe(subscriber.tracksToSubscribe(['audio', 'video']));
    await subscriber.waitForMedia(publisher, 'audio', 25);
    await subscriber.waitForMedia(publisher, 'video', 15);
    await publisher.waitForMedia(subscriber, 'audio', 25);
    await publisher.waitForMedia(subscriber, 'video', 15);

    for (const [to, from] of [
      [subscriber, publisher],
      [publisher, subscriber],
    ] as const) {
      for (const kind of ['audio', 'video'] as const) {
        const line = to.lineFor(kind === 'audio' ? from.audioTrackId! : from.videoTrackId!)!;
        expect(line).toMatchObject({ kind, direction: 'sendonly', msid: { track: kind === 'audio' ? from.audioTrackId : from.videoTrackId } });
        const packets = packetsOn(to, line.mid);
        const sourceSsrc = kind === 'audio' ? from.audioSsrc : from.videoSsrc;
        const what = `${kind} of ${from.participant} at ${to.participant}`;
        // The subscriber's own SSRC (the one its description announced), not the publisher's.
        expect(new Set(packets.map((p) => p.ssrc)), what).toEqual(new Set([line.ssrc]));
        expect(line.ssrc).not.toBe(sourceSsrc);
        // Its own payload type.
        expect(new Set(packets.map((p) => p.payloadType)), what).toEqual(new Set([kind === 'audio' ? to.audioPayloadType : to.videoPayloadType]));
        expect(to.audioPayloadType).not.toBe(from.audioPayloadType);
        // No header extensions: the publisher's ids mean nothing on this connection.
        expect(packets.every((p) => !p.extension), what).toBe(true);
        // The payload is the publisher's, untouched (its tag: the publisher's SSRC and sequence number).
        expect(packets.every((p) => p.origin?.ssrc === sourceSsrc), what).toBe(true);
        // Sequence numbers and timestamps are the publisher's, shifted by one offset each.
        const seqOffsets = new Set(packets.map((p) => (p.seq - p.origin!.seq) & 0xffff));
        expect(seqOffsets.size, what).toBe(1);
        for (let i = 1; i < packets.length; i++) {
          const gap = (packets[i]!.timestamp - packets[i - 1]!.timestamp) >>> 0;
          expect(gap, what).toBeLessThan(kind === 'audio' ? 48_000 : 90_000);
        }
      }
    }
    // The publisher sent with header extensions, and the server kept every packet.
    const key = `${publisher.session}/${publisher.videoTrackId}`;
    expect(f.publication(key)!.packets).toBeGreaterThanOrEqual(15);
    expect(f.publication(key)!.sinks).toBe(1);
  });

  test('video to a new subscriber starts at a key frame, asked of the publisher with a PLI when the subscription starts', async () => {
    // Key frames only on request (and the very first one), and 400 ms in coming: the interframes
    // sent meanwhile are no use to the new subscriber, and must not reach it.
    const { publisher, subscriber } = await publisherAndSubscriber({ publisher: { keyFrameInterval: 0, keyFrameDelayMs: 400 } });
    await waitFor('the publisher to have sent a while', () => publisher.sent.video >= 20, { timeoutMs: 5_000 });
    expect(publisher.sent.keyFrames).toBe(1);
    const before = Date.now();
    expect(publisher.keyFrameRequests()).toBe(0);

    await subscriber.subscribe(publisher.tracksToSubscribe(['video']));
    const sentAtSubscription = publisher.sent.video;
    await waitFor('a PLI at the publisher', () => publisher.keyFrameRequests(before) > 0, { timeoutMs: 3_000, detail: () => publisher.summary() });
    expect(publisher.rtcpOf('pli', before)[0]!.media).toBe(publisher.videoSsrc);
    await subscriber.waitForMedia(publisher, 'video', 5);
    const packets = packetsOn(subscriber, videoLine(subscriber, publisher));
    expect(packets[0]!.keyFrame, 'the first packet forwarded is a key frame').toBe(true);
    expect(publisher.sent.keyFrames).toBeGreaterThanOrEqual(2);
    expect(packets.slice(1, 5).every((p) => !p.keyFrame)).toBe(true);
    // Interframes were sent (and dropped) while the key frame was on its way.
    const first = packets[0]!.origin!.seq;
    expect(publisher.sent.video - sentAtSubscription).toBeGreaterThan(packets.length + 3);
    expect(packets.every((p) => ((p.origin!.seq - first) & 0xffff) < 0x8000)).toBe(true);
  });

  test("a subscriber's PLI reaches the publisher, and a key frame comes back", async () => {
    const { publisher, subscriber } = await publisherAndSubscriber({ publisher: { keyFrameInterval: 0 } });
    await subscriber.subscribe(publisher.tracksToSubscribe(['video']));
    await subscriber.waitForMedia(publisher, 'video', 10);
    const mid = videoLine(subscriber, publisher);
    // Past the server's PLI throttle (300 ms) since the subscription's own.
    await sleep(500);
    const keyFramesBefore = subscriber.received.get(mid)!.keyFrames;
    const since = Date.now();
    expect(publisher.keyFrameRequests(since)).toBe(0);

    expect(subscriber.requestKeyFrame(mid)).toBe(true);
    await waitFor("the subscriber's PLI to reach the publisher", () => publisher.keyFrameRequests(since) > 0, { timeoutMs: 3_000, detail: () => publisher.summary() });
    expect(publisher.rtcpOf('pli', since)[0]!.media).toBe(publisher.videoSsrc);
    await waitFor('a new key frame at the subscriber', () => subscriber.received.get(mid)!.keyFrames > keyFramesBefore, { timeoutMs: 3_000 });
    // Key frame requests are throttled: a burst of them is one PLI upstream.
    await sleep(400);
    const burst = Date.now();
    for (let i = 0; i < 5; i++) subscriber.requestKeyFrame(mid);
    await sleep(250);
    expect(publisher.keyFrameRequests(burst)).toBe(1);
  });

  test('a sequence number the publisher skips is NACKed, exactly, and its retransmission reaches the subscriber', async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    await subscriber.subscribe(publisher.tracksToSubscribe(['video']));
    await subscriber.waitForMedia(publisher, 'video', 10);
    const mid = videoLine(subscriber, publisher);
    const since = Date.now();
    const lost = publisher.skipNextVideoPacket();
    await waitFor(`a NACK for ${lost}`, () => publisher.rtcpOf('nack', since).length > 0, { timeoutMs: 3_000, detail: () => publisher.summary() });
    const nack = publisher.rtcpOf('nack', since)[0]!;
    expect(nack.media).toBe(publisher.videoSsrc);
    expect(nack.seqs).toEqual([lost]);
    await waitFor('the retransmission at the subscriber', () => packetsOn(subscriber, mid).some((p) => p.origin?.seq === lost), { timeoutMs: 3_000, detail: () => subscriber.summary() });
    const packets = packetsOn(subscriber, mid);
    const retransmitted = packets.find((p) => p.origin?.seq === lost)!;
    const neighbour = packets.find((p) => p.origin?.seq === ((lost + 1) & 0xffff))!;
    // In the subscriber's numbering, it fills the gap the loss left: just before the packet after it.
    expect(retransmitted.ssrc).toBe(neighbour.ssrc);
    expect(retransmitted.payloadType).toBe(subscriber.videoPayloadType);
    expect((neighbour.seq - retransmitted.seq) & 0xffff).toBe(1);
    expect(packets.indexOf(retransmitted)).toBeGreaterThan(packets.indexOf(neighbour));
    // Once it arrived, the server asks no more for it (NACKs are retried every second until then).
    await sleep(1_300);
    expect(publisher.rtcpOf('nack', since).flatMap((n) => n.seqs)).toEqual([lost]);
  });

  test('receiver reports and a bitrate estimate go to the publisher, and its sender reports reach the subscriber mapped', async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    await subscriber.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
    await subscriber.waitForMedia(publisher, 'video', 10);
    await waitFor('RR and REMB at the publisher, SR at the subscriber', () => publisher.rtcpOf('rr').length >= 2 && publisher.rtcpOf('remb').length >= 1 && subscriber.rtcpOf('sr').length >= 2, {
      timeoutMs: 4_000,
      detail: () => ({ publisher: publisher.summary(), subscriber: subscriber.summary() }),
    });
    const blocks = publisher.rtcpOf('rr').flatMap((r) => r.blocks);
    expect(new Set(blocks.map((b) => b.ssrc))).toEqual(new Set([publisher.audioSsrc, publisher.videoSsrc]));
    expect(blocks.every((b) => b.fractionLost === 0)).toBe(true);
    const remb = publisher.rtcpOf('remb')[0]!;
    expect(remb.ssrcs).toEqual([publisher.videoSsrc]);
    expect(remb.bitrate).toBeGreaterThanOrEqual(150_000);
    expect(remb.bitrate).toBeLessThanOrEqual(2_500_000);
    // Sender reports come with the subscriber's SSRCs, never the publisher's.
    const srSsrcs = new Set(subscriber.rtcpOf('sr').map((s) => s.ssrc));
    const lines = [subscriber.lineFor(publisher.audioTrackId!)!.ssrc, subscriber.lineFor(publisher.videoTrackId!)!.ssrc];
    for (const ssrc of srSsrcs) expect(lines).toContain(ssrc);
  });
});

describe('a publisher that moves to a new session', () => {
  test("its subscribers' lines carry on without renegotiating: same SSRC, numbering continued, at a key frame", async () => {
    // The Room object moves a participant whose session was lost (or who restarted ICE) to a new
    // session on a new connection; its tracks keep their ids, and subscriptions name the new session.
    const first = f.participant('PAmover', { session: 'PAmover.1', data: true });
    const subscriber = f.participant('PAsub', { data: true });
    await first.join();
    await subscriber.join();
    first.startMedia();
    await subscriber.subscribe(first.tracksToSubscribe());
    await subscriber.waitForMedia(first, 'audio');
    await subscriber.waitForMedia(first, 'video');
    await waitFor("the mover's data channel at the server", () => f.session(first.session)?.data.length === 1, { timeoutMs: 5_000 });
    const lines = { audio: subscriber.lineFor(first.audioTrackId!)!, video: subscriber.lineFor(first.videoTrackId!)! };

    first.close();
    expect(await f.server.control.call('DELETE', `/v1/sessions/${first.session}`)).toEqual({ status: 200, body: { closed: true } });
    const second = f.participant('PAmover', { session: 'PAmover.2', data: first.dataTrackId!, trackIds: { stream: first.stream, audio: first.audioTrackId!, video: first.videoTrackId! } });
    await second.join();
    second.startMedia();
    expect(await subscriber.subscribe(second.tracksToSubscribe())).toEqual([]);

    for (const kind of ['audio', 'video'] as const) {
      const { mid, ssrc } = lines[kind];
      const newSsrc = kind === 'audio' ? second.audioSsrc : second.videoSsrc;
      const oldSsrc = kind === 'audio' ? first.audioSsrc : first.videoSsrc;
      await waitFor(`${kind} of the moved publisher at the subscriber`, () => packetsOn(subscriber, mid).filter((p) => p.origin?.ssrc === newSsrc).length >= 5, { timeoutMs: 5_000, detail: () => ({ subscriber: subscriber.summary(), server: f.session(subscriber.session) }) });
      const log = packetsOn(subscriber, mid);
      const lastOld = log.filter((p) => p.origin?.ssrc === oldSsrc).pop()!;
      const firstNew = log.find((p) => p.origin?.ssrc === newSsrc)!;
      expect(firstNew.ssrc, kind).toBe(ssrc);
      expect((firstNew.seq - lastOld.seq) & 0xffff, `${kind}: sequence numbers continue`).toBe(1);
      const tsStep = (firstNew.timestamp - lastOld.timestamp) >>> 0;
      expect(tsStep, `${kind}: timestamps move forward`).toBeGreaterThan(0);
      expect(tsStep).toBeLessThan(kind === 'audio' ? 10 * 48_000 : 10 * 90_000);
      if (kind === 'video') expect(firstNew.keyFrame).toBe(true);
    }
    // The data channel stays too, fed by the new session's.
    await waitFor("the new session's data channel", () => second.dataChannelOpen && f.session(second.session)?.data.length === 1, { timeoutMs: 5_000 });
    expect(second.sendData('still here')).toBe(true);
    await waitFor('the message on the old channel', () => subscriber.messages.some((m) => m.data === 'still here'), { timeoutMs: 5_000 });
    expect(subscriber.remoteChannelLabels).toEqual([first.dataTrackId]);
  });
});

describe('data', () => {
  test("data channel messages, text and binary, are relayed on a channel labelled with the publisher's track id, never echoed", async () => {
    const publisher = f.participant('PApub', { data: true, audio: false, video: false });
    const subscriber = f.participant('PAsub', { data: true, audio: false });
    const listener = f.participant('PAlisten', { audio: false, video: false, receiveData: true });
    await publisher.join();
    await subscriber.join();
    await listener.join();
    await waitFor("the publisher's channel to open", () => publisher.dataChannelOpen, { timeoutMs: 5_000 });
    await waitFor('the server to see it', () => f.session(publisher.session)?.data.length === 1, { timeoutMs: 5_000 });
    await subscriber.subscribe(publisher.tracksToSubscribe(['data']));
    await listener.subscribe(publisher.tracksToSubscribe(['data']));
    // The publisher subscribes to the subscriber's data too: it gets that, and nothing of its own.
    await publisher.subscribe(subscriber.tracksToSubscribe(['data']));

    const binary = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    expect(publisher.sendData('hello')).toBe(true);
    expect(publisher.sendData(binary)).toBe(true);
    expect(publisher.sendData(JSON.stringify({ type: 'chat', text: 'ünïcödé ✓' }))).toBe(true);
    for (const p of [subscriber, listener]) {
      await waitFor(`${p.participant} to get 3 messages`, () => p.messages.filter((m) => m.label === publisher.dataTrackId).length >= 3, { timeoutMs: 5_000, detail: () => p.messages });
      const got = p.messages.filter((m) => m.label === publisher.dataTrackId);
      expect(got.map((m) => m.channel)).toEqual(['remote', 'remote', 'remote']);
      expect(got[0]!.data).toBe('hello');
      expect(Buffer.isBuffer(got[1]!.data)).toBe(true);
      expect(got[1]!.data).toEqual(binary);
      expect(got[2]!.data).toBe('{"type":"chat","text":"ünïcödé ✓"}');
      expect(p.remoteChannelLabels).toEqual([publisher.dataTrackId]);
    }

    await waitFor("the subscriber's channel to open", () => subscriber.dataChannelOpen, { timeoutMs: 5_000 });
    expect(subscriber.sendData('back')).toBe(true);
    await waitFor('the publisher to get the reply', () => publisher.messages.some((m) => m.data === 'back'), { timeoutMs: 5_000 });
    await sleep(200);
    // Nothing came back to the publisher of what it sent, on any channel.
    expect(publisher.messages.map((m) => [m.label, m.channel, m.data])).toEqual([[subscriber.dataTrackId, 'remote', 'back']]);
    expect(subscriber.messages.filter((m) => m.label === subscriber.dataTrackId)).toEqual([]);
    const source = f.session(publisher.session)!.data[0]!;
    expect(source).toMatchObject({ key: `${publisher.session}/${publisher.dataTrackId}`, messages: 3, relayed: 6, sinks: 2 });
  });
});

describe('what stops forwarding', () => {
  test('unsubscribing stops the packets; subscribing again starts them on the same line', async () => {
    const { publisher, subscriber } = await publisherAndSubscriber();
    await subscriber.subscribe(publisher.tracksToSubscribe(['audio', 'video']));
    await subscriber.waitForMedia(publisher, 'audio');
    await subscriber.waitForMedia(publisher, 'video');
    const mid = videoLine(subscriber, publisher);
    const videoKey = `${publisher.session}/${publisher.videoTrackId}`;
    const audioKey = `${publisher.session}/${publisher.audioTrackId}`;

    // Video dropped, audio kept.
    await subscriber.subscribe(publisher.tracksToSubscribe(['audio']));
    expect(subscriber.offered.get(mid)).toMatchObject({ direction: 'inactive', msid: null });
    expect(f.publication(videoKey)!.sinks).toBe(0);
    await expectNoMorePackets(subscriber, publisher.videoTrackId!);
    const forwarded = f.publication(videoKey)!.forwarded;
    await sleep(300);
    expect(f.publication(videoKey)!.forwarded, 'the server still forwards the video').toBe(forwarded);
    await subscriber.waitForMedia(publisher, 'audio');

    // Everything dropped.
    await subscriber.subscribe([]);
    expect(f.publication(audioKey)!.sinks).toBe(0);
    await expectNoMorePackets(subscriber, publisher.audioTrackId!);

    // Back: the video takes its old line again, and starts at a key frame.
    const before = packetsOn(subscriber, mid).length;
    await subscriber.subscribe(publisher.tracksToSubscribe(['video']));
    expect(videoLine(subscriber, publisher)).toBe(mid);
    await subscriber.waitForMedia(publisher, 'video');
    const resumed = packetsOn(subscriber, mid).slice(before);
    expect(resumed[0]!.keyFrame).toBe(true);
    expect(new Set(resumed.map((p) => p.ssrc))).toEqual(new Set([subscriber.lineFor(publisher.videoTrackId!)!.ssrc]));
  });

  test("closing the publisher's session stops the packets; the subscriber's session carries on", async () => {
    const { publisher, subscriber } = await publisherAndSubscriber({ subscriber: { data: true } });
    const third = f.participant('PAthird');
    await third.join();
    third.startMedia();
    await subscriber.subscribe([...publisher.tracksToSubscribe(['audio', 'video']), ...third.tracksToSubscribe(['video'])]);
    await subscriber.waitForMedia(publisher, 'audio');
    await subscriber.waitForMedia(publisher, 'video');
    await subscriber.waitForMedia(third, 'video');

    expect(await f.server.control.call('DELETE', `/v1/sessions/${publisher.session}`)).toEqual({ status: 200, body: { closed: true } });
    expect(f.publication(`${publisher.session}/${publisher.videoTrackId}`)).toBeUndefined();
    await expectNoMorePackets(subscriber, publisher.audioTrackId!, 700, 200);
    expect(subscriber.packetsOf(publisher.videoTrackId!)).toBeGreaterThan(0);
    await expectNoMorePackets(subscriber, publisher.videoTrackId!, 300, 0);
    // Nothing else changed for the subscriber.
    await subscriber.waitForMedia(third, 'video');
    expect(f.session(subscriber.session)?.state).toBe('connected');
    const room = await f.server.control.call('GET', `/v1/rooms/${f.room}`);
    expect(room.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual([subscriber.session, third.session].sort());
  });
});
