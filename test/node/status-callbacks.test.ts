/// <reference types="node" />
/**
 * Status callbacks end to end: a real `wrangler dev` sends them to a real HTTP receiver on
 * loopback, and twilio-node's `validateRequest` (what Twilio's customers use) checks every
 * signature. CALLBACK_RETRY_BASE_MS shortens the first backoff step to 100 ms so that several
 * retries fit in a test; the rest of the policy (doubling, 10 s attempt timeout) is production's.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AtriumServer, DEV_CREDENTIALS, freePort, startAtrium } from './support/atrium-server';
import { type CallbackReceiver, label, type ReceivedCallback, startReceiver } from './support/callback-receiver';

const RETRY_BASE_MS = 100;
const AUTH = 'Basic ' + Buffer.from(`${DEV_CREDENTIALS.accountSid}:${DEV_CREDENTIALS.authToken}`).toString('base64');

let atrium: AtriumServer;
let receiver: CallbackReceiver;

beforeAll(async () => {
  [atrium, receiver] = await Promise.all([startAtrium({ vars: { CALLBACK_RETRY_BASE_MS: String(RETRY_BASE_MS) } }), startReceiver()]);
});

afterAll(async () => {
  await receiver?.close();
  await atrium?.stop();
});

interface RoomJson {
  sid: string;
  unique_name: string;
  status: string;
}

/** POSTs a form to Atrium's REST API; returns the status, the JSON body and how long it took. */
async function post(path: string, form: Record<string, string>): Promise<{ status: number; body: RoomJson; ms: number }> {
  const started = performance.now();
  const res = await fetch(atrium.url + path, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json()) as RoomJson;
  return { status: res.status, body, ms: performance.now() - started };
}

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;

async function createRoom(form: Record<string, string>): Promise<RoomJson & { ms: number }> {
  const res = await post('/v1/Rooms', { UniqueName: uniqueName('cb'), ...form });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...res.body, ms: res.ms };
}

async function completeRoom(sid: string): Promise<number> {
  const res = await post(`/v1/Rooms/${sid}`, { Status: 'completed' });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.ms;
}

const ofRoom = (sid: string) => (r: ReceivedCallback) => r.params.RoomSid === sid;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const statusOf = (r: ReceivedCallback) => (r.reply === 'hang' ? null : typeof r.reply === 'number' ? r.reply : r.reply.status);

/** twilio-node's own check, as a receiver runs it (for GET the parameters are in the URL already). */
function validates(r: ReceivedCallback): boolean {
  return twilio.validateRequest(DEV_CREDENTIALS.authToken, r.signature, r.url, r.method === 'GET' ? {} : r.params);
}

/**
 * At least once and no more than that: each (RoomSid, SequenceNumber) was acknowledged exactly
 * once, and no copy of it arrived after that acknowledgement.
 */
