import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallbackEvent } from '../durable-objects/room/callback-events';
import {
  participantConnectedEvent,
  participantDisconnectedEvent,
  roomCreatedEvent,
  roomEndedEvent,
  trackAddedEvent,
  trackDisabledEvent,
  trackEnabledEvent,
  trackRemovedEvent,
} from '../durable-objects/room/callback-events';
import type { RetryPolicy } from '../durable-objects/room/callback-policy';
import { classifyStatus, DEFAULT_RETRY_POLICY, retryDelay, retryPolicyFromEnv } from '../durable-objects/room/callback-policy';
import { CALLBACKS_DELIVER, Outbox } from '../durable-objects/room/outbox';
import type { RoomRecord } from '../core/room-record';
import { signedCallbackRequest } from '../durable-objects/room/callback-request';
import { twilioSignature } from '../core/twilio-signature';
import { ACCOUNT_SID, AUTH_TOKEN, api, createRoom } from './support/rest';
import { insideRoomObject, roomObject } from './support/room-object';

const ROOMS = env.ROOMS;
/** Where the Room object of `uniqueName` lives. */
const roomStub = (uniqueName: string) => roomObject(uniqueName);
/**
 * Nothing listens on the discard port of loopback: every attempt there is a refused connection.
 * (workerd logs each one as an "uncaught exception" even though the outbox catches the rejection.)
 */
const REFUSING_URL = 'http://127.0.0.1:9/status';
/** A form body as text; Request.text() would warn that a form body "does not appear to be text". */
const formText = async (request: Request): Promise<string> => new TextDecoder().decode(await request.clone().arrayBuffer());

afterEach(() => {
  vi.restoreAllMocks();
});

describe('twilioSignature', () => {
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const docs = (phone: string) => ({ CallSid: 'CA1234567890ABCDE', Caller: phone, Digits: '1234', From: phone, To: '+18005551212' });

  it("reproduces Twilio's published example vectors", async () => {
    // Twilio's security docs and helper-library tests publish both of these (they differ in the caller's number).
    expect(await twilioSignature('12345', url, docs('+14158675309'))).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(await twilioSignature('12345', url, docs('+12349013030'))).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  });

  it('matches vectors computed with twilio-node for sorting, non-ASCII and GET', async () => {
    // Computed with twilio-node 6.2.0's getExpectedTwilioSignature.
    const params = { b: '2', B: '1', a_: 'é ü', a: 'x+y&z', Ω: 'Ω' };
    expect(await twilioSignature('atrium-dev-auth-token', 'http://127.0.0.1:8787/cb?x=1', params)).toBe('iTE6Ny0RRkcWrQx79BteOJq2cMg=');
    const getUrl =
      'https://example.com/status?Foo=bar&AccountSid=AC00000000000000000000000000000001&RoomName=my+room&SequenceNumber=0';
    expect(await twilioSignature('atrium-dev-auth-token', getUrl, null)).toBe('Wb1Lz4NvmmK5QooWLgFyxHMIBmg=');
    expect(await twilioSignature('atrium-dev-auth-token', getUrl, {})).toBe('Wb1Lz4NvmmK5QooWLgFyxHMIBmg=');
  });

  it('changes with the token, the URL and any parameter', async () => {
    const base = await twilioSignature('12345', url, docs('+14158675309'));
    expect(await twilioSignature('12346', url, docs('+14158675309'))).not.toBe(base);
    expect(await twilioSignature('12345', url + '&x', docs('+14158675309'))).not.toBe(base);
    expect(await twilioSignature('12345', url, { ...docs('+14158675309'), Digits: '1235' })).not.toBe(base);
  });
});

