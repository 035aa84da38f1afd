/**
 * Negotiation at the media server (src/session/session.ts) with synthetic participants: what it
 * does with bad offers, ICE restarts, repeated and crossing offers, stale answers, and
 * subscriptions that come before the tracks they name.
 */
import { describe, expect, test } from 'vitest';
import { mediaFixture } from './support/fixture';
import type { SyntheticParticipant } from './support/synthetic-participant';
import { sleep, waitFor } from './support/wait';

const f = mediaFixture();

/** What a participant sent and received, as `dir type:revision` (ICE entries as `dir ice`). */
function transcript(p: SyntheticParticipant): string[] {
  return p.transcript.map((t) => `${t.dir} ${t.entry.description ? `${t.entry.description.type}:${t.entry.description.revision}` : 'ice'}`);
}

describe('a description the server cannot apply', () => {
  test('malformed SDP is a 400 with 53403, and the session still takes a good offer; other sessions are unaffected', async () => {
    const other = f.participant('PAother');
    await other.join();
    other.startMedia();
    const subject = f.participant('PAsubject');
    await subject.openSession();

    for (const sdp of ['not an sdp at all', 'v=0\r\nthis line is not SDP\r\n', 'v=0\r\nm=audio nine UDP/TLS/RTP/SAVPF 111\r\n']) {
      const res = await subject.send([{ id: subject.pcId, description: { type: 'offer', revision: 1, sdp } }]);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual({ code: 53403, message: expect.stringMatching(/^Server is unable to apply a remote media description/), status: 400 });
    }

    // SDP that parses, but that libdatachannel refuses: no fingerprint, then no ICE credentials.
    const good = await subject.createOffer();
    const sdp = good.description!.sdp!;
    for (const bad of [sdp.replace(/a=fingerprint:[^\r\n]*\r\n/g, ''), sdp.replace(/a=ice-(ufrag|pwd):[^\r\n]*\r\n/g, '')]) {
      const res = await subject.send([{ id: subject.pcId, description: { type: 'offer', revision: 1, sdp: bad } }]);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toMatchObject({ code: 53403, status: 400 });
      expect((res.body as unknown as { message: string }).message).toMatch(/fingerprint|ICE/);
    }

    // The good offer is answered (and, as the offer has no application section, one is offered at
    // once: see withApplication in src/sdp/munge.ts), and the session works: it connects and receives.
    const answered = await subject.deliver([good]);
    expect(answered.map((e) => [e.description?.type, e.description?.revision])).toEqual([['answer', 1], ['offer', 2]]);
    await subject.waitConnected();
    await subject.subscribe(other.tracksToSubscribe());
    await subject.waitForMedia(other, 'video');
    await subject.waitForMedia(other, 'audio');

    // The other session never noticed: it is connected and still negotiates.
    expect(other.state).toBe('connected');
    const renegotiated = await other.offer();
    expect(renegotiated.map((e) => [e.description?.type, e.description?.revision])).toEqual([['answer', 3]]);
    expect(f.session(other.session)?.state).toBe('connected');
  });

  test('an offer with a new ICE ufrag after the first is a 409 with 53405, and changes nothing', async () => {
    const p = f.participant('PA1');
    await p.join();
    await p.waitConnected();
    const restart = await p.createOffer((sdp) => sdp.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:rstr').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:restartedrestartedrestarted'));
    const res = await p.send([restart]);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toEqual({ code: 53405, message: expect.stringMatching(/ICE restart/), status: 409 });
    expect(f.session(p.session)?.state).toBe('connected');
    // The same ufrag, on the next revision, is answered.
    const again = await p.createOffer();
    expect(again.description!.revision).toBe(4);
    expect(again.description!.sdp).not.toMatch(/a=ice-ufrag:rstr/);
    const answered = await p.deliver([again]);
    expect(answered.map((e) => [e.description?.type, e.description?.revision])).toEqual([['answer', 4]]);
    expect(p.signalingState).toBe('stable');
  });
});

