/**
 * Unit tests of what the media server reads and writes itself: SDP (sdp/sdp.ts, sdp/munge.ts and
 * how session/lines.ts picks codecs from it), RTP (rtp/rtp.ts) and RTCP (rtp/rtcp.ts). RTP and RTCP
 * are checked against bytes built by hand from the RFCs, not only against the server's own readers.
 */
import { describe, expect, test } from 'vitest';
import { clientCodecs, describe as describeLine, sectionCodec, upstreamExtensions, type Line } from '../src/session/lines';
import { announceCandidates, unifySetup } from '../src/sdp/munge';
import { attr, parseSdp, receives, reverse, SdpError, sends, serialize } from '../src/sdp/sdp';
import { nack, pli, readRtcp, receiverReport, remb, senderReport } from '../src/rtp/rtcp';
import {
  extension,
  isH264KeyFrame,
  isKeyFrame,
  isRtcp,
  isRtp,
  isVp8KeyFrame,
  marker,
  payloadLength,
  payloadOffset,
  payloadType,
  rewriteHeader,
  seqDiff,
  sequenceNumber,
  ssrc,
  timestamp,
  withoutExtensions,
} from '../src/rtp/rtp';
import { CHROME_OFFER, FIREFOX_OFFER, FIREFOX_REANSWER, LIBDATACHANNEL_ANSWER } from './support/browser-sdp';

// ---- SDP ----

