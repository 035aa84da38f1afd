/// <reference types="node" />
/**
 * Hostile signaling frames for the hostile-input test, each with the answer the protocol requires
 * (docs/signaling.md): a Twilio `error` with a given code (after which the server closes the
 * socket), `bad` for a `msg` before `hello`, or at least a close. Every case is invalid by
 * construction, so "the server said nothing" is always a failure. Drawn from a seeded Prng.
 */
import { randomUUID } from 'node:crypto';
import type { Prng } from './prng';
import { connectMessage, type Json } from '../../node/support/signaling-client';

/** What the server must answer: an error with one of these codes, `bad`, or (at least) a close. */
export type Expectation = { error: number[] } | { bad: true } | { closed: true };

export interface FrameCase {
  label: string;
  /** Whether the hostile client connects (hello + connect → connected) before sending `frames`. */
  connected: boolean;
  frames: (string | Buffer)[];
  expect: Expectation;
}

export interface FrameContext {
  room: string;
  /** The well-behaved pair's peer connection id: not the hostile's to use. */
  othersPairId: string;
  /** A well-behaved participant's session: not the hostile's to resume. */
  othersSession: string;
}

/** The largest frame the server accepts (docs/signaling.md). */
export const MAX_FRAME_BYTES = 256 * 1024;

const SESSION_PLACEHOLDER = '\u0001SESSION\u0001';
/** Stands for the hostile's token in generated frames (tokens are minted per case, after generation). */
const TOKEN_PLACEHOLDER = '\u0001TOKEN\u0001';
/**
 * The id of the hostile client's own initial offer, which the server closed when it joined:
 * entries on it are the client's to send (and are ignored), so a frame that uses it is refused for
 * the fault the case put in it, not for naming a peer connection that is not its own.
 */
const OWN_PC_PLACEHOLDER = '\u0001OWN-PC\u0001';

/** Fills in what the generators could not know: the token, and once connected, the session and own offer id. */
export function personalize(frame: string | Buffer, p: { jwt: string; session: string; ownPcId: string }): string | Buffer {
  if (typeof frame !== 'string') return frame;
  return frame
    .split(JSON.stringify(SESSION_PLACEHOLDER)).join(JSON.stringify(p.session))
    .split(JSON.stringify(OWN_PC_PLACEHOLDER)).join(JSON.stringify(p.ownPcId))
    .split(JSON.stringify(TOKEN_PLACEHOLDER)).join(JSON.stringify(p.jwt));
}


export const hello = (body?: Json): Json => ({ type: 'hello', id: randomUUID(), timeout: 5000, version: 2, ...(body === undefined ? {} : { body }) });
export const msg = (body: Json): string => JSON.stringify({ type: 'msg', body });

/** A valid `update` from a connected participant: one track, one entry on its own (closed) offer. */
export function updateTemplate(): Json {
  return {
    type: 'update',
    version: 2,
    session: SESSION_PLACEHOLDER,
    participant: { revision: 2, tracks: [{ id: 'track-1', kind: 'audio', name: 'mic', enabled: true, priority: 'standard' }] },
    peer_connections: [
      { id: OWN_PC_PLACEHOLDER, description: { type: 'offer', revision: 2, sdp: 'v=0\r\n' }, ice: { revision: 1, ufrag: 'u', candidates: [], complete: false } },
    ],
  };
}

/** A valid `connect` with one track and one initial offer, on the id later updates use as their own. */
export function connectTemplate(room: string): Json {
  const connect = connectMessage(room, TOKEN_PLACEHOLDER);
  connect.participant = { revision: 1, tracks: [{ id: 'track-1', kind: 'audio', name: 'mic', enabled: true, priority: 'standard' }] };
  connect.peer_connections = updateTemplate().peer_connections;
  return connect;
}

/** [path, wrong values] of an update or connect: each value is invalid where it is put. */
const TRACK_MUTATIONS: [string, unknown[]][] = [
  ['participant', ['x', [], 5, null]],
  ['participant.revision', [-1, 1.5, '2', null, 2 ** 60]],
  ['participant.tracks', [{}, 'x', 5, Array.from({ length: 65 }, (_, i) => ({ id: `t${i}`, kind: 'audio' }))]],
  ['participant.tracks.0', ['x', null, 5, []]],
  ['participant.tracks.0.id', [5, '', 'x'.repeat(257), null]],
  ['participant.tracks.0.kind', ['smell', 5, null, 'AUDIO']],
  ['participant.tracks.0.name', [5, {}, 'x'.repeat(4097)]],
  ['participant.tracks.0.enabled', ['true', 1, null]],
  ['participant.tracks.0.priority', [5, 'x'.repeat(33)]],
  ['peer_connections', [{}, 'x', 5, Array.from({ length: 65 }, () => ({ id: randomUUID() }))]],
  ['peer_connections.0', [null, 'x', []]],
  ['peer_connections.0.id', [5, '', null, 'x'.repeat(257)]],
  ['peer_connections.0.description', ['x', 5, []]],
  ['peer_connections.0.description.type', ['bogus', 5, null]],
  ['peer_connections.0.description.revision', [-1, 'x', null, 0.5]],
  ['peer_connections.0.description.sdp', [5, {}]],
  ['peer_connections.0.ice', ['x', 5, []]],
  ['peer_connections.0.ice.revision', ['x', -1, null]],
  ['peer_connections.0.ice.ufrag', [5, 'u'.repeat(257)]],
  ['peer_connections.0.ice.candidates', ['x', {}, Array.from({ length: 257 }, () => ({ candidate: 'c' }))]],
  ['peer_connections.0.ice.complete', ['yes', 1]],
  ['version', ['two', {}, []]],
];