describe('revisions', () => {
  test('the same offer revision twice gets the same answer', async () => {
    const p = f.participant('PA1');
    await p.openSession();
    const offer = await p.createOffer();
    expect(offer.description!.revision).toBe(1);
    const first = await p.send([offer]);
    const second = await p.send([offer]);
    expect(first.status).toBe(200);
    // The answer, and the server's offer of an application section (the client's offer had none).
    expect(first.body.entries.map((e) => [e.description?.type, e.description?.revision])).toEqual([['answer', 1], ['offer', 2]]);
    expect(first.body.entries[0]).toMatchObject({ id: p.pcId, description: { type: 'answer', revision: 1 } });
    // The repeat gets the same answer; the offer is outstanding already.
    expect(second).toEqual({ status: 200, body: { entries: [first.body.entries[0]] } });
    await p.handle(first.body.entries);
    await p.waitConnected();
    // Once more, after the connection is up: still the same answer, and nothing changes.
    expect(await p.send([offer])).toEqual(second);
    expect(f.session(p.session)?.state).toBe('connected');
  });

  test("glare: a client offer while the server's offer is outstanding gets nothing, and the server's offer stands", async () => {
    const a = f.participant('PA');
    await a.join();
    a.startMedia();
    // With a data track, b's first offer has an application section: the server has nothing to offer it yet.
    const b = f.participant('PB', { data: true });
    await b.join();

    // The server offers b a's tracks (revision 2); before that reaches b, b offers too (revision 2).
    const held = await b.subscribeRaw(a.tracksToSubscribe());
    expect(held.status).toBe(200);
    expect(held.body.entries.map((e) => [e.description?.type, e.description?.revision])).toEqual([['offer', 2]]);
    const crossing = await b.createOffer();
    expect(crossing.description!.revision).toBe(2);
    expect(await b.send([crossing])).toEqual({ status: 200, body: { entries: [] } });
    // So does a later revision of it: the server ignores client offers while its own is out.
    const later = { ...crossing, description: { ...crossing.description!, revision: 5 } };
    expect(await b.send([later])).toEqual({ status: 200, body: { entries: [] } });
    expect(f.session(b.session)!.lines.filter((l) => l.down).map((l) => l.state)).toEqual(['offered', 'offered']);

    // b rolls back, answers the server's revision 2, and offers again (the highest revision it saw + 1).
    await b.handle(held.body.entries);
    expect(b.glares).toBe(1);
    expect(transcript(b)).toEqual([
      'sent offer:1',
      'received answer:1',
      'sent ice',
      'received offer:2',
      'sent offer:2',
      'sent offer:5', // sent by the test, outside b's own count of revisions
      'sent answer:2',
      'sent offer:3',
      'received answer:3',
    ]);
    expect(b.signalingState).toBe('stable');
    expect(f.session(b.session)!.lines.filter((l) => l.down).map((l) => l.state)).toEqual(['active', 'active']);
    await b.waitForMedia(a, 'video');
    await b.waitForMedia(a, 'audio');
  });

  test('a stale answer is ignored, the outstanding offer still waits for its own', async () => {
    const a = f.participant('PA');
    await a.join();
    a.startMedia();
    const b = f.participant('PB', { data: true });
    await b.join();
    await b.subscribe(a.tracksToSubscribe());
    await b.waitForMedia(a, 'video');
    const videoMid = b.lineFor(a.videoTrackId!)!.mid;
    const answer2 = b.transcript.find((t) => t.dir === 'sent' && t.entry.description?.type === 'answer')!.entry;
    expect(answer2.description!.revision).toBe(2);

    // Stable: an answer repeated, one for a revision never offered (not even parsed), one for another connection.
    expect(await b.send([answer2])).toEqual({ status: 200, body: { entries: [] } });
    expect(await b.send([{ id: b.pcId, description: { type: 'answer', revision: 7, sdp: 'v=0\r\nnot even SDP\r\n' } }])).toEqual({ status: 200, body: { entries: [] } });
    expect(await b.send([{ id: 'another-connection', description: { type: 'answer', revision: 2, sdp: 'v=0\r\n' } }])).toEqual({ status: 200, body: { entries: [] } });
    await b.waitForMedia(a, 'video');

    // The server offers revision 3 (b drops a's video); b's old answer does not complete it.
    const held = await b.subscribeRaw(a.tracksToSubscribe(['audio']));
    expect(held.body.entries.map((e) => [e.description?.type, e.description?.revision])).toEqual([['offer', 3]]);
    expect(await b.send([answer2])).toEqual({ status: 200, body: { entries: [] } });
    expect(f.session(b.session)!.lines.find((l) => l.kind === 'video' && l.mid.startsWith('s'))?.state).toBe('retiring');
    // A new subscription meanwhile waits for the answer to revision 3, and comes in the offer after it.
    const waiting = await b.subscribeRaw(a.tracksToSubscribe(['audio', 'video']));
    expect(waiting.body.entries).toEqual([]);
    await b.handle(held.body.entries);
    expect(transcript(b).slice(-3)).toEqual(['sent answer:3', 'received offer:4', 'sent answer:4']);
    // The video comes back on the line it left (recycled: idle once the answer took it to inactive).
    expect(b.lineFor(a.videoTrackId!)?.mid).toBe(videoMid);
    expect(b.signalingState).toBe('stable');
    await b.waitForMedia(a, 'audio');
    await b.waitForMedia(a, 'video');
  });
});

