import { afterEach, describe, expect, it, vi } from 'vitest';
import { TwilioError } from '../core/errors';
import { formatLog, logError, logInfo, logWarn } from '../core/log';
import { api, createRoom } from './support/rest';
import { insideRoomObject, roomObject } from './support/room-object';
import { SignalingClient } from './support/signaling-client';
import { lines, mentioning } from './support/log-lines';

afterEach(() => {
  vi.restoreAllMocks();
});

const RM = 'RM0123456789abcdef0123456789abcdef';
const PA = 'PA0123456789abcdef0123456789abcdef';

describe('core/log.ts', () => {
  it('prints one JSON line with the fixed fields first, null when unknown, then the extra ones', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    logError({ event: 'deadline-failed', roomSid: RM, key: 'reconnect:x', attempt: 2, error: new TypeError('boom') });
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]).toHaveLength(1);
    const text = String(error.mock.calls[0]![0]);
    expect(text).not.toContain('\n'); // one line, stack included
    const line = JSON.parse(text);
    expect(Object.keys(line)).toEqual(['level', 'event', 'roomSid', 'participantSid', 'code', 'message', 'error', 'key', 'attempt']);
    expect(line).toMatchObject({
      level: 'error',
      event: 'deadline-failed',
      roomSid: RM,
      participantSid: null,
      code: null,
      message: 'boom',
      error: { name: 'TypeError', message: 'boom', stack: expect.stringMatching(/^TypeError: boom\n/) },
      key: 'reconnect:x',
      attempt: 2,
    });
    expect(line.error.stack.split('\n').length).toBeLessThanOrEqual(6);
  });

  it("takes Twilio's code from the error unless given, and levels go to console.error, warn and log", () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const info = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    logError({ event: 'signaling-handler-failed', participantSid: PA, error: new TwilioError(53405, 'Media connection failed') });
    logWarn({ event: 'callback-failed', code: 11200, message: 'retrying', error: new TwilioError(53000) });
    logInfo({ event: 'room-purged', roomSid: RM });
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ level: 'error', participantSid: PA, code: 53405, message: 'Media connection failed' });
    expect(JSON.parse(String(warn.mock.calls[0]![0]))).toMatchObject({ level: 'warn', code: 11200, message: 'retrying' });
    expect(JSON.parse(String(info.mock.calls[0]![0]))).toEqual({ level: 'info', event: 'room-purged', roomSid: RM, participantSid: null, code: null, message: 'room-purged' });
  });

  it('never throws: values that are not errors, cycles and fields that would overwrite the fixed ones', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const line = JSON.parse(formatLog('error', { event: 'x', roomSid: RM, context: cyclic, error: 'a string was thrown' }));
    expect(line).toEqual({ level: 'error', event: 'x', roomSid: RM, participantSid: null, code: null, message: 'a string was thrown', error: { name: 'string', message: 'a string was thrown' } });
    expect(JSON.parse(formatLog('warn', { event: 'y', level: 'fake', error: { code: 20101 } }))).toMatchObject({ level: 'warn', code: 20101 });
    const error = vi.spyOn(console, 'error').mockImplementation(() => {
      throw new Error('console is gone');
    });
    expect(() => logError({ event: 'z' })).not.toThrow();
    expect(error).toHaveBeenCalledTimes(1);
  });
});

