/// <reference types="node" />
/**
 * Random REST requests for the hostile-input test: Twilio's parameter names and near misses,
 * values of every wrong type and length, broken percent-encoding and UTF-8, odd content types and
 * methods, over every route (and some that do not exist). Everything comes from a seeded Prng, so a
 * failing case is replayed by its seed and index.
 *
 * No generated value is a URL the server could reach beyond loopback: a fuzzed StatusCallback
 * that happened to be valid would make the server send callbacks there.
 */
import type { Prng } from './prng';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** What the case is, for the failure report. */
  describe: string;
}

/** What the fuzzer aims at: real rooms and participants (so routes get past their lookups), and credentials. */
export interface FuzzTargets {
  roomSids: string[];
  roomNames: string[];
  participantSids: string[];
  identities: string[];
  trackSids: string[];
  auth: string;
  /** Credentials of a second account, for /v1/Settings (so fuzzed settings change only that account). */
  otherAuth: string;
}

const PARAM_NAMES = [
  'UniqueName', 'Type', 'StatusCallback', 'StatusCallbackMethod', 'MaxParticipants', 'MaxParticipantDuration',
  'EmptyRoomTimeout', 'UnusedRoomTimeout', 'AudioOnly', 'RecordParticipantsOnConnect', 'TranscribeParticipantsOnConnect',
  'VideoCodecs', 'MediaRegion', 'RecordingRules', 'TranscriptionsConfiguration', 'EnableTurn', 'LargeRoom', 'Status',
  'DateCreatedAfter', 'DateCreatedBefore', 'PageSize', 'Page', 'PageToken', 'Identity', 'Rules', 'ClientRoomCreation',
  // near misses and oddities
  'uniquename', 'UNIQUENAME', 'UniqueName ', ' Status', 'Status[]', 'Status.x', '', '=', '&', '%', '__proto__', 'constructor',
];

const VALUES = [
  '', ' ', 'true', 'false', 'TRUE', 'yes', '0', '1', '-1', '2', '4', '10', '50', '51', '600', '86400', '86401',
  '99999999999999999999', '1e3', '0x10', '1.5', 'NaN', 'Infinity', 'null', 'undefined', '[]', '{}', '[1,2', '{"rules":[]}',
  '[{"type":"include","all":true}]', '[{"type":"exclude","kind":"video"}]', '[{"type":"bogus"}]', '"quoted"',
  'group', 'group-small', 'peer-to-peer', 'go', 'Group', 'in-progress', 'completed', 'failed', 'disconnected', 'connected',
  'reconnecting', 'GET', 'POST', 'get', 'PUT', 'VP8', 'H264', 'VP8,H264', 'VP9', ',,', 'us1', 'gll', 'zz9',
  '2026-01-01', '2026-13-45', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00+25:00', '0000-00-00', 'PAeA', 'PA!!!',
  'PAMTYwMDAwMDAwMDAwOlJNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA', 'RM00000000000000000000000000000000',
  'PA00000000000000000000000000000000', 'http://127.0.0.1:1/cb', 'https://127.0.0.1:1/cb?x=1#frag', 'http://', 'ftp://127.0.0.1/',
  'javascript:alert(1)', '/relative', '\u0000', '\u0007bell', 'tab\there', 'line\nbreak', '\u202eRTL', '😀', '💥'.repeat(200),
  'e\u0301', '\ufffe', '\uffff', 'a'.repeat(128), 'a'.repeat(129), 'x'.repeat(5000), '<script>', "' OR 1=1 --", '../../etc/passwd',
];

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  ';;;',
];

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

/** Percent sequences that decode to nothing valid, or to things that must not pass unnoticed. */
const BAD_ESCAPES = ['%', '%Z', '%ZZ', '%4', '%ED%A0%80', '%FF', '%C0%AF', '%E2%82', '%00', '%F4%90%80%80', '%2F', '%25', '%%'];

/** A random path segment, already URL-safe (percent-encoded or deliberately broken escapes). */
function junkSegment(r: Prng): string {
  switch (r.int(7)) {
    case 0:
      return encodeURIComponent(r.string(r.range(1, 40), 'abcXYZ019-_.~!*()\' "<>#?&=+/\\'));
    case 1:
      return r.pick(BAD_ESCAPES) + r.string(r.range(0, 4), 'abc');
    case 2:
      return encodeURIComponent(r.pick(['😀', '\u202e', 'é', '\u0000', '\ufffe', '漢字', 'e\u0301']).repeat(r.range(1, 20)));
    case 3:
      return 'a'.repeat(r.pick([129, 1025, 4000]));
    case 4:
      return r.pick(['.', '..', '%2e%2e', 'RM' + 'F'.repeat(32), 'PA' + 'f'.repeat(32), 'MT' + '0'.repeat(32), 'RM123']);
    case 5:
      return 'RM' + r.string(32, '0123456789abcdef');
    default:
      return encodeURIComponent(r.pick(VALUES));
  }
}

function roomSegment(r: Prng, t: FuzzTargets): string {
  if (r.chance(0.75)) return encodeURIComponent(r.pick(r.chance(0.6) ? t.roomSids : t.roomNames));
  return junkSegment(r);
}

function participantSegment(r: Prng, t: FuzzTargets): string {
  if (r.chance(0.7)) return encodeURIComponent(r.pick(r.chance(0.6) ? t.participantSids : t.identities));
  return junkSegment(r);
}