describe('subscriptions and publications', () => {
  test("subscriptions set before the publisher's session and offer exist start forwarding when they arrive", async () => {
    const a = f.participant('PA', { data: true, keyFrameInterval: 0 });
    const b = f.participant('PB', { data: true });
    await b.join();
    // a has no session yet: b is told to receive its tracks all the same.
    await b.subscribe(a.tracksToSubscribe());
    expect(b.lineFor(a.audioTrackId!)).toMatchObject({ kind: 'audio', direction: 'sendonly' });
    expect(b.lineFor(a.videoTrackId!)).toMatchObject({ kind: 'video', direction: 'sendonly' });
    expect(f.session(b.session)!.lines.filter((l) => l.down).map((l) => [l.down, l.state])).toEqual([
      [a.audioTrackId, 'active'],
      [a.videoTrackId, 'active'],
    ]);
    await a.openSession();
    await sleep(200);
    expect(b.packetsOf(a.videoTrackId!)).toBe(0);

    // a's first offer publishes them, and forwarding starts (video at a key frame).
    await a.offer();
    a.startMedia();
    await b.waitForMedia(a, 'audio');
    await b.waitForMedia(a, 'video');
    const video = b.received.get(b.lineFor(a.videoTrackId!)!.mid)!;
    expect(video.log[0]!.keyFrame).toBe(true);

    // The data track too, once a's channel is open at the server.
    await waitFor("a's data channel to open", () => a.dataChannelOpen, { timeoutMs: 5_000 });
    await waitFor('the server to see it', () => f.session(a.session)?.data.length === 1, { timeoutMs: 5_000 });
    expect(a.sendData('late but here')).toBe(true);
    await waitFor("b to receive a's message", () => b.messages.some((m) => m.label === a.dataTrackId && m.data === 'late but here'), { timeoutMs: 5_000, detail: () => b.messages });
  });

  test("Firefox's first offer: port 0 bundle-only sections are published, at Firefox's payload types", async () => {
    const firefox = f.participant('PAfirefox', { audioPayloadType: 109, videoPayloadType: 120, data: true });
    await firefox.openSession();
    const offer = await firefox.createOffer((sdp) => {
      // Every section after the first: port 0, bundle-only, no candidates (what Firefox sends).
      const sections = sdp.split(/(?=\r\nm=)/);
      return [
        sections[0],
        ...sections.slice(1).map((s) =>
          s
            .replace(/^\r\nm=(\w+) \d+/, '\r\nm=$1 0')
            .replace(/(\r\nc=[^\r\n]*)/, '$1\r\na=bundle-only')
            .replace(/\r\na=candidate:[^\r\n]*/g, '')
            .replace(/\r\na=end-of-candidates/g, ''),
        ),
      ].join('');
    });
    expect(offer.description!.sdp).toMatch(/m=video 0 [^\r\n]*\r\nc=[^\r\n]*\r\na=bundle-only/);
    expect(offer.description!.sdp).toMatch(/m=application 0 [^\r\n]*\r\nc=[^\r\n]*\r\na=bundle-only/);
    const answer = await firefox.deliver([offer]);
    expect(answer[0]!.description!.sdp).toMatch(/m=video [1-9]\d* UDP\/TLS\/RTP\/SAVPF 120\r\n/);
    expect(answer[0]!.description!.sdp).toMatch(/m=audio [1-9]\d* UDP\/TLS\/RTP\/SAVPF 109\r\n/);
    await firefox.waitConnected();
    firefox.startMedia();

    const chrome = f.participant('PAchrome');
    await chrome.join();
    await chrome.subscribe(firefox.tracksToSubscribe(['audio', 'video']));
    await chrome.waitForMedia(firefox, 'video');
    await chrome.waitForMedia(firefox, 'audio');
    expect(f.session(firefox.session)!.published.map((p) => p.key).sort()).toEqual([`${firefox.session}/${firefox.audioTrackId}`, `${firefox.session}/${firefox.videoTrackId}`]);
    await waitFor('the data channel of the bundle-only application section to open', () => firefox.dataChannelOpen, { timeoutMs: 5_000 });
  });

  test('a client that trickles its ICE candidates connects', async () => {
    const p = f.participant('PA1', { data: true });
    await p.join();
    expect(transcript(p)).toEqual(['sent offer:1', 'received answer:1', 'sent ice']);
    const offerSdp = p.transcript[0]!.entry.description!.sdp!;
    expect(offerSdp).not.toMatch(/a=candidate:/);
    expect(p.transcript[2]!.entry.ice).toMatchObject({ revision: 1, ufrag: p.localUfrag, complete: true, candidates: [expect.objectContaining({ candidate: expect.stringMatching(/^candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 \d+ typ host/), sdpMid: '0' })] });
    await p.waitConnected();
    expect(f.session(p.session)?.state).toBe('connected');
  });

  test('ICE candidates that arrive before the first offer are taken, and unusable ones are skipped', async () => {
    const publisher = f.participant('PA1');
    await publisher.join();
    publisher.startMedia();
    const p = f.participant('PA2');
    await p.openSession();
    const offer = await p.createOffer();
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer.description!.sdp!)?.[1];
    // Candidates reach the server before the offer (a client trickles as soon as it gathers): one
    // nobody answers at (so that the server cannot finish ICE before the client has its answer), an
    // mDNS name, a TCP one, one with an a= prefix, and garbage. Then candidates of an older generation.
    const candidates = [
      'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host generation 0',
      'candidate:2 1 udp 2122260223 0b7a1a8c-57c4-4c9d-9d4a-33e6c2c9b1de.local 50000 typ host',
      'candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype passive',
      'a=candidate:4 1 UDP 2122260222 127.0.0.1 10 typ host',
      'not a candidate',
      '',
    ].map((candidate) => ({ candidate, sdpMid: '0', sdpMLineIndex: 0 }));
    expect(await p.send([{ id: p.pcId, ice: { revision: 1, ufrag, candidates, complete: false } }])).toEqual({ status: 200, body: { entries: [] } });
    expect(await p.send([{ id: p.pcId, ice: { revision: 2, ufrag: 'old1', candidates: [{ candidate: 'candidate:9 1 udp 1 127.0.0.1 11 typ host', sdpMid: null, sdpMLineIndex: null }] } }])).toEqual({ status: 200, body: { entries: [] } });
    // The offer is answered, the client's own candidates follow, and the connection comes up.
    await p.deliver([offer]);
    await p.waitConnected();
    await p.subscribe(publisher.tracksToSubscribe(['video']));
    await p.waitForMedia(publisher, 'video');
  });
});