const CONNECT_MUTATIONS: [string, unknown[]][] = [
  ['name', [5, null, 'x'.repeat(1025)]],
  ['token', [5, null, {}]],
  ...TRACK_MUTATIONS,
];

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key];
  node[keys[keys.length - 1]!] = value;
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 24 ? `${s.slice(0, 24)}…(${s.length})` : s;
}

/** Text that is not JSON: garbage, truncated frames, JSON with trailing junk. */
function notJson(r: Prng): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = r.pick([
      () => r.string(r.range(1, 80), 'abc{}[]":,0123456789 \\\u0000\u00e9'),
      () => JSON.stringify(hello()).slice(0, r.range(1, 40)),
      () => `${JSON.stringify(hello())}}`,
      () => "{'type':'hello'}",
      () => '{"type":"hello",}',
      () => '\ufeff{"type":"heartbeat"}x',
      () => 'NaN',
      () => '',
    ])();
    try {
      JSON.parse(s);
    } catch {
      return s;
    }
  }
  return '{';
}

/** `depth` nested arrays: valid JSON a recursive parser or serializer could choke on. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** The categories, each a generator; `fuzzFrameCase` picks one at random. */
const CATEGORIES: ((r: Prng, c: FrameContext) => FrameCase)[] = [
  (r) => ({ label: 'not JSON', connected: r.chance(0.5), frames: [notJson(r)], expect: { error: [53004] } }),
  (r) => ({ label: 'binary frame', connected: r.chance(0.5), frames: [Buffer.from(JSON.stringify(hello()))], expect: { error: [53004] } }),
  (r) => ({
    label: 'JSON that is not an object',
    connected: r.chance(0.5),
    frames: [r.pick(['5', '"hello"', '[]', 'null', 'true', '[{"type":"hello"}]'])],
    expect: { error: [53004] },
  }),
  (r) => ({
    label: 'unknown frame type',
    connected: r.chance(0.5),
    frames: [JSON.stringify({ type: r.pick(['Hello', 'welcome', 'bad', 'busy', '', 5, null, r.string(8, 'xyz')]) })],
    expect: { error: [53004] },
  }),
  (r) => {
    const [field, value] = r.pick<[string, unknown]>([
      ['version', 3],
      ['version', '2'],
      ['timeout', -1],
      ['timeout', '5000'],
      ['timeout', 1.5],
      ['body', 'connect'],
      ['body', []],
      ['body', null],
    ]);
    return { label: `hello.${field} = ${describeValue(value)}`, connected: false, frames: [JSON.stringify({ ...hello(), [field]: value })], expect: { error: [53004] } };
  },
  (r) => {
    const type = r.pick(['connected', 'synced', 'Connect', 'publish', '', 7, null, undefined]);
    const frame = r.chance(0.5) ? JSON.stringify(hello({ type, version: 2 })) : msg({ type, version: 2, session: SESSION_PLACEHOLDER });
    // A msg needs a welcomed socket (else the answer is `bad`); a hello may come before or after.
    const connected = frame.startsWith('{"type":"msg"') || r.chance(0.3);
    return { label: `unknown room message type ${describeValue(type)}`, connected, frames: [frame], expect: { error: [53004] } };
  },
  (r, c) => {
    const [path, values] = r.pick(CONNECT_MUTATIONS);
    const value = r.pick(values);
    const connect = connectTemplate(c.room);
    setPath(connect, path, value);
    return { label: `connect.${path} = ${describeValue(value)}`, connected: false, frames: [JSON.stringify(hello(connect))], expect: { error: [53004] } };
  },
  (r) => {
    const [path, values] = r.pick(TRACK_MUTATIONS);
    const value = r.pick(values);
    const update = updateTemplate();
    setPath(update, path, value);
    return { label: `update.${path} = ${describeValue(value)}`, connected: true, frames: [msg(update)], expect: { error: [53004] } };
  },
  () => ({ label: 'msg before hello', connected: false, frames: [msg({ type: 'ice', version: 1, token: 'x' })], expect: { bad: true } }),
  // Just over the limit in bytes: ASCII (one byte a character), and '€' (three bytes a character,
  // so the frame is over 256 KiB of UTF-8 while well under 256 K characters).
  ...[false, true].map((threeByte) => (): FrameCase => {
    const update = updateTemplate();
    update.peer_connections[0].description.sdp = threeByte ? '€'.repeat(Math.ceil(MAX_FRAME_BYTES / 3) + 16) : 'a'.repeat(MAX_FRAME_BYTES + 16);
    return { label: `frame over 256 KiB (${threeByte ? 'three-byte UTF-8' : 'ASCII'})`, connected: true, frames: [msg(update)], expect: { error: [53004] } };
  }),
  () => {
    const update = updateTemplate();
    update.peer_connections[0].description.sdp = 'a'.repeat(1024 * 1024 + 64);
    return { label: 'frame over 1 MiB', connected: true, frames: [msg(update)], expect: { closed: true } };
  },
  (r, c) => {
    const connect = connectMessage(r.chance(0.5) ? `${c.room}-elsewhere` : c.room.toUpperCase(), TOKEN_PLACEHOLDER);
    return { label: 'connect names another room than the URL', connected: false, frames: [JSON.stringify(hello(connect))], expect: { error: [53104] } };
  },
  (r) => ({
    label: 'sync with an unknown session',
    connected: false,
    frames: [JSON.stringify(hello({ type: 'sync', version: 2, session: r.chance(0.5) ? randomUUID() : '', token: TOKEN_PLACEHOLDER }))],
    expect: { error: [53002] },
  }),
  (_r, c) => ({
    label: "sync with another participant's session",
    connected: false,
    frames: [JSON.stringify(hello({ type: 'sync', version: 2, session: c.othersSession, token: TOKEN_PLACEHOLDER }))],
    expect: { error: [20103] },
  }),
  (r) => ({
    label: 'update before connect',
    connected: false,
    frames: r.chance(0.5) ? [JSON.stringify(hello(updateTemplate()))] : [JSON.stringify(hello()), msg(updateTemplate())],
    expect: { error: [53004] },
  }),
  (r, c) => {
    const update = updateTemplate();
    const entry = { id: c.othersPairId, ...(r.chance(0.5) ? { ice: { revision: 99, candidates: [{ candidate: 'candidate:hostile 1' }] } } : { description: { type: 'offer', revision: 9, sdp: 'v=0\r\n' } }) };
    // Sometimes after an entry of its own (which the server may relay) in the same message.
    update.peer_connections = r.chance(0.5) ? [entry] : [update.peer_connections[0], entry];
    delete update.participant;
    return { label: "update on another pair's peer connection", connected: true, frames: [msg(update)], expect: { error: [53004] } };
  },
  (_r, c) => {
    // The id of the well-behaved pair offered as this client's own initial peer connection.
    const connect = connectMessage(c.room, TOKEN_PLACEHOLDER, { offerId: c.othersPairId });
    return { label: "connect offering on another pair's peer connection id", connected: false, frames: [JSON.stringify(hello(connect))], expect: { error: [53004] } };
  },
  (_r, c) => ({ label: 'connect twice', connected: true, frames: [msg(connectMessage(c.room, TOKEN_PLACEHOLDER))], expect: { error: [53004] } }),
  (r) => {
    // A burst far over the flood limit (400 at once, 200/s sustained): heartbeat variants the
    // runtime does not auto-answer, or updates on the client's own (closed) initial connection.
    const n = 2_000;
    const frame = r.chance(0.5) ? '{ "type": "heartbeat" }' : msg({ type: 'update', version: 2, session: SESSION_PLACEHOLDER, peer_connections: [] });
    return { label: `flood of ${n} frames`, connected: true, frames: Array.from({ length: n }, () => frame), expect: { error: [53004] } };
  },
  (r) => {
    // Deeply nested JSON where a string is required: the parser must not recurse itself to death.
    const depth = r.pick([1_000, 50_000]);
    const where = r.pick(['peer connection id', 'track id']);
    const update = updateTemplate();
    const marker = '"@@NESTED@@"';
    if (where === 'track id') update.participant.tracks[0].id = '@@NESTED@@';
    else update.peer_connections[0].id = '@@NESTED@@';
    return { label: `${depth}-deep nesting as the ${where}`, connected: true, frames: [msg(update).replace(marker, nested(depth))], expect: { error: [53004] } };
  },
  (r) => ({
    label: 'msg without a body',
    connected: true,
    frames: [JSON.stringify(r.chance(0.5) ? { type: 'msg' } : { type: 'msg', body: null })],
    expect: { error: [53004] },
  }),
];

export function fuzzFrameCase(r: Prng, c: FrameContext): FrameCase {
  return r.pick(CATEGORIES)(r, c);
}

/** Every category once, first: so each run covers them all, whatever the seed draws after. */
export function everyCategory(r: Prng, c: FrameContext): FrameCase[] {
  return CATEGORIES.map((make) => make(r, c));
}