describe('signedCallbackRequest', () => {
  const params = { AccountSid: 'AC00000000000000000000000000000001', RoomName: 'my room', SequenceNumber: '0' };

  it('POSTs a form body signed over URL + sorted parameters', async () => {
    const request = await signedCallbackRequest({ url: 'https://Example.com:443/status?Foo=bar#frag', method: 'POST' }, params, 'tok');
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://example.com/status?Foo=bar');
    expect(request.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(await formText(request)))).toEqual(params);
    expect(request.headers.get('x-twilio-signature')).toBe(await twilioSignature('tok', 'https://example.com/status?Foo=bar', params));
  });

  it('GETs with the parameters appended to the query, signed over the full URL', async () => {
    const request = await signedCallbackRequest(
      { url: 'https://Example.com:443/status?Foo=bar#frag', method: 'GET' },
      params,
      'atrium-dev-auth-token',
    );
    expect(request.method).toBe('GET');
    expect(request.url).toBe(
      'https://example.com/status?Foo=bar&AccountSid=AC00000000000000000000000000000001&RoomName=my+room&SequenceNumber=0',
    );
    expect(request.body).toBeNull();
    expect(request.headers.get('x-twilio-signature')).toBe('Wb1Lz4NvmmK5QooWLgFyxHMIBmg=');
    const bare = await signedCallbackRequest({ url: 'http://h.test/cb?', method: 'GET' }, { A: '1' }, 'tok');
    expect(bare.url).toBe('http://h.test/cb?A=1');
  });
});

const ROOM: RoomRecord = {
  accountSid: ACCOUNT_SID,
  sid: 'RM00000000000000000000000000000abc',
  uniqueName: 'daily standup',
  type: 'group',
  statusCallback: 'https://receiver.test/status',
  statusCallbackMethod: 'POST',
  maxParticipants: 50,
  maxParticipantDuration: 14_400,
  maxConcurrentPublishedTracks: 170,
  recordParticipantsOnConnect: false,
  transcribeParticipantsOnConnect: false,
  videoCodecs: ['VP8'],
  mediaRegion: 'us1',
  audioOnly: false,
  emptyRoomTimeout: 5,
  unusedRoomTimeout: 5,
  largeRoom: false,
  adHoc: false,
  status: 'in-progress',
  dateCreated: Date.UTC(2026, 4, 1, 12, 0, 0, 250),
  dateUpdated: Date.UTC(2026, 4, 1, 12, 0, 0, 250),
  endTime: null,
  revision: 1,
};

describe('callback event builders', () => {
  const roomParams = {
    AccountSid: ACCOUNT_SID,
    RoomName: 'daily standup',
    RoomSid: ROOM.sid,
    RoomStatus: 'in-progress',
    RoomType: 'group',
  };
  const alice = { sid: 'PA00000000000000000000000000000001', identity: 'alice', status: 'connected' as const, connectedAt: ROOM.dateCreated + 1_000 };
  const mic = { sid: 'MT00000000000000000000000000000001', kind: 'audio' as const, name: 'microphone' };
  const participantParams = { ParticipantSid: alice.sid, ParticipantStatus: 'connected', ParticipantIdentity: 'alice' };
  const at = Date.UTC(2026, 4, 1, 12, 0, 5);

  it('builds room-created and room-ended with exactly Twilio’s parameters', () => {
    expect(roomCreatedEvent(ROOM)).toStrictEqual({ ...roomParams, StatusCallbackEvent: 'room-created', Timestamp: '2026-05-01T12:00:00.250Z' });
    const ended = { ...ROOM, status: 'completed' as const, endTime: ROOM.dateCreated + 61_900 };
    expect(roomEndedEvent(ended)).toStrictEqual({
      ...roomParams,
      RoomStatus: 'completed',
      StatusCallbackEvent: 'room-ended',
      Timestamp: '2026-05-01T12:01:02.150Z',
      RoomDuration: '61',
    });
    expect(() => roomEndedEvent(ROOM)).toThrow(/not ended/);
  });

  it('builds participant events', () => {
    expect(participantConnectedEvent(ROOM, alice)).toStrictEqual({
      ...roomParams,
      StatusCallbackEvent: 'participant-connected',
      Timestamp: '2026-05-01T12:00:01.250Z',
      ...participantParams,
    });
    const gone = { ...alice, status: 'disconnected' as const, disconnectedAt: alice.connectedAt + 90_999 };
    expect(participantDisconnectedEvent(ROOM, gone)).toStrictEqual({
      ...roomParams,
      StatusCallbackEvent: 'participant-disconnected',
      Timestamp: '2026-05-01T12:01:32.249Z',
      ...participantParams,
      ParticipantStatus: 'disconnected',
      ParticipantDuration: '90',
    });
    expect(() => participantDisconnectedEvent(ROOM, alice)).toThrow(/disconnectedAt/);
  });

  it('builds the four track events', () => {
    const builders = [
      ['track-added', trackAddedEvent],
      ['track-removed', trackRemovedEvent],
      ['track-enabled', trackEnabledEvent],
      ['track-disabled', trackDisabledEvent],
    ] as const;
    for (const [name, build] of builders) {
      expect(build(ROOM, alice, mic, at)).toStrictEqual({
        ...roomParams,
        StatusCallbackEvent: name,
        Timestamp: '2026-05-01T12:00:05.000Z',
        ...participantParams,
        TrackSid: mic.sid,
        TrackKind: 'audio',
        TrackName: 'microphone',
      });
    }
  });
});