function expectAcknowledgedOnce(requests: ReceivedCallback[]): void {
  const byKey = new Map<string, ReceivedCallback[]>();
  for (const r of requests) {
    const key = `${r.params.RoomSid}#${r.params.SequenceNumber}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  for (const [key, copies] of byKey) {
    const acked = copies.filter((r) => {
      const status = statusOf(r);
      return status !== null && status >= 200 && status < 300;
    });
    expect(acked.length, `${key} acknowledged ${acked.length} times`).toBe(1);
    const ackedAt = acked[0]!.answeredAt!;
    expect(copies.filter((r) => r.receivedAt > ackedAt).length, `${key} arrived again after its 2xx`).toBe(0);
  }
}

describe('status callbacks from a running Atrium', () => {
  it('POSTs room-created and room-ended with Twilio’s parameters and a valid X-Twilio-Signature', async () => {
    const sentAt = Date.now();
    const room = await createRoom({ StatusCallback: receiver.url('/post/hook?tenant=a%20b&x=1'), Type: 'group-small' });
    const [first] = await receiver.waitFor(ofRoom(room.sid), 1);
    console.log(`room-created arrived ${first!.receivedAt - sentAt} ms after the create request was sent`);
    await completeRoom(room.sid);
    const got = await receiver.waitFor(ofRoom(room.sid), 2);
    expect(got.map(label)).toEqual([`${room.sid}#0 room-created`, `${room.sid}#1 room-ended`]);
    const common = { AccountSid: DEV_CREDENTIALS.accountSid, RoomName: room.unique_name, RoomSid: room.sid, RoomType: 'group-small' };
    expect(got[0]!.params).toStrictEqual({
      ...common,
      RoomStatus: 'in-progress',
      StatusCallbackEvent: 'room-created',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SequenceNumber: '0',
    });
    expect(got[1]!.params).toStrictEqual({
      ...common,
      RoomStatus: 'completed',
      StatusCallbackEvent: 'room-ended',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      RoomDuration: expect.stringMatching(/^\d+$/),
      SequenceNumber: '1',
    });
    expect(Date.parse(got[1]!.params.Timestamp!)).toBeGreaterThanOrEqual(Date.parse(got[0]!.params.Timestamp!));
    for (const r of got) {
      expect(r.method).toBe('POST');
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(r.url).toBe(receiver.url('/post/hook?tenant=a%20b&x=1'));
      expect(validates(r), label(r)).toBe(true);
      // The check can fail: another parameter value, URL or token does not validate.
      expect(twilio.validateRequest(DEV_CREDENTIALS.authToken, r.signature, r.url, { ...r.params, RoomStatus: 'failed' })).toBe(false);
      expect(twilio.validateRequest(DEV_CREDENTIALS.authToken, r.signature, r.url + '&y=2', r.params)).toBe(false);
      expect(twilio.validateRequest('another-token', r.signature, r.url, r.params)).toBe(false);
    }
    expectAcknowledgedOnce(got);
  });

  it('sends room-created only once the REST API can find the room', async () => {
    const lookups: number[] = [];
    receiver.reply = async (r) => {
      if (r.path !== '/lookup') return 200;
      const res = await fetch(`${atrium.url}/v1/Rooms/${r.params.RoomSid}`, { headers: { authorization: AUTH } });
      await res.arrayBuffer();
      lookups.push(res.status);
      return 200;
    };
    for (let i = 0; i < 5; i++) {
      const room = await createRoom({ StatusCallback: receiver.url('/lookup') });
      await receiver.waitFor(ofRoom(room.sid), 1);
    }
    expect(lookups).toEqual([200, 200, 200, 200, 200]);
    receiver.reply = () => 200;
  });

  it('GETs with the parameters in the query, signed over the full URL', async () => {
    const room = await createRoom({ StatusCallback: receiver.url('/get/hook?k=v'), StatusCallbackMethod: 'GET' });
    await completeRoom(room.sid);
    const got = await receiver.waitFor(ofRoom(room.sid), 2);
    expect(got.map(label)).toEqual([`${room.sid}#0 room-created`, `${room.sid}#1 room-ended`]);
    for (const r of got) {
      expect(r.method).toBe('GET');
      expect(r.url.startsWith(receiver.url('/get/hook?k=v&'))).toBe(true);
      expect(r.params).toMatchObject({ k: 'v', RoomSid: room.sid, AccountSid: DEV_CREDENTIALS.accountSid });
      expect(validates(r), label(r)).toBe(true);
      expect(twilio.validateRequest(DEV_CREDENTIALS.authToken, r.signature, r.url.replace('k=v', 'k=w'), {})).toBe(false);
    }
  });

  it('sends a room’s next event only after the receiver acknowledged the previous one', async () => {
    // Each room-created is held 400 ms before its 200; the rooms are completed meanwhile.
    receiver.reply = (r) => (r.path === '/slow' && r.params.SequenceNumber === '0' ? { status: 200, delayMs: 400 } : 200);
    const rooms = await Promise.all([0, 1, 2].map(() => createRoom({ StatusCallback: receiver.url('/slow') })));
    await Promise.all(rooms.map((room) => receiver.waitFor(ofRoom(room.sid), 1)));
    await Promise.all(rooms.map((room) => completeRoom(room.sid)));
    for (const room of rooms) {
      const got = await receiver.waitFor(ofRoom(room.sid), 2);
      expect(got.map((r) => r.params.SequenceNumber)).toEqual(['0', '1']);
      expect(got[1]!.receivedAt).toBeGreaterThanOrEqual(got[0]!.answeredAt!);
    }
    await sleep(300);
    expectAcknowledgedOnce(receiver.received.filter((r) => rooms.some((room) => room.sid === r.params.RoomSid)));
    receiver.reply = () => 200;
  });

  it('retries 503, 429 and 500 with a growing backoff, then moves on in order', async () => {
    const failures = [503, 429, 500];
    const seen = new Map<string, number>();
    receiver.reply = (r) => {
      if (r.path !== '/flaky') return 200;
      const n = seen.get(r.params.RoomSid!) ?? 0;
      seen.set(r.params.RoomSid!, n + 1);
      return failures[n] ?? 200;
    };
    const room = await createRoom({ StatusCallback: receiver.url('/flaky') });
    await completeRoom(room.sid);
    const got = await receiver.waitFor(ofRoom(room.sid), 5);
    expect(got.map((r) => `${r.params.SequenceNumber}:${statusOf(r)}`)).toEqual(['0:503', '0:429', '0:500', '0:200', '1:200']);
    for (const r of got) expect(validates(r), label(r)).toBe(true);
    // Waits after failure 1, 2, 3: jittered in [½, 1] × 100, 200, 400 ms.
    const gaps = [1, 2, 3].map((i) => got[i]!.receivedAt - got[i - 1]!.receivedAt);
    console.log(`retry gaps after 503/429/500: ${gaps.join(', ')} ms`);
    gaps.forEach((gap, i) => {
      const step = RETRY_BASE_MS * 2 ** i;
      expect(gap).toBeGreaterThanOrEqual(step / 2 - 5);
      expect(gap).toBeLessThan(step + 500);
    });
    await sleep(300);
    expectAcknowledgedOnce(receiver.received.filter(ofRoom(room.sid)));
    receiver.reply = () => 200;
  });

  it('retries a refused connection until the receiver comes up', async () => {
    const port = await freePort();
    const room = await createRoom({ StatusCallback: `http://127.0.0.1:${port}/late` });
    await completeRoom(room.sid);
    await sleep(1_000);
    expect(atrium.output()).toMatch(new RegExp(`status callback ${room.sid}#0 .*failed \\(attempt 2`));
    const late = await startReceiver(port);
    try {
      const got = await late.waitFor(ofRoom(room.sid), 2);
      expect(got.map(label)).toEqual([`${room.sid}#0 room-created`, `${room.sid}#1 room-ended`]);
      for (const r of got) expect(validates(r), label(r)).toBe(true);
      await sleep(300);
      expectAcknowledgedOnce(late.received);
    } finally {
      await late.close();
    }
  });

  it('drops an event answered 404 (logged, not retried) and delivers the next one', async () => {
    receiver.reply = (r) => (r.path === '/gone' && r.params.SequenceNumber === '0' ? 404 : 200);
    const room = await createRoom({ StatusCallback: receiver.url('/gone') });
    await completeRoom(room.sid);
    const got = await receiver.waitFor(ofRoom(room.sid), 2);
    await sleep(500);
    expect(receiver.received.filter(ofRoom(room.sid)).map((r) => `${r.params.SequenceNumber}:${statusOf(r)}`)).toEqual(['0:404', '1:200']);
    expect(got[1]!.params.StatusCallbackEvent).toBe('room-ended');
    expect(atrium.output()).toMatch(new RegExp(`status callback ${room.sid}#0 .*dropped, not retried: HTTP 404`));
    receiver.reply = () => 200;
  });

  it('a receiver that hangs slows neither REST calls on other rooms nor on its own room', async () => {
    receiver.reply = (r) => (r.path === '/hang' ? 'hang' : 200);
    const cycle = async () => {
      const room = await createRoom({ StatusCallback: receiver.url('/fast') });
      return { create: room.ms, complete: await completeRoom(room.sid) };
    };
    const ROUNDS = 10;
    await cycle(); // warm-up: first requests compile and start objects
    const baseline: { create: number; complete: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) baseline.push(await cycle());

    const hung = await createRoom({ StatusCallback: receiver.url('/hang') });
    await receiver.waitFor(ofRoom(hung.sid), 1);
    const hangStarted = Date.now();
    const during: { create: number; complete: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) during.push(await cycle());
    // The hung room's own object: its room-created is in flight, yet it completes at once.
    const ownComplete = await completeRoom(hung.sid);
    // All of this happened within the 10 s attempt timeout, so the hang was in force throughout.
    expect(Date.now() - hangStarted).toBeLessThan(9_000);
    expect(receiver.received.filter(ofRoom(hung.sid)).map((r) => r.params.SequenceNumber)).toEqual(['0']);

    const summary = (rows: { create: number; complete: number }[]) => ({
      create: Math.round(median(rows.map((r) => r.create))),
      complete: Math.round(median(rows.map((r) => r.complete))),
      worst: Math.round(Math.max(...rows.flatMap((r) => [r.create, r.complete]))),
    });
    const before = summary(baseline);
    const meanwhile = summary(during);
    console.log(
      `REST latency, median create/complete (worst) in ms: baseline ${before.create}/${before.complete} (${before.worst}); ` +
        `while a receiver hangs ${meanwhile.create}/${meanwhile.complete} (${meanwhile.worst}); ` +
        `completing the hung room itself: ${Math.round(ownComplete)}`,
    );
    expect(meanwhile.create).toBeLessThan(before.create * 3 + 50);
    expect(meanwhile.complete).toBeLessThan(before.complete * 3 + 50);
    expect(meanwhile.worst).toBeLessThan(2_000);
    expect(ownComplete).toBeLessThan(1_000);
    receiver.reply = () => 200;
  });

  it('delivers queued events after wrangler restarts', { timeout: 90_000 }, async () => {
    let restarted = false;
    receiver.reply = (r) => (r.path === '/restart' && !restarted ? 503 : 200);
    const room = await createRoom({ StatusCallback: receiver.url('/restart') });
    await completeRoom(room.sid);
    await receiver.waitFor(ofRoom(room.sid), 1);
    await atrium.restart();
    restarted = true;
    const restartedAt = Date.now();
    const acked = await receiver.waitFor((r) => ofRoom(room.sid)(r) && statusOf(r) === 200, 2, 60_000);
    console.log(`after restart: room-created acknowledged ${acked[0]!.receivedAt - restartedAt} ms after the server was back`);
    expect(acked.map(label)).toEqual([`${room.sid}#0 room-created`, `${room.sid}#1 room-ended`]);
    for (const r of acked) {
      expect(r.receivedAt).toBeGreaterThanOrEqual(restartedAt);
      expect(validates(r), label(r)).toBe(true);
    }
    await sleep(300);
    expectAcknowledgedOnce(receiver.received.filter(ofRoom(room.sid)));
  });

  it('resends an event whose attempt was cut off by a restart (the lease deadline)', { timeout: 90_000 }, async () => {
    let restarted = false;
    receiver.reply = (r) => (r.path === '/cut' && !restarted ? 'hang' : 200);
    const room = await createRoom({ StatusCallback: receiver.url('/cut') });
    await receiver.waitFor(ofRoom(room.sid), 1);
    // The attempt is in flight (the receiver holds it) when the server goes away.
    await atrium.restart();
    restarted = true;
    const restartedAt = Date.now();
    const got = await receiver.waitFor(ofRoom(room.sid), 2, 60_000);
    console.log(`after a restart mid-attempt: resent ${got[1]!.receivedAt - restartedAt} ms after the server was back`);
    expect(got.map((r) => `${label(r)}:${statusOf(r)}`)).toEqual([`${room.sid}#0 room-created:null`, `${room.sid}#0 room-created:200`]);
    expect(validates(got[1]!)).toBe(true);
    await completeRoom(room.sid);
    const all = await receiver.waitFor(ofRoom(room.sid), 3);
    expect(label(all[2]!)).toBe(`${room.sid}#1 room-ended`);
    await sleep(300);
    expectAcknowledgedOnce(receiver.received.filter(ofRoom(room.sid)));
  });
});