describe('signaling handler failures', () => {
  it('goes on with a socket’s next message after one handler rejected, and logs the rejection once', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    const aliceSid = alice.connected.participant.sid;
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // The next frame's handling rejects, as if something escaped the connection layer's own catch.
    await insideRoomObject(stub, (instance) => {
      const connection = instance.signaling.connection;
      const original = connection.handle;
      let once = true;
      connection.handle = function (this: unknown, ws: WebSocket, data: string | ArrayBuffer) {
        if (once) {
          once = false;
          return Promise.reject(new Error('injected handler failure'));
        }
        return original.call(this, ws, data);
      };
    });
    // A heartbeat that is not byte-exact is answered by the object itself (not auto-answered).
    alice.send('{ "type" : "heartbeat" }');
    const from = alice.frames.length;
    alice.send('{ "type" : "heartbeat" }');
    await alice.next((f) => f.type === 'heartbeat', 3000, from);
    expect(alice.closed).toBeNull();

    expect(mentioning(error, 'injected handler failure')).toHaveLength(1);
    const logged = lines(error).filter((l) => l.event === 'signaling-handler-failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'error',
      roomSid: room.sid,
      participantSid: aliceSid,
      code: 53000,
      message: 'signaling handler failed',
      error: { name: 'Error', message: 'injected handler failure' },
    });
    await insideRoomObject(stub, (instance) => {
      delete instance.signaling.connection.handle;
    });
    alice.close();
  });

  it('answers an internal throw with 53000 to the sender only, logged once with the room and participant', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    const bob = await SignalingClient.join(room.unique_name, 'bob');
    const aliceSid = alice.connected.participant.sid;
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await insideRoomObject(stub, (instance) => {
      const rooms = instance.signaling.rooms;
      const original = rooms.handle;
      rooms.handle = function (this: unknown, ...args: unknown[]) {
        if ((args[1] as { participantSid?: string }).participantSid === aliceSid) throw new RangeError('injected room-layer bug');
        return original.apply(this, args);
      };
    });
    alice.msg({ type: 'update', participant: { revision: 2, tracks: [] } });
    expect(await alice.nextMsg((m) => m.type === 'error')).toMatchObject({ code: 53000 });
    await alice.waitClosed();
    // Bob is told alice left; nothing else happens to him.
    await bob.nextMsg((m) => m.type === 'update' && m.participants?.some((p: any) => p.sid === aliceSid && p.state === 'disconnected'));
    expect(bob.closed).toBeNull();

    expect(mentioning(error, 'injected room-layer bug')).toHaveLength(1);
    expect(lines(error).filter((l) => l.event === 'signaling-handler-failed')).toEqual([
      expect.objectContaining({ roomSid: room.sid, participantSid: aliceSid, code: 53000, error: expect.objectContaining({ name: 'RangeError' }) }),
    ]);
    await insideRoomObject(stub, (instance) => {
      delete instance.signaling.rooms.handle;
    });
    bob.close();
  });

  it('does not fail the socket handler when the catalog publish after a message throws', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const outcome: { rejected: unknown[] } = { rejected: [] };
    await insideRoomObject(stub, (instance) => {
      instance.catalogSync.publish = async () => {
        throw new Error('catalog binding broken');
      };
      // Watch what the runtime would get from the WebSocket handler.
      const original = instance.webSocketMessage;
      instance.webSocketMessage = async function (this: unknown, ...args: unknown[]) {
        try {
          return await original.apply(this, args);
        } catch (err) {
          outcome.rejected.push(err);
          throw err;
        }
      };
    });
    alice.send('{ "type" : "heartbeat" }');
    await alice.next((f) => f.type === 'heartbeat');
    const from = alice.frames.length;
    alice.send('{ "type" : "heartbeat" }');
    await alice.next((f) => f.type === 'heartbeat', 3000, from);
    expect(outcome.rejected).toEqual([]);
    const logged = lines(error).filter((l) => l.event === 'catalog-publish-failed');
    expect(logged).toHaveLength(2); // once per message, each its own failure
    expect(logged[0]).toMatchObject({ level: 'error', roomSid: room.sid, error: { message: 'catalog binding broken' } });
    await insideRoomObject(stub, (instance) => {
      delete instance.catalogSync.publish;
      delete instance.webSocketMessage;
    });
    alice.close();
  });
});

describe('RPC failures', () => {
  it('answers an unexpected throw with 20500, logged once with the room, and the object keeps serving', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    const stub = roomObject(room.unique_name);
    const alice = await SignalingClient.join(room.unique_name, 'alice');
    const aliceSid = alice.connected.participant.sid;
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await insideRoomObject(stub, (instance) => {
      instance.participantsApi.participant = () => {
        throw new Error('injected store failure');
      };
    });
    const res = await api('GET', `/v1/Rooms/${room.sid}/Participants/${aliceSid}`);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 20500, status: 500 });
    expect(mentioning(error, 'injected store failure')).toHaveLength(1);
    expect(lines(error)).toEqual([
      expect.objectContaining({
        level: 'error',
        event: 'rpc-failed',
        roomSid: room.sid,
        participantSid: aliceSid,
        code: null,
        message: 'unhandled error in RPC participant: injected store failure',
        method: 'participant',
      }),
    ]);
    await insideRoomObject(stub, (instance) => {
      delete instance.participantsApi.participant;
    });
    expect((await api('GET', `/v1/Rooms/${room.sid}/Participants/${aliceSid}`)).body).toMatchObject({ sid: aliceSid, status: 'connected' });
    alice.close();
  });
});