describe('retry policy', () => {
  it('doubles from 1 s to a 10 min cap, jittered within the upper half of each step', () => {
    const top = [1, 2, 3, 4, 10, 11, 40].map((n) => retryDelay(n, DEFAULT_RETRY_POLICY, () => 1));
    expect(top).toEqual([1_000, 2_000, 4_000, 8_000, 512_000, 600_000, 600_000]);
    const bottom = [1, 2, 11].map((n) => retryDelay(n, DEFAULT_RETRY_POLICY, () => 0));
    expect(bottom).toEqual([500, 1_000, 300_000]);
  });

  it('retries 408, 429, 5xx; acknowledges 2xx; refuses other statuses for good', () => {
    expect([200, 201, 204, 299].map(classifyStatus)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect([408, 429, 500, 502, 503, 504].map(classifyStatus)).toEqual(Array(6).fill('retry'));
    expect([301, 302, 400, 401, 403, 404, 410, 422].map(classifyStatus)).toEqual(Array(8).fill('rejected'));
  });

  it('takes only the base step from CALLBACK_RETRY_BASE_MS, and only a positive integer', () => {
    expect(retryPolicyFromEnv({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicyFromEnv({ CALLBACK_RETRY_BASE_MS: '50' })).toEqual({ ...DEFAULT_RETRY_POLICY, baseMs: 50 });
    for (const bad of ['', '0', '-5', '1.5', 'soon']) expect(retryPolicyFromEnv({ CALLBACK_RETRY_BASE_MS: bad })).toEqual(DEFAULT_RETRY_POLICY);
  });
});

/**
 * An outbox on a real Durable Object's SQLite storage, with a fake clock, a recording scheduler and
 * a scripted receiver. Only the storage is real; nothing here arms the object's alarm.
 */
function harness(state: DurableObjectState, policy: RetryPolicy = DEFAULT_RETRY_POLICY, beforeRound?: () => Promise<void>) {
  const clock = { now: 1_800_000_000_000 };
  const deadlines = new Map<string, number>();
  const rooms = new Map<string, RoomRecord>();
  const received: { request: Request; params: Record<string, string>; at: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const h = {
    clock,
    deadlines,
    rooms,
    received,
    get maxInFlight() {
      return maxInFlight;
    },
    /** What the receiver answers; throw to simulate a network failure. */
    respond: async (_params: Record<string, string>, _signal: AbortSignal): Promise<Response> => new Response('ok'),
    outbox: undefined as unknown as Outbox,
    room(sid: string, overrides: Partial<RoomRecord> = {}): RoomRecord {
      const room = { ...ROOM, sid, ...overrides };
      rooms.set(sid, room);
      return room;
    },
    /** The SequenceNumbers received, as `RoomSid#n`, in arrival order. */
    log: () => received.map((r) => `${r.params.RoomSid}#${r.params.SequenceNumber}`),
  };
  h.outbox = new Outbox({
    sql: state.storage.sql,
    scheduler: { set: (key, at) => void deadlines.set(key, at), clear: (key) => void deadlines.delete(key) },
    rooms: { get: (sid) => rooms.get(sid) ?? null },
    signingKey: (sid) => (sid === ACCOUNT_SID ? AUTH_TOKEN : undefined),
    policy,
    beforeRound,
    now: () => clock.now,
    random: () => 1,
    send: async (request, signal) => {
      const params =
        request.method === 'GET'
          ? Object.fromEntries(new URL(request.url).searchParams)
          : Object.fromEntries(new URLSearchParams(await formText(request)));
      received.push({ request, params, at: clock.now });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await h.respond(params, signal);
      } finally {
        inFlight--;
      }
    },
  });
  return h;
}

let scratch = 0;
/** A Room object no other test touches: only its storage is used. */
const scratchObject = () => ROOMS.get(ROOMS.idFromName(`outbox-scratch-${Date.now()}-${scratch++}`));
const created = (room: RoomRecord): CallbackEvent => roomCreatedEvent(room);

describe('Outbox', () => {
  it('numbers each room’s events from 0, snapshots the target and skips rooms without a callback', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa', { statusCallback: 'https://a.test/cb', statusCallbackMethod: 'GET' });
      const b = h.room('RMb');
      const none = h.room('RMn', { statusCallback: null });
      expect([h.outbox.append('RMa', created(a)), h.outbox.append('RMa', created(a)), h.outbox.append('RMb', created(b))]).toEqual([0, 1, 0]);
      expect(h.outbox.append('RMn', created(none))).toBeNull();
      expect(h.outbox.append('RMunknown', created(a))).toBeNull();
      // The room's callback changing later does not move events already queued.
      h.room('RMa', { statusCallback: 'https://elsewhere.test/', statusCallbackMethod: 'POST' });
      const pending = h.outbox.pending();
      expect(pending.map((p) => [p.roomSid, p.sequenceNumber, p.target.url, p.target.method])).toEqual([
        ['RMa', 0, 'https://a.test/cb', 'GET'],
        ['RMa', 1, 'https://a.test/cb', 'GET'],
        ['RMb', 0, ROOM.statusCallback, 'POST'],
      ]);
      expect(pending[0]!.params).toStrictEqual({ ...created(a), SequenceNumber: '0' });
      expect(h.deadlines.get(CALLBACKS_DELIVER)).toBe(h.clock.now);

      await h.outbox.deliver();
      expect(h.outbox.pending()).toEqual([]);
      expect(h.deadlines.has(CALLBACKS_DELIVER)).toBe(false);
      // Numbering carries on after the queue drained.
      expect(h.outbox.append('RMa', created(a))).toBe(2);
      expect(h.outbox.append('RMn', created(none))).toBeNull();
    });
  });

  it('delivers in order per room, signed, with GET and POST as configured', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      h.room('RMa', { statusCallback: 'https://a.test/cb?k=v', statusCallbackMethod: 'GET' });
      const b = h.room('RMb');
      for (let i = 0; i < 3; i++) h.outbox.append('RMa', created(h.rooms.get('RMa')!));
      for (let i = 0; i < 2; i++) h.outbox.append('RMb', created(b));
      await h.outbox.deliver();
      const log = h.log();
      expect(log.filter((e) => e.startsWith('RMa'))).toEqual(['RMa#0', 'RMa#1', 'RMa#2']);
      expect(log.filter((e) => e.startsWith('RMb'))).toEqual(['RMb#0', 'RMb#1']);
      for (const { request, params } of h.received) {
        const signature = request.headers.get('x-twilio-signature');
        if (request.method === 'GET') {
          expect(request.url.startsWith('https://a.test/cb?k=v&')).toBe(true);
          expect(signature).toBe(await twilioSignature(AUTH_TOKEN, request.url, null));
        } else {
          expect(request.url).toBe(ROOM.statusCallback);
          expect(request.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
          expect(signature).toBe(await twilioSignature(AUTH_TOKEN, request.url, params));
        }
      }
    });
  });

  it('holds a room’s later events behind a failing one, without holding other rooms', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa');
      const b = h.room('RMb');
      h.outbox.append('RMa', created(a));
      h.outbox.append('RMa', created(a));
      h.outbox.append('RMb', created(b));
      let failA = true;
      h.respond = async (p) => (p.RoomSid === 'RMa' && failA ? new Response('busy', { status: 503 }) : new Response('ok'));
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      await h.outbox.deliver();
      expect(h.log()).toEqual(['RMa#0', 'RMb#0']);
      const head = h.outbox.pending()[0]!;
      expect(head).toMatchObject({ roomSid: 'RMa', sequenceNumber: 0, attempts: 1, nextAt: h.clock.now + 1_000 });
      expect(h.deadlines.get(CALLBACKS_DELIVER)).toBe(head.nextAt);

      // Not due yet: nothing is sent.
      h.clock.now += 999;
      await h.outbox.deliver();
      expect(h.received).toHaveLength(2);

      h.clock.now += 1;
      failA = false;
      await h.outbox.deliver();
      expect(h.log()).toEqual(['RMa#0', 'RMb#0', 'RMa#0', 'RMa#1']);
      expect(h.outbox.pending()).toEqual([]);
    });
  });

  it('backs off exponentially to the cap, then drops the event 24 h after it was queued', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa');
      const queuedAt = h.clock.now;
      h.outbox.append('RMa', created(a));
      h.outbox.append('RMa', created(a));
      h.respond = async (p) => {
        if (p.SequenceNumber === '0') throw new TypeError('Network connection lost.');
        return new Response(null, { status: 204 });
      };
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const waits: number[] = [];
      while (h.outbox.pending().length === 2) {
        const before = h.clock.now;
        await h.outbox.deliver();
        const head = h.outbox.pending()[0];
        if (!head || head.sequenceNumber !== 0) break;
        waits.push(head.nextAt - before);
        expect(h.deadlines.get(CALLBACKS_DELIVER)).toBe(head.nextAt);
        h.clock.now = head.nextAt;
      }
      expect(waits.slice(0, 11)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 600_000]);
      expect(new Set(waits.slice(10, -1))).toEqual(new Set([600_000]));
      // The last wait is clipped so that the final attempt happens exactly at the 24-hour mark.
      expect(h.clock.now).toBe(queuedAt + DEFAULT_RETRY_POLICY.maxAgeMs);
      expect(waits.length).toBeGreaterThan(140);
      expect(warn).toHaveBeenCalled();
      expect(error).toHaveBeenCalledTimes(1);
      expect(String(error.mock.calls[0]![0])).toMatch(/RMa#0 .*dropped after \d+ attempts/);
      // The next event went out as soon as its predecessor was dropped.
      expect(h.log().at(-1)).toBe('RMa#1');
      expect(h.outbox.pending()).toEqual([]);
    });
  });

  it('drops a 4xx at once and moves on; retries 408, 429 and 5xx', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa');
      for (let i = 0; i < 5; i++) h.outbox.append('RMa', created(a));
      const statuses: Record<string, number[]> = { '0': [404], '1': [408, 200], '2': [429, 200], '3': [500, 502, 200], '4': [401] };
      h.respond = async (p) => new Response(null, { status: statuses[p.SequenceNumber!]!.shift()! });
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      for (let round = 0; round < 10 && h.outbox.pending().length; round++) {
        await h.outbox.deliver();
        h.clock.now += 10_000;
      }
      expect(h.log()).toEqual(['RMa#0', 'RMa#1', 'RMa#1', 'RMa#2', 'RMa#2', 'RMa#3', 'RMa#3', 'RMa#3', 'RMa#4']);
      expect(error.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(/RMa#0 .*dropped, not retried: HTTP 404/),
        expect.stringMatching(/RMa#4 .*dropped, not retried: HTTP 401/),
      ]);
      // Each is one structured line (core/log.ts) operators can filter on.
      expect(JSON.parse(String(error.mock.calls[1]![0]))).toMatchObject({
        level: 'error',
        event: 'callback-dropped',
        roomSid: 'RMa',
        participantSid: null,
        sequenceNumber: 4,
        url: ROOM.statusCallback,
        method: 'POST',
        detail: 'HTTP 401',
      });
    });
  });

  it('times a hanging receiver out and retries it; keeps the event when the account has no token', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state, { ...DEFAULT_RETRY_POLICY, timeoutMs: 100 });
      h.room('RMa');
      h.room('RMx', { accountSid: 'AC0000000000000000000000000000dead' });
      h.outbox.append('RMa', created(h.rooms.get('RMa')!));
      h.outbox.append('RMx', created(h.rooms.get('RMx')!));
      h.respond = (_p, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const started = Date.now();
      await h.outbox.deliver();
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(90);
      expect(elapsed).toBeLessThan(2_000);
      expect(h.log()).toEqual(['RMa#0']); // RMx is never sent unsigned
      expect(h.outbox.pending().map((p) => [p.roomSid, p.attempts])).toEqual([
        ['RMa', 1],
        ['RMx', 1],
      ]);
      const messages = warn.mock.calls.map((c) => String(c[0])).join('\n');
      expect(messages).toMatch(/RMa#0 .*TimeoutError/);
      expect(messages).toMatch(/RMx#0 .*no auth token/);
    });
  });

  it('awaits beforeRound (the catalog publish) before sending', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      let release!: () => void;
      const published = new Promise<void>((resolve) => (release = resolve));
      const h = harness(state, DEFAULT_RETRY_POLICY, () => published);
      h.outbox.append('RMa', created(h.room('RMa')));
      const delivering = h.outbox.deliver();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(h.received).toHaveLength(0);
      release();
      await delivering;
      expect(h.log()).toEqual(['RMa#0']);
    });
  });

  it('never stamps a Timestamp earlier than the room’s previous one, whatever the events carry or the clock says', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa');
      const b = h.room('RMb');
      const alice = { sid: 'PA00000000000000000000000000000001', identity: 'alice', status: 'disconnected' as const, connectedAt: ROOM.dateCreated };
      const t = ROOM.dateCreated + 60_000;
      // A room ending: the participants' disconnect times were taken after the room's end time,
      // and the clock steps back between appends, as after a move to another machine.
      h.outbox.append('RMa', created(a));
      h.clock.now -= 5_000;
      h.outbox.append('RMa', participantDisconnectedEvent(a, { ...alice, disconnectedAt: t + 3 }));
      h.clock.now -= 5_000;
      const ended = { ...a, status: 'completed' as const, endTime: t };
      h.outbox.append('RMa', roomEndedEvent(ended));
      h.outbox.append('RMa', trackRemovedEvent(ended, alice, { sid: 'MT00000000000000000000000000000001', kind: 'audio', name: 'mic' }, t - 10_000));
      h.outbox.append('RMa', trackAddedEvent(ended, alice, { sid: 'MT00000000000000000000000000000002', kind: 'audio', name: 'mic' }, t + 7));
      // Another room keeps its own times.
      h.outbox.append('RMb', roomEndedEvent({ ...b, status: 'completed', endTime: t - 1 }));
      const stamps = (room: string) => h.outbox.pending().filter((p) => p.roomSid === room).map((p) => [p.sequenceNumber, p.params.Timestamp]);
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(stamps('RMa')).toEqual([
        [0, iso(ROOM.dateCreated)],
        [1, iso(t + 3)],
        [2, iso(t + 3)], // room-ended at t, raised to its predecessor's
        [3, iso(t + 3)],
        [4, iso(t + 7)], // a later time is kept as it is
      ]);
      expect(stamps('RMb')).toEqual([[0, iso(t - 1)]]);
      // Only Timestamp moves: the durations are those of the records.
      expect(h.outbox.pending()[2]!.params).toMatchObject({ StatusCallbackEvent: 'room-ended', RoomDuration: '60' });
      // And the order holds after the queue drained (the last time is kept beside the numbering).
      h.clock.now += 10_000;
      await h.outbox.deliver();
      expect(h.outbox.pending()).toEqual([]);
      h.outbox.append('RMa', trackEnabledEvent(ended, alice, { sid: 'MT00000000000000000000000000000002', kind: 'audio', name: 'mic' }, t));
      expect(stamps('RMa')).toEqual([[5, iso(t + 7)]]);
    });
  });

  it('adds the last Timestamp to a sequences table created before it had one, numbering on', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      // The tables as an older version created them, with a room 5 events in.
      state.storage.sql.exec(`CREATE TABLE callback_outbox (
        room_sid TEXT NOT NULL, seq INTEGER NOT NULL, account_sid TEXT NOT NULL, url TEXT NOT NULL, method TEXT NOT NULL,
        params TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
        PRIMARY KEY (room_sid, seq))`);
      state.storage.sql.exec('CREATE TABLE callback_sequences (room_sid TEXT PRIMARY KEY, next INTEGER NOT NULL)');
      state.storage.sql.exec("INSERT INTO callback_sequences (room_sid, next) VALUES ('RMa', 5)");
      const h = harness(state);
      const a = h.room('RMa');
      expect(h.outbox.append('RMa', created(a))).toBe(5);
      expect(h.outbox.append('RMa', created({ ...a, dateCreated: a.dateCreated - 1 }))).toBe(6);
      expect(h.outbox.pending().map((p) => p.params.Timestamp)).toEqual([new Date(a.dateCreated).toISOString(), new Date(a.dateCreated).toISOString()]);
      // A second outbox on the same storage (the object woken again) finds the column there.
      const again = harness(state);
      again.room('RMa');
      expect(again.outbox.append('RMa', created({ ...a, dateCreated: a.dateCreated - 2 }))).toBe(7);
      expect(again.outbox.pending().at(-1)!.params.Timestamp).toBe(new Date(a.dateCreated).toISOString());
    });
  });

  it('runs one delivery loop at a time and holds a lease deadline while an attempt is in flight', async () => {
    await runInDurableObject(scratchObject(), async (_instance, state) => {
      const h = harness(state);
      const a = h.room('RMa');
      h.outbox.append('RMa', created(a));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      h.respond = async () => {
        await gate;
        return new Response('ok');
      };
      const first = h.outbox.deliver();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(h.received).toHaveLength(1);
      // The attempt is in flight: the deadline is a lease past the attempt timeout, not "now".
      expect(h.deadlines.get(CALLBACKS_DELIVER)).toBe(h.clock.now + DEFAULT_RETRY_POLICY.timeoutMs + 5_000);
      // An event queued meanwhile, a second kick and a due alarm do not start a second loop.
      h.outbox.append('RMa', created(a));
      const second = h.outbox.deliver();
      expect(h.outbox.onDeadline(CALLBACKS_DELIVER)).toBe(true);
      expect(h.outbox.onDeadline('room:empty')).toBe(false);
      await second;
      expect(h.received).toHaveLength(1);
      release();
      await first;
      expect(h.log()).toEqual(['RMa#0', 'RMa#1']);
      expect(h.maxInFlight).toBe(1);
      expect(h.deadlines.has(CALLBACKS_DELIVER)).toBe(false);
    });
  });
});