function path(r: Prng, t: FuzzTargets): string {
  const room = () => roomSegment(r, t);
  const participant = () => participantSegment(r, t);
  const track = () => (r.chance(0.6) && t.trackSids.length ? r.pick(t.trackSids) : junkSegment(r));
  switch (r.int(14)) {
    case 0:
    case 1:
    case 2:
      return '/v1/Rooms';
    case 3:
    case 4:
      return `/v1/Rooms/${room()}`;
    case 5:
    case 6:
      return `/v1/Rooms/${room()}/Participants`;
    case 7:
    case 8:
      return `/v1/Rooms/${room()}/Participants/${participant()}`;
    case 9:
      return `/v1/Rooms/${room()}/Participants/${participant()}/${r.pick(['PublishedTracks', 'SubscribedTracks'])}`;
    case 10:
      return `/v1/Rooms/${room()}/Participants/${participant()}/${r.pick(['PublishedTracks', 'SubscribedTracks'])}/${track()}`;
    case 11:
      return `/v1/Rooms/${room()}/Participants/${participant()}/SubscribeRules`;
    case 12:
      return '/v1/Settings/Rooms';
    default:
      // Paths Atrium does not serve, and mangled ones.
      return r.pick([
        `/v1/Rooms/${room()}/Recordings`,
        `/v1/Rooms/${room()}/Participants/${participant()}/Anonymize`,
        `/v1/${junkSegment(r)}`,
        `/v1/Rooms/${room()}/${junkSegment(r)}/${junkSegment(r)}`,
        '/v1/Rooms/',
        '/v1//Rooms',
        '/v1/Rooms/%2F..%2F',
        '/v2/Rooms',
        '/v1',
      ]);
  }
}

function paramName(r: Prng): string {
  return r.chance(0.85) ? r.pick(PARAM_NAMES) : decodeURIComponent(encodeURIComponent(r.string(r.range(1, 12), 'aZ9_-. [](){}$')));
}

function paramValue(r: Prng): string {
  const v = r.chance(0.8) ? r.pick(VALUES) : r.string(r.range(0, 60), 'abcXYZ0129 -_.,:;!?@#$%^&*()[]{}<>/\\|"\'`~+=\u00e9\u4e2d');
  // Never a URL the server could reach beyond loopback (see the file comment).
  return /^[a-z][a-z0-9+.-]*:\/\/(?!127\.0\.0\.1[:/])/i.test(v) ? 'http://127.0.0.1:1/cb' : v;
}

/** A query or form body: properly encoded, raw and unencoded, or with broken escapes. */
function encodedParams(r: Prng): string {
  const n = r.range(0, 6);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = paramName(r);
    const value = paramValue(r);
    switch (r.int(5)) {
      case 0:
        parts.push(`${name}=${value}`.replace(/[#\s]/g, '+')); // raw, as a careless client sends it
        break;
      case 1:
        parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}${r.pick(BAD_ESCAPES)}`);
        break;
      case 2:
        parts.push(encodeURIComponent(name)); // no '=' at all
        break;
      default:
        parts.push(new URLSearchParams([[name, value]]).toString());
    }
  }
  if (r.chance(0.1)) parts.push(parts[0] ?? 'Status=completed'); // a repeated parameter
  return parts.join(r.chance(0.9) ? '&' : r.pick(['&&', ';', '&=&']));
}

function body(r: Prng): { body: string | Uint8Array; contentType: string | null } {
  const contentType = r.chance(0.7) ? 'application/x-www-form-urlencoded' : r.pick(CONTENT_TYPES);
  switch (r.int(8)) {
    case 0: {
      // Bytes that are not UTF-8 (lone continuation bytes, overlongs, 0xFF).
      const bytes = new Uint8Array(r.range(1, 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = r.pick([0xff, 0xc0, 0xaf, 0x80, 0xed, 0xa0, 0x3d, 0x26, 0x41]);
      return { body: bytes, contentType };
    }
    case 1:
      // Over the 64 KiB limit.
      return { body: `UniqueName=${'b'.repeat(r.range(65 * 1024, 80 * 1024))}`, contentType };
    case 2:
      return { body: JSON.stringify({ UniqueName: paramValue(r), Type: paramValue(r) }), contentType: r.pick(['application/json', contentType]) };
    case 3:
      return { body: '', contentType };
    default:
      return { body: encodedParams(r), contentType };
  }
}

export function fuzzRequest(r: Prng, t: FuzzTargets): FuzzRequest {
  const method = r.pick(METHODS);
  let p = path(r, t);
  if (method !== 'POST' || r.chance(0.2)) {
    const q = encodedParams(r);
    if (q) p += `?${q}`;
  }
  const headers: Record<string, string> = {};
  const settings = p.startsWith('/v1/Settings');
  headers.authorization = r.chance(0.95) ? (settings ? t.otherAuth : t.auth) : r.pick(['Basic', 'Basic !!!', 'Bearer x', 'Basic ' + Buffer.from('AC:').toString('base64'), 'Basic w6k=', 'Basic ' + 'A'.repeat(5000)]);
  let b: string | Uint8Array | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || (method === 'DELETE' && r.chance(0.3))) {
    const made = body(r);
    b = made.body;
    if (made.contentType !== null && made.contentType !== '') headers['content-type'] = made.contentType;
  }
  const preview = b === undefined ? '' : typeof b === 'string' ? ` body=${JSON.stringify(b.slice(0, 200))}${b.length > 200 ? `…(${b.length})` : ''}` : ` body=bytes[${Buffer.from(b).toString('hex').slice(0, 64)}]`;
  return { method, path: p, headers, body: b, describe: `${method} ${p.slice(0, 300)} ${JSON.stringify(headers['content-type'] ?? null)}${preview}` };
}