describe('parseSdp: Chrome', () => {
  const desc = parseSdp(CHROME_OFFER);

  test('session level: BUNDLE group, no session-level ICE credentials', () => {
    expect(desc.bundle).toEqual(['0', '1', '2']);
    expect(desc.session[0]).toBe('v=0');
    expect(desc.session).toContain('a=extmap-allow-mixed');
    expect(desc.iceUfrag).toBeNull();
    expect(desc.iceLite).toBe(false);
    expect(desc.media.map((m) => [m.kind, m.mid, m.port])).toEqual([
      ['audio', '0', 9],
      ['video', '1', 9],
      ['application', '2', 9],
    ]);
  });

  test('audio section: codecs in m-line order, fmtp, feedback, extensions, msid, ssrc', () => {
    const audio = desc.media[0]!;
    expect(audio.proto).toBe('UDP/TLS/RTP/SAVPF');
    expect(audio.formats).toEqual(['111', '63', '9', '0', '8', '13', '110', '126']);
    expect(audio.codecs.map((c) => [c.payloadType, c.name])).toEqual([
      [111, 'OPUS'],
      [63, 'RED'],
      [9, 'G722'],
      [0, 'PCMU'],
      [8, 'PCMA'],
      [13, 'CN'],
      [110, 'TELEPHONE-EVENT'],
      [126, 'TELEPHONE-EVENT'],
    ]);
    expect(audio.codecs[0]).toEqual({ payloadType: 111, name: 'OPUS', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', feedback: ['transport-cc'] });
    expect(audio.direction).toBe('sendrecv');
    expect(audio.msid).toEqual({ stream: '3f2c2d4e-7a1b-4c69-9b51-1b5d0c3e8f10', track: '8a5e7c1d-2b3f-4e6a-9c8d-7f6e5d4c3b2a' });
    expect(audio.ssrcs).toEqual([1001001001]);
    expect(audio.simulcast).toBeNull();
    expect(audio.extensions.get(1)).toBe('urn:ietf:params:rtp-hdrext:ssrc-audio-level');
    expect(audio.extensions.get(4)).toBe('urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(audio.iceUfrag).toBe('Lq2Z');
    expect(audio.icePwd).toBe('ZtXq9hC4b3GxJm2kKq7wPn1v');
    expect(audio.setup).toBe('actpass');
    expect(audio.fingerprint).toMatch(/^sha-256 7B:8B/);
    expect(audio.bundleOnly).toBe(false);
    expect(audio.rejected).toBe(false);
  });

  test('video section: simulcast by SSRC group, RTX pairs, every SSRC once', () => {
    const video = desc.media[1]!;
    expect(video.simulcast).toEqual([2001, 2002, 2003]);
    expect(video.rtxPairs).toEqual([
      [2001, 2101],
      [2002, 2102],
      [2003, 2103],
    ]);
    expect(video.ssrcs).toEqual([2001, 2101, 2002, 2102, 2003, 2103]);
    expect(video.msid?.track).toBe('c4b3a2f1-9e8d-4c7b-a6f5-e4d3c2b1a090');
    const vp8 = video.codecs.find((c) => c.name === 'VP8')!;
    expect(vp8).toMatchObject({ payloadType: 96, clockRate: 90000, feedback: ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli'] });
    expect(video.codecs.filter((c) => c.name === 'RTX').map((c) => [c.payloadType, c.fmtp])).toEqual([
      [97, 'apt=96'],
      [103, 'apt=102'],
      [105, 'apt=104'],
      [36, 'apt=35'],
    ]);
    expect(video.extensions.get(10)).toBe('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
    expect(video.rids).toEqual([]);
  });

  test('application section', () => {
    const app = desc.media[2]!;
    expect(app).toMatchObject({ kind: 'application', proto: 'UDP/DTLS/SCTP', formats: ['webrtc-datachannel'], codecs: [], sctpPort: 5000, maxMessageSize: 262144, msid: null });
  });
});

describe('parseSdp: Firefox', () => {
  const desc = parseSdp(FIREFOX_OFFER);

  test('its first offer: later sections are port 0 and bundle-only, which is not rejected', () => {
    expect(desc.bundle).toEqual(['0', '1', '2']);
    expect(desc.media.map((m) => [m.kind, m.port, m.bundleOnly, m.rejected])).toEqual([
      ['audio', 9, false, false],
      ['video', 0, true, false],
      ['application', 0, true, false],
    ]);
  });

  test('ICE credentials per section, fingerprint at session level', () => {
    expect(desc.iceUfrag).toBeNull();
    expect(desc.media.map((m) => m.iceUfrag)).toEqual(['5f2a9c1e', '5f2a9c1e', '5f2a9c1e']);
    expect(desc.media[0]!.fingerprint).toBeNull();
    expect(attr(desc.session, 'fingerprint')).toMatch(/^sha-256 1D:EA/);
  });

  test('fmtp lines before their rtpmap lines still belong to their codec', () => {
    const video = desc.media[1]!;
    expect(video.codecs.map((c) => [c.payloadType, c.name])).toEqual([
      [120, 'VP8'],
      [124, 'RTX'],
      [121, 'VP9'],
      [125, 'RTX'],
      [126, 'H264'],
      [127, 'RTX'],
      [97, 'H264'],
      [98, 'RTX'],
    ]);
    expect(video.codecs[0]).toEqual({ payloadType: 120, name: 'VP8', clockRate: 90000, fmtp: 'max-fs=12288;max-fr=60', feedback: ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'] });
    expect(video.codecs.find((c) => c.payloadType === 126)!.fmtp).toContain('packetization-mode=1');
    const audio = desc.media[0]!;
    expect(audio.codecs[0]).toMatchObject({ payloadType: 109, name: 'OPUS', clockRate: 48000, channels: 2, fmtp: 'maxplaybackrate=48000;stereo=1;useinbandfec=1' });
    expect(audio.codecs.find((c) => c.payloadType === 9)).toMatchObject({ name: 'G722', clockRate: 8000, channels: 1 });
  });

  test('extmap with a direction, msid in braces, SSRCs without a SIM group', () => {
    const [audio, video] = desc.media;
    expect(audio!.extensions.get(2)).toBe('urn:ietf:params:rtp-hdrext:csrc-audio-level');
    expect(video!.extensions.get(6)).toBe('http://www.webrtc.org/experiments/rtp-hdrext/playout-delay');
    expect(audio!.msid).toEqual({ stream: '{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}', track: '{9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f}' });
    expect(video!.ssrcs).toEqual([2309941384, 1279474214]);
    expect(video!.rtxPairs).toEqual([[2309941384, 1279474214]]);
    expect(video!.simulcast).toBeNull();
    expect(desc.media[2]!.maxMessageSize).toBe(1073741823);
  });

  test('a port 0 section without bundle-only is rejected', () => {
    const rejected = parseSdp(FIREFOX_OFFER.replace('m=video 0 UDP/TLS/RTP/SAVPF 120 124 121 125 126 127 97 98\r\nc=IN IP4 0.0.0.0\r\na=bundle-only\r\n', 'm=video 0 UDP/TLS/RTP/SAVPF 120 124 121 125 126 127 97 98\r\nc=IN IP4 0.0.0.0\r\n'));
    expect(rejected.media[1]).toMatchObject({ port: 0, bundleOnly: false, rejected: true });
  });
});

describe('parseSdp: details and malformed input', () => {
  const minimal = (media: string[], session: string[] = []) => ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', ...session, ...media].join('\r\n') + '\r\n';

  test('msid forms: "-" stream, a single id, only the first msid counts', () => {
    const desc = parseSdp(minimal(['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:a', 'a=msid:- trackA', 'a=msid:other trackB', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v', 'a=msid:onlyone', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:w']));
    expect(desc.media.map((m) => m.msid)).toEqual([{ stream: '-', track: 'trackA' }, { stream: 'onlyone', track: 'onlyone' }, null]);
  });

  test('directions, ice-lite, rids, LF line endings, the m-line port range form', () => {
    const text = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=ice-lite', 'a=ice-ufrag:sess', 'm=video 9/2 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=recvonly', 'a=rid:h send', 'a=rid:l send', 'a=simulcast:send h;l', 'm=audio 9 RTP/AVP', 'a=inactive'].join('\n');
    const desc = parseSdp(text);
    expect(desc.iceLite).toBe(true);
    expect(desc.iceUfrag).toBe('sess');
    expect(desc.media[0]).toMatchObject({ port: 9, direction: 'recvonly', rids: ['h', 'l'], formats: ['96'] });
    expect(desc.media[1]).toMatchObject({ kind: 'audio', direction: 'inactive', formats: [], mid: null });
  });

  test('what is not SDP is an SdpError', () => {
    expect(() => parseSdp('')).toThrow(SdpError);
    expect(() => parseSdp('hello')).toThrow(/must start with v=0/);
    expect(() => parseSdp(null as unknown as string)).toThrow(SdpError);
    expect(() => parseSdp('v=0\r\nthis is not a line\r\n')).toThrow(/malformed SDP line 'this is not a line'/);
    expect(() => parseSdp(minimal(['m=audio nine UDP/TLS/RTP/SAVPF 111']))).toThrow(/malformed m-line 0/);
    expect(() => parseSdp(minimal(['m=audio']))).toThrow(SdpError);
    const many = Array.from({ length: 257 }, (_, i) => [`m=audio 9 UDP/TLS/RTP/SAVPF 111`, `a=mid:${i}`]).flat();
    expect(() => parseSdp(minimal(many))).toThrow(/too many media sections/);
    expect(parseSdp(minimal(many.slice(0, 512))).media).toHaveLength(256);
  });

  test('attr, reverse, sends, receives, serialize', () => {
    expect(attr(['a=mid:1', 'a=mid:2', 'a=setup: active '], 'setup')).toBe('active');
    expect(attr(['a=mid:1'], 'msid')).toBeNull();
    expect(reverse('sendonly')).toBe('recvonly');
    expect(reverse('recvonly')).toBe('sendonly');
    expect(reverse('sendrecv')).toBe('sendrecv');
    expect(reverse('inactive')).toBe('inactive');
    expect([sends('sendrecv'), sends('sendonly'), sends('recvonly'), sends('inactive')]).toEqual([true, true, false, false]);
    expect([receives('sendrecv'), receives('sendonly'), receives('recvonly'), receives('inactive')]).toEqual([true, false, true, false]);
    const desc = parseSdp(CHROME_OFFER);
    expect(serialize(desc.session, desc.media.map((m) => m.lines))).toBe(CHROME_OFFER);
  });
});

describe('session/lines: the codecs taken from browser descriptions', () => {
  test("Chrome's and Firefox's payload types for Opus and VP8", () => {
    expect(clientCodecs(parseSdp(CHROME_OFFER), 'VP8', { audio: null, video: null })).toEqual({
      audio: { payloadType: 111, name: 'OPUS', fmtp: 'minptime=10;useinbandfec=1' },
      video: { payloadType: 96, name: 'VP8', fmtp: undefined },
    });
    expect(clientCodecs(parseSdp(FIREFOX_OFFER), 'VP8', { audio: null, video: null })).toEqual({
      audio: { payloadType: 109, name: 'OPUS', fmtp: 'maxplaybackrate=48000;stereo=1;useinbandfec=1' },
      video: { payloadType: 120, name: 'VP8', fmtp: 'max-fs=12288;max-fr=60' },
    });
  });

  test('H264 only with packetization-mode=1', () => {
    expect(sectionCodec(parseSdp(CHROME_OFFER).media[1]!, 'H264')).toMatchObject({ payloadType: 104, name: 'H264' });
    expect(sectionCodec(parseSdp(FIREFOX_OFFER).media[1]!, 'H264')).toMatchObject({ payloadType: 126, name: 'H264' });
    const onlyMode0 = parseSdp(CHROME_OFFER.replace('packetization-mode=1', 'packetization-mode=0'));
    expect(sectionCodec(onlyMode0.media[1]!, 'H264')).toBeNull();
  });

  test('a description without the codec keeps what was learned before', () => {
    const previous = { audio: { payloadType: 109, name: 'OPUS' }, video: { payloadType: 120, name: 'VP8' } };
    const audioOnly = parseSdp(['v=0', 's=-', 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=rtpmap:0 PCMU/8000'].join('\r\n'));
    expect(clientCodecs(audioOnly, 'VP8', previous)).toEqual(previous);
  });

  test('upstream lines keep only the mid and audio level extensions, at the client ids', () => {
    const chrome = parseSdp(CHROME_OFFER);
    expect(upstreamExtensions(chrome.media[0]!)).toEqual([
      [1, 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
      [4, 'urn:ietf:params:rtp-hdrext:sdes:mid'],
    ]);
    expect(upstreamExtensions(chrome.media[1]!)).toEqual([[4, 'urn:ietf:params:rtp-hdrext:sdes:mid']]);
    expect(upstreamExtensions(parseSdp(FIREFOX_OFFER).media[1]!)).toEqual([[3, 'urn:ietf:params:rtp-hdrext:sdes:mid']]);
  });

  test('a line is described with its direction, and with an msid only when it sends', () => {
    const line: Line = { mid: 's0', kind: 'video', ours: true, upstream: null, downstream: { ref: { session: 'PA1.1', id: 'track-1', kind: 'video', sid: 'MT1' }, ssrc: 1234, stream: 'PA1' }, state: 'offered', dead: false, codec: null, extensions: [[4, 'urn:ietf:params:rtp-hdrext:sdes:mid']], described: '' };
    const codec = { payloadType: 120, name: 'VP8' };
    expect(describeLine(line, codec, false, true)).toEqual({ mid: 's0', kind: 'video', direction: 'SendOnly', payloadType: 120, codec: 'VP8', fmtp: undefined, extensions: [], send: { ssrc: 1234, cname: 'atrium', stream: 'PA1', track: 'track-1' } });
    const receiving = describeLine(line, codec, true, false);
    expect(receiving).toMatchObject({ direction: 'RecvOnly', extensions: [[4, 'urn:ietf:params:rtp-hdrext:sdes:mid']] });
    expect(receiving.send).toBeUndefined();
    expect(describeLine(line, codec, false, false).direction).toBe('Inactive');
    expect(describeLine({ ...line, kind: 'audio' }, { payloadType: 109, name: 'OPUS' }, true, true)).toMatchObject({ direction: 'SendRecv', fmtp: 'minptime=10;useinbandfec=1' });
  });
});

describe('munge', () => {
  test('unifySetup gives every section the first section\'s DTLS role', () => {
    const fixed = unifySetup(FIREFOX_REANSWER);
    expect(fixed.match(/a=setup:\w+/g)).toEqual(['a=setup:passive', 'a=setup:passive', 'a=setup:passive']);
    expect(fixed.replace(/a=setup:\w+/g, '')).toBe(FIREFOX_REANSWER.replace(/a=setup:\w+/g, ''));
    const activeFirst = FIREFOX_REANSWER.replace('a=setup:passive', 'a=setup:active');
    expect(unifySetup(activeFirst).match(/a=setup:\w+/g)).toEqual(['a=setup:active', 'a=setup:active', 'a=setup:active']);
    const none = 'v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n';
    expect(unifySetup(none)).toBe(none);
    expect(parseSdp(fixed).media.map((m) => m.setup)).toEqual(['passive', 'passive', 'passive']);
  });

  test('announceCandidates puts one host candidate per announced address and port in place of the gathered ones', () => {
    const out = announceCandidates(LIBDATACHANNEL_ANSWER, ['198.51.100.7', '127.0.0.1']);
    const lines = out.split('\r\n');
    expect(lines.filter((l) => l.startsWith('a=candidate:'))).toEqual(['a=candidate:1 1 UDP 2130706431 198.51.100.7 40001 typ host', 'a=candidate:2 1 UDP 2130706430 127.0.0.1 40001 typ host']);
    expect(lines.filter((l) => l === 'a=end-of-candidates')).toHaveLength(1);
    // Where the gathered candidates were: in the first section, right after its ICE credentials.
    const first = lines.indexOf('a=candidate:1 1 UDP 2130706431 198.51.100.7 40001 typ host');
    expect(lines[first - 1]).toBe('a=ice-pwd:xpeXzBlQQ4/8X7ns7/fxJl');
    expect(lines[first + 2]).toBe('a=end-of-candidates');
    expect(lines[first + 3]).toBe('m=video 40001 UDP/TLS/RTP/SAVPF 96');
    // Nothing else changed.
    const strip = (s: string) => s.split('\r\n').filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates');
    expect(strip(out)).toEqual(strip(LIBDATACHANNEL_ANSWER));
    expect(out.endsWith('\r\n')).toBe(true);
    expect(parseSdp(out).media).toHaveLength(2);
  });

  test('announceCandidates: each host port of component 1 once, srflx and TCP ports not taken', () => {
    const twoPorts = LIBDATACHANNEL_ANSWER.replace('a=end-of-candidates', 'a=candidate:5 1 UDP 2122317000 10.1.2.3 40002 typ host\r\na=candidate:6 2 UDP 2122317000 10.1.2.3 40003 typ host\r\na=end-of-candidates');
    const out = announceCandidates(twoPorts, ['127.0.0.1']);
    expect(out.split('\r\n').filter((l) => l.startsWith('a=candidate:'))).toEqual(['a=candidate:1 1 UDP 2130706431 127.0.0.1 40001 typ host', 'a=candidate:2 1 UDP 2130706430 127.0.0.1 40002 typ host']);
  });

  test('announceCandidates leaves a description without host candidates as it is', () => {
    const none = LIBDATACHANNEL_ANSWER.split('\r\n').filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n');
    expect(announceCandidates(none, ['127.0.0.1'])).toBe(none);
    expect(announceCandidates(CHROME_OFFER, ['127.0.0.1'])).toBe(CHROME_OFFER);
  });
});

// ---- RTP ----

/** An RTP packet built byte by byte (RFC 3550 §5.1). */
function rtpBytes(o: { pt?: number; marker?: boolean; seq?: number; ts?: number; ssrc?: number; csrcs?: number[]; ext?: number[]; payload?: number[]; padding?: number }): Buffer {
  const csrcs = o.csrcs ?? [];
  const padding = o.padding ?? 0;
  const bytes = [
    0x80 | (padding ? 0x20 : 0) | (o.ext ? 0x10 : 0) | csrcs.length,
    (o.marker ? 0x80 : 0) | (o.pt ?? 96),
    ((o.seq ?? 1) >> 8) & 0xff,
    (o.seq ?? 1) & 0xff,
    ...u32(o.ts ?? 0),
    ...u32(o.ssrc ?? 0x11223344),
    ...csrcs.flatMap(u32),
    ...(o.ext ?? []),
    ...(o.payload ?? []),
    ...(padding ? [...Array(padding - 1).fill(0), padding] : []),
  ];
  return Buffer.from(bytes);
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A one-byte-header extension block: mid "1" (id 4, 1 byte) and audio level (id 1, 1 byte), padded. */
const EXT_ONE_BYTE = [0xbe, 0xde, 0x00, 0x02, 0x40, 0x31, 0x10, 0x9e, 0x00, 0x00, 0x00, 0x00];

describe('rtp', () => {
  test('RTP and RTCP are told apart by the payload type after the marker bit (RFC 5761)', () => {
    expect(isRtcp(Buffer.from([0x80, 200, 0, 6]))).toBe(true);
    expect(isRtcp(Buffer.from([0x81, 206, 0, 2]))).toBe(true);
    expect(isRtcp(Buffer.from([0x81, 205, 0, 2]))).toBe(true);
    expect(isRtcp(rtpBytes({ pt: 96, marker: true }))).toBe(false);
    expect(isRtcp(rtpBytes({ pt: 111 }))).toBe(false);
    expect(isRtcp(Buffer.from([0x80, 200]))).toBe(false);
    expect(isRtp(rtpBytes({ pt: 96, marker: true }))).toBe(true);
    expect(isRtp(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(isRtp(Buffer.from([0x40, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(isRtp(Buffer.from([0x80, 96, 0, 1]))).toBe(false);
  });

  test('header fields, unsigned', () => {
    const p = rtpBytes({ pt: 120, marker: true, seq: 0xfffe, ts: 0xfedcba98, ssrc: 0x89abcdef });
    expect(payloadType(p)).toBe(120);
    expect(marker(p)).toBe(true);
    expect(sequenceNumber(p)).toBe(0xfffe);
    expect(timestamp(p)).toBe(0xfedcba98);
    expect(ssrc(p)).toBe(0x89abcdef);
    expect(marker(rtpBytes({}))).toBe(false);
  });

  test('payload offset and length: CSRCs, extension, padding; malformed is -1', () => {
    expect(payloadOffset(rtpBytes({ payload: [1, 2, 3] }))).toBe(12);
    expect(payloadOffset(rtpBytes({ csrcs: [1, 2], payload: [1] }))).toBe(20);
    expect(payloadOffset(rtpBytes({ csrcs: [1], ext: EXT_ONE_BYTE, payload: [1] }))).toBe(28);
    expect(payloadLength(rtpBytes({ ext: EXT_ONE_BYTE, payload: [1, 2, 3, 4, 5], padding: 3 }))).toBe(5);
    expect(payloadLength(rtpBytes({ payload: [] }))).toBe(0);
    const truncatedExt = Buffer.from(rtpBytes({ ext: [0xbe, 0xde, 0x00, 0x09, 0x10, 0x00, 0x00, 0x00] }));
    expect(payloadOffset(truncatedExt)).toBe(-1);
    expect(payloadLength(truncatedExt)).toBe(-1);
    expect(payloadOffset(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe]))).toBe(-1);
    // Padding that claims more bytes than the payload has.
    const badPadding = rtpBytes({ payload: [1, 2, 30] });
    badPadding[0] = badPadding[0]! | 0x20;
    expect(payloadLength(badPadding)).toBe(-1);
  });

  test('rewriteHeader changes payload type, sequence number, timestamp and SSRC only, keeping the marker', () => {
    const p = rtpBytes({ pt: 96, marker: true, seq: 10, ts: 1000, ssrc: 1, csrcs: [7], ext: EXT_ONE_BYTE, payload: [9, 8, 7] });
    const before = Buffer.from(p);
    rewriteHeader(p, 120, 0xabcd, 0xffffffff, 0xdeadbeef);
    expect(payloadType(p)).toBe(120);
    expect(marker(p)).toBe(true);
    expect(sequenceNumber(p)).toBe(0xabcd);
    expect(timestamp(p)).toBe(0xffffffff);
    expect(ssrc(p)).toBe(0xdeadbeef);
    expect(p[0]).toBe(before[0]);
    expect(p.subarray(12)).toEqual(before.subarray(12));
    const unmarked = rtpBytes({ pt: 111 });
    rewriteHeader(unmarked, 109, 1, 2, 3);
    expect(unmarked[1]).toBe(109);
  });

  test('extension() reads one-byte and two-byte header extensions (RFC 8285)', () => {
    const one = rtpBytes({ ext: EXT_ONE_BYTE, payload: [1] });
    expect(extension(one, 4)).toEqual(Buffer.from('1'));
    expect(extension(one, 1)).toEqual(Buffer.from([0x9e]));
    expect(extension(one, 2)).toBeNull();
    expect(extension(rtpBytes({ payload: [1] }), 1)).toBeNull();
    // Padding bytes between elements; id 15 stops parsing.
    const padded = rtpBytes({ ext: [0xbe, 0xde, 0x00, 0x02, 0x00, 0x00, 0x21, 0xaa, 0xbb, 0xf0, 0x30, 0x01] });
    expect(extension(padded, 2)).toEqual(Buffer.from([0xaa, 0xbb]));
    expect(extension(padded, 3)).toBeNull();
    // Two-byte form: id, length, value.
    const two = rtpBytes({ ext: [0x10, 0x00, 0x00, 0x02, 0x05, 0x03, 0x61, 0x62, 0x63, 0x00, 0x07, 0x00] });
    expect(extension(two, 5)).toEqual(Buffer.from('abc'));
    expect(extension(two, 7)).toEqual(Buffer.alloc(0));
    expect(extension(two, 6)).toBeNull();
    // An extension block longer than the packet.
    expect(extension(Buffer.from(rtpBytes({ ext: [0xbe, 0xde, 0x00, 0x05, 0x40, 0x31, 0, 0] })), 4)).toBeNull();
  });

  test('withoutExtensions strips the extension block and the X bit, keeping CSRCs and payload', () => {
    const p = rtpBytes({ pt: 96, marker: true, seq: 5, csrcs: [0x01020304], ext: EXT_ONE_BYTE, payload: [1, 2, 3] });
    const out = withoutExtensions(p);
    expect(out).toEqual(rtpBytes({ pt: 96, marker: true, seq: 5, csrcs: [0x01020304], payload: [1, 2, 3] }));
    expect(p[0]! & 0x10).toBe(0x10);
    const plain = rtpBytes({ payload: [1, 2] });
    const copy = withoutExtensions(plain);
    expect(copy).toEqual(plain);
    copy[12] = 99;
    expect(plain[12]).toBe(1);
    const malformed = Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0x00, 0x09]);
    expect(withoutExtensions(malformed)).toEqual(malformed);
  });

  test('seqDiff wraps around', () => {
    expect(seqDiff(100, 50)).toBe(50);
    expect(seqDiff(50, 100)).toBe(-50);
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(5, 65530)).toBe(11);
    expect(seqDiff(32767, 0)).toBe(32767);
    expect(seqDiff(32768, 0)).toBe(-32768);
  });
});

describe('key frames', () => {
  // VP8 (RFC 7741 §4.2): descriptor, then the frame header whose lowest bit is 0 on a key frame.
  const vp8 = (descriptor: number[], header: number[]) => rtpBytes({ pt: 96, ext: EXT_ONE_BYTE, payload: [...descriptor, ...header, 0xab, 0xcd] });
  const KEY = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
  const DELTA = [0x11, 0x02, 0x00];

  test('VP8: the start of partition 0 of a key frame, with each descriptor form', () => {
    expect(isVp8KeyFrame(vp8([0x10], KEY))).toBe(true);
    expect(isVp8KeyFrame(vp8([0x10], DELTA))).toBe(false);
    // X=1, I=1, 7-bit PictureID
    expect(isVp8KeyFrame(vp8([0x90, 0x80, 0x15], KEY))).toBe(true);
    // X=1, I=1, 15-bit PictureID (M bit), as Chrome and Firefox send it
    expect(isVp8KeyFrame(vp8([0x90, 0x80, 0x81, 0x23], KEY))).toBe(true);
    expect(isVp8KeyFrame(vp8([0x90, 0x80, 0x81, 0x23], DELTA))).toBe(false);
    // X=1, I=1 (15 bits), L=1 (TL0PICIDX), T=1 (TID/KEYIDX byte)
    expect(isVp8KeyFrame(vp8([0x90, 0xe0, 0x81, 0x23, 0x05, 0x40], KEY))).toBe(true);
    expect(isVp8KeyFrame(vp8([0x90, 0xe0, 0x81, 0x23, 0x05, 0x40], DELTA))).toBe(false);
    // X=1, K=1 only
    expect(isVp8KeyFrame(vp8([0x90, 0x10, 0x00], KEY))).toBe(true);
  });

  test('VP8: not the start of a frame, another partition, or truncated', () => {
    expect(isVp8KeyFrame(vp8([0x00], KEY))).toBe(false);
    expect(isVp8KeyFrame(vp8([0x80, 0x80, 0x15], KEY))).toBe(false);
    expect(isVp8KeyFrame(vp8([0x11], KEY))).toBe(false);
    expect(isVp8KeyFrame(rtpBytes({ payload: [] }))).toBe(false);
    expect(isVp8KeyFrame(rtpBytes({ payload: [0x90] }))).toBe(false);
    expect(isVp8KeyFrame(rtpBytes({ payload: [0x90, 0x80] }))).toBe(false);
    expect(isVp8KeyFrame(rtpBytes({ payload: [0x90, 0x80, 0x81, 0x23] }))).toBe(false);
  });

  test('H264: IDR and SPS, alone, in a STAP-A, or at the start of an FU-A (RFC 6184)', () => {
    const h264 = (payload: number[]) => rtpBytes({ pt: 102, payload });
    expect(isH264KeyFrame(h264([0x65, 0x88, 0x84]))).toBe(true); // IDR slice
    expect(isH264KeyFrame(h264([0x67, 0x42, 0x00, 0x1f]))).toBe(true); // SPS
    expect(isH264KeyFrame(h264([0x41, 0x9a, 0x00]))).toBe(false); // non-IDR slice
    expect(isH264KeyFrame(h264([0x68, 0xce]))).toBe(false); // PPS alone
    // STAP-A: SPS (4 bytes), PPS (2 bytes)
    expect(isH264KeyFrame(h264([0x78, 0x00, 0x04, 0x67, 0x42, 0x00, 0x1f, 0x00, 0x02, 0x68, 0xce]))).toBe(true);
    // STAP-A: SEI, then an IDR slice
    expect(isH264KeyFrame(h264([0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x03, 0x65, 0x88, 0x84]))).toBe(true);
    // STAP-A of non-key units only
    expect(isH264KeyFrame(h264([0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a]))).toBe(false);
    // FU-A: start of an IDR, middle of an IDR, start of a non-IDR
    expect(isH264KeyFrame(h264([0x7c, 0x85, 0x88]))).toBe(true);
    expect(isH264KeyFrame(h264([0x7c, 0x05, 0x88]))).toBe(false);
    expect(isH264KeyFrame(h264([0x7c, 0x81, 0x9a]))).toBe(false);
    expect(isH264KeyFrame(h264([0x7c]))).toBe(false);
    expect(isH264KeyFrame(h264([]))).toBe(false);
  });

  test('isKeyFrame by codec', () => {
    const key = vp8([0x10], KEY);
    expect(isKeyFrame(key, 'VP8')).toBe(true);
    expect(isKeyFrame(rtpBytes({ payload: [0x65, 0x88] }), 'H264')).toBe(true);
    expect(isKeyFrame(rtpBytes({ payload: [0x65, 0x88] }), 'VP8')).toBe(false);
  });
});

// ---- RTCP ----

describe('rtcp', () => {
  test('PLI: RFC 4585 §6.3.1 bytes, read back', () => {
    const b = pli(0x11111111, 0x22222222);
    expect([...b]).toEqual([0x81, 206, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]);
    expect(readRtcp(b)).toEqual([{ type: 'pli', mediaSsrc: 0x22222222 }]);
  });

  test('NACK: PID and bitmask of following losses (RFC 4585 §6.2.1), read back', () => {
    expect([...nack(1, 2, [100, 101])]).toEqual([0x81, 205, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 100, 0x00, 0x01]);
    const seqs = [100, 101, 105, 116, 117, 200];
    const b = nack(0xaaaaaaaa, 0xbbbbbbbb, seqs);
    // 100 with 101 (bit 0), 105 (bit 4) and 116 (bit 15); 117 starts a new item, as does 200.
    expect(b.length).toBe(12 + 3 * 4);
    expect(b.readUInt16BE(12)).toBe(100);
    expect(b.readUInt16BE(14)).toBe(0b1000_0000_0001_0001);
    expect(b.readUInt16BE(16)).toBe(117);
    expect(b.readUInt16BE(18)).toBe(0);
    expect(readRtcp(b)).toEqual([{ type: 'nack', mediaSsrc: 0xbbbbbbbb, seqs }]);
    // Unsorted input and the wrap of the sequence space: the same set comes back.
    const wrapped = readRtcp(nack(1, 2, [1, 65535, 0, 65534]))[0];
    expect(wrapped?.type === 'nack' && [...wrapped.seqs].sort((a, b) => a - b)).toEqual([0, 1, 65534, 65535]);
    expect(readRtcp(nack(1, 2, [7]))).toEqual([{ type: 'nack', mediaSsrc: 2, seqs: [7] }]);
  });

  test('REMB: exponent and mantissa, SSRCs, read back', () => {
    const b = remb(0x01020304, 1_000_000, [0x0a0b0c0d, 0x01010101]);
    expect(b[0]).toBe(0x8f);
    expect(b[1]).toBe(206);
    expect(b.readUInt16BE(2)).toBe(6);
    expect(b.readUInt32BE(8)).toBe(0);
    expect(b.toString('ascii', 12, 16)).toBe('REMB');
    expect(b[16]).toBe(2);
    // 1 000 000 = 250 000 × 2^2
    expect(b[17]! >> 2).toBe(2);
    expect(((b[17]! & 3) << 16) | b.readUInt16BE(18)).toBe(250_000);
    expect(readRtcp(b)).toEqual([{ type: 'remb', bitrate: 1_000_000, ssrcs: [0x0a0b0c0d, 0x01010101] }]);
    const odd = readRtcp(remb(1, 1_234_567, [5]))[0];
    expect(odd?.type).toBe('remb');
    if (odd?.type === 'remb') {
      expect(odd.bitrate).toBeLessThanOrEqual(1_234_567);
      expect(odd.bitrate).toBeGreaterThan(1_234_567 - 8);
    }
    expect(readRtcp(remb(1, 150_000, []))).toEqual([{ type: 'remb', bitrate: 150_000, ssrcs: [] }]);
  });

  test('receiver report: one block, read back; cumulative loss clamped to 24 bits', () => {
    const b = receiverReport(0x01010101, { ssrc: 0x02020202, fractionLost: 0.25, cumulativeLost: 1234, highestSeq: 0x0001ffff, jitter: 17, lastSr: 0xabcdef01, delaySinceLastSr: 65536 });
    expect(b.length).toBe(32);
    expect([b[0], b[1], b.readUInt16BE(2)]).toEqual([0x81, 201, 7]);
    expect(b[12]).toBe(64);
    expect((b[13]! << 16) | b.readUInt16BE(14)).toBe(1234);
    expect(b.readUInt32BE(16)).toBe(0x0001ffff);
    expect(readRtcp(b)).toEqual([{ type: 'report', ssrc: 0x02020202, fractionLost: 0.25, cumulativeLost: 1234, highestSeq: 0x0001ffff, jitter: 17, lastSr: 0xabcdef01, delaySinceLastSr: 65536 }]);
    const negative = receiverReport(1, { ssrc: 2, fractionLost: 2, cumulativeLost: -1, highestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 });
    expect(negative[12]).toBe(255);
    expect((negative[13]! << 16) | negative.readUInt16BE(14)).toBe(0xffffff);
    // Read back signed, as RFC 3550 defines it (duplicates can outnumber losses).
    expect(readRtcp(negative)).toMatchObject([{ cumulativeLost: -1 }]);
    const huge = receiverReport(1, { ssrc: 2, fractionLost: -1, cumulativeLost: 1e9, highestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 });
    expect(huge[12]).toBe(0);
    expect((huge[13]! << 16) | huge.readUInt16BE(14)).toBe(0x7fffff);
  });

  test('sender report: NTP time, RTP timestamp and counts, read back', () => {
    const ntp = (0xe8a1b2c3n << 32n) | 0x80000000n;
    const b = senderReport(0xcafebabe, ntp, 0xfffffff0, 1000, 123456);
    expect(b.length).toBe(28);
    expect([b[0], b[1], b.readUInt16BE(2)]).toEqual([0x80, 200, 6]);
    expect(b.readUInt32BE(20)).toBe(1000);
    expect(b.readUInt32BE(24)).toBe(123456);
    expect(readRtcp(b)).toEqual([{ type: 'sr', ssrc: 0xcafebabe, ntp, rtpTimestamp: 0xfffffff0 }]);
  });

  test('a compound packet: SR with a report block, SDES, then feedback, in order', () => {
    const sr = Buffer.from([0x81, 200, 0x00, 0x0c, ...u32(0x1111), ...u32(0xe8a1b2c3), ...u32(0), ...u32(90000), ...u32(10), ...u32(1000), ...u32(0x2222), 0x80, 0, 0, 3, ...u32(500), ...u32(4), ...u32(7), ...u32(8)]);
    const sdes = Buffer.from([0x81, 202, 0x00, 0x03, ...u32(0x1111), 0x01, 0x02, 0x61, 0x62, 0x00, 0x00, 0x00, 0x00]);
    const fir = Buffer.from([0x84, 206, 0x00, 0x04, ...u32(0x1111), ...u32(0), ...u32(0x3333), 0x01, 0, 0, 0]);
    const items = readRtcp(Buffer.concat([sr, sdes, pli(0x1111, 0x3333), fir, nack(0x1111, 0x3333, [9]), remb(0x1111, 500_000, [0x3333])]));
    expect(items).toEqual([
      { type: 'sr', ssrc: 0x1111, ntp: 0xe8a1b2c3n << 32n, rtpTimestamp: 90000 },
      { type: 'report', ssrc: 0x2222, fractionLost: 0.5, cumulativeLost: 3, highestSeq: 500, jitter: 4, lastSr: 7, delaySinceLastSr: 8 },
      { type: 'pli', mediaSsrc: 0x3333 },
      { type: 'fir', mediaSsrcs: [0x3333] },
      { type: 'nack', mediaSsrc: 0x3333, seqs: [9] },
      { type: 'remb', bitrate: 500_000, ssrcs: [0x3333] },
    ]);
  });

  test('an RR from a browser with no report blocks, BYE and APP are read as nothing', () => {
    const emptyRr = Buffer.from([0x80, 201, 0x00, 0x01, ...u32(0x1234)]);
    const bye = Buffer.from([0x81, 203, 0x00, 0x01, ...u32(0x1234)]);
    expect(readRtcp(Buffer.concat([emptyRr, bye]))).toEqual([]);
    expect(readRtcp(Buffer.concat([emptyRr, pli(1, 2)]))).toEqual([{ type: 'pli', mediaSsrc: 2 }]);
  });

  test('malformed RTCP: what comes before the damage is read, nothing throws', () => {
    expect(readRtcp(Buffer.alloc(0))).toEqual([]);
    expect(readRtcp(Buffer.from([0x81]))).toEqual([]);
    // A length that runs past the end.
    const long = Buffer.from(pli(1, 2));
    long.writeUInt16BE(9, 2);
    expect(readRtcp(Buffer.concat([pli(1, 3), long]))).toEqual([{ type: 'pli', mediaSsrc: 3 }]);
    // A version that is not 2.
    const v1 = Buffer.from(pli(1, 2));
    v1[0] = 0x41;
    expect(readRtcp(Buffer.concat([pli(1, 3), v1, pli(1, 4)]))).toEqual([{ type: 'pli', mediaSsrc: 3 }]);
    // Feedback too short to hold its SSRCs; a REMB without its identifier.
    expect(readRtcp(Buffer.from([0x81, 206, 0x00, 0x01, 0, 0, 0, 1]))).toEqual([]);
    const notRemb = remb(1, 1000, [2]);
    notRemb.write('XXXX', 12, 'ascii');
    expect(readRtcp(notRemb)).toEqual([]);
    // A REMB claiming more SSRCs than it holds.
    const lying = remb(1, 1000, [2]);
    lying[16] = 10;
    expect(readRtcp(lying)).toEqual([{ type: 'remb', bitrate: 1000, ssrcs: [2] }]);
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 4 + ((i * 7) % 60) }, (_, j) => (i * 31 + j * 17) & 0xff));
      junk[0] = 0x80 | (junk[0]! & 0x3f);
      expect(() => readRtcp(junk)).not.toThrow();
    }
  });
});