describe('status callbacks of a Room object', () => {
  type OutboxRow = { seq: number; params: string; attempts: number; next_at: number; url: string; method: string };
  // The outbox's tables exist once a room has queued an event (they are created on first use).
  const rows = (stub: ReturnType<typeof roomStub>, roomSid: string) =>
    runInDurableObject(stub, (_instance, state) => {
      const exists = state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'callback_outbox'").toArray().length > 0;
      if (!exists) return [];
      return state.storage.sql
        .exec<OutboxRow>('SELECT seq, params, attempts, next_at, url, method FROM callback_outbox WHERE room_sid = ? ORDER BY seq', roomSid)
        .toArray();
    });
  const deadline = (stub: ReturnType<typeof roomStub>) =>
    runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ at: number }>('SELECT at FROM deadlines WHERE key = ?', CALLBACKS_DELIVER).toArray()[0]?.at,
    );

  it('queues room-created with the creation and room-ended with the completion, in order', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const before = Date.now();
    const room = (await createRoom({ StatusCallback: REFUSING_URL, StatusCallbackMethod: 'GET', Type: 'group-small' })).body;
    const stub = roomStub(room.unique_name);
    const [createdRow] = await rows(stub, room.sid);
    expect(createdRow).toMatchObject({ seq: 0, url: REFUSING_URL, method: 'GET' });
    const createdParams = JSON.parse(createdRow!.params);
    expect(createdParams).toStrictEqual({
      AccountSid: ACCOUNT_SID,
      RoomName: room.unique_name,
      RoomSid: room.sid,
      RoomStatus: 'in-progress',
      RoomType: 'group-small',
      StatusCallbackEvent: 'room-created',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SequenceNumber: '0',
    });
    expect(Date.parse(createdParams.Timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(await deadline(stub)).toBeDefined();

    expect((await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' })).status).toBe(202);
    const [, endedRow] = await rows(stub, room.sid);
    expect(JSON.parse(endedRow!.params)).toMatchObject({
      StatusCallbackEvent: 'room-ended',
      RoomStatus: 'completed',
      RoomDuration: expect.stringMatching(/^\d+$/),
      SequenceNumber: '1',
    });
    expect(endedRow!.attempts).toBe(0); // never sent while room-created is undelivered
    warn.mockRestore();
  });

  it('stamps room-ended no earlier than the participant-disconnected events queued before it', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const room = (await createRoom({ StatusCallback: REFUSING_URL, Type: 'peer-to-peer' })).body;
    const stub = roomStub(room.unique_name);
    const { SignalingClient } = await import('./support/signaling-client');
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    const bob = await SignalingClient.join(room.unique_name, 'bob');
    // The room's end time is read before its participants' disconnect times; make that gap visible
    // (the runtime's clock does not move within one step, a real machine's does).
    await insideRoomObject(stub, (instance) => {
      instance.lifecycle.now = () => Date.now() - 25;
    });
    expect((await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' })).status).toBe(202);
    await insideRoomObject(stub, (instance) => {
      delete instance.lifecycle.now;
    });
    const events = (await rows(stub, room.sid)).map((r) => JSON.parse(r.params) as Record<string, string>);
    expect(events.map((e) => e.StatusCallbackEvent)).toEqual([
      'room-created',
      'participant-connected',
      'participant-connected',
      'participant-disconnected',
      'participant-disconnected',
      'room-ended',
    ]);
    expect(events.map((e) => Number(e.SequenceNumber))).toEqual([0, 1, 2, 3, 4, 5]);
    const times = events.map((e) => Date.parse(e.Timestamp!));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    // The room's own record keeps its end time; only the event's Timestamp was raised.
    const ended = (await api('GET', `/v1/Rooms/${room.sid}`)).body;
    expect(Date.parse(ended.end_time)).toBeLessThan(times[5]!);
    alice.close();
    bob.close();
  });

  it('queues nothing for a room without StatusCallback', async () => {
    const room = (await createRoom()).body;
    const stub = roomStub(room.unique_name);
    await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' });
    expect(await rows(stub, room.sid)).toEqual([]);
    expect(await deadline(stub)).toBeUndefined();
  });

  it('numbers a reused name’s new room from 0 again', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const first = (await createRoom({ StatusCallback: REFUSING_URL })).body;
    await api('POST', `/v1/Rooms/${first.sid}`, { Status: 'completed' });
    const second = (await createRoom({ UniqueName: first.unique_name, StatusCallback: REFUSING_URL })).body;
    const stub = roomStub(first.unique_name);
    expect((await rows(stub, first.sid)).map((r) => r.seq)).toEqual([0, 1]);
    expect((await rows(stub, second.sid)).map((r) => r.seq)).toEqual([0]);
  });

  it('sends from the alarm and retries a refused connection with a doubling backoff', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const createdAt = Date.now();
    const room = (await createRoom({ StatusCallback: REFUSING_URL })).body;
    const stub = roomStub(room.unique_name);
    /** Polls until the head has failed `n` times (delivery runs after alarm() returns, never awaited there). */
    const failedTimes = async (n: number): Promise<OutboxRow> => {
      for (let i = 0; i < 300; i++) {
        const head = (await rows(stub, room.sid))[0];
        if (head && head.attempts >= n) return head;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no ${n} failed attempts`);
    };
    // The runtime's own alarm (due at once since the create) makes the first attempt.
    const first = await failedTimes(1);
    const seenFirst = Date.now();
    expect(first.attempts).toBe(1);
    // The production first step: 1 s, jittered into [0.5 s, 1 s] after the failure.
    expect(first.next_at - createdAt).toBeGreaterThanOrEqual(500);
    expect(first.next_at - seenFirst).toBeLessThanOrEqual(1_000);
    expect(await deadline(stub)).toBe(first.next_at);

    // Make the retry due now and fire the alarm as the runtime would: the step doubles.
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec('UPDATE deadlines SET at = ? WHERE key = ?', Date.now() - 1, CALLBACKS_DELIVER);
    });
    const kicked = Date.now();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const second = await failedTimes(2);
    expect(second.attempts).toBe(2);
    expect(second.next_at - kicked).toBeGreaterThanOrEqual(1_000);
    expect(second.next_at - Date.now()).toBeLessThanOrEqual(2_000);
    expect(await deadline(stub)).toBe(second.next_at);
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(new RegExp(`${room.sid}#0 .*attempt 2`));
  });
});
