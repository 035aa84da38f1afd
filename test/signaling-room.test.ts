import { describe, expect, it } from 'vitest';
import { api, createRoom, uniqueName } from './support/rest';
import { deadlines, fireDeadline, insideRoomObject, roomObject } from './support/room-object';
import { SignalingClient, audioTrack, dataTrack, token, videoTrack } from './support/signaling-client';

const update = (c: SignalingClient, body: Record<string, unknown>) =>
  c.msg({ type: 'update', version: 2, session: c.connected.session, ...body });

describe('signaling: room rules', () => {
  it('disconnects the first of two connections with one identity with 53205', async () => {
    const room = uniqueName('dup');
    const first = await SignalingClient.join(room, 'sam');
    const watcher = await SignalingClient.join(room, 'watcher');
    const second = await SignalingClient.join(room, 'sam');
    expect(second.connected).toBeTruthy();
    expect((await first.nextMsg((m) => m.type === 'error')).code).toBe(53205);
    await first.waitClosed();
    const seen = await watcher.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.state === 'disconnected');
    expect(seen.participants[0].sid).toBe(first.connected.participant.sid);
    const list = (await insideRoomObject(roomObject(room), (i) => i.participants.present(second.connected.sid))) as any[];
    expect(list.map((p) => p.identity).sort()).toEqual(['sam', 'watcher']);
  });

  it('keeps an ad-hoc room alive when its only participant is replaced by a duplicate identity', async () => {
    const room = uniqueName('solo');
    const first = await SignalingClient.join(room, 'solo');
    const second = await SignalingClient.join(room, 'solo');
    expect(second.connected?.sid).toBe(first.connected.sid);
    expect((await first.nextMsg((m) => m.type === 'error')).code).toBe(53205);
    expect((await api('GET', `/v1/Rooms/${first.connected.sid}`)).body.status).toBe('in-progress');
  });

  it('refuses the participant over MaxParticipants with 53105', async () => {
    const room = (await createRoom({ MaxParticipants: '2', Type: 'peer-to-peer' })).body;
    await SignalingClient.join(room.unique_name, 'p1');
    await SignalingClient.join(room.unique_name, 'p2');
    const third = await SignalingClient.join(room.unique_name, 'p3');
    expect(third.messages.find((m) => m.type === 'error')?.code).toBe(53105);
    await third.waitClosed();
  });

  it('joins a REST-created room, and REST completion disconnects everyone with status completed', async () => {
    const room = (await createRoom()).body;
    const a = await SignalingClient.join(room.unique_name, 'a');
    const b = await SignalingClient.join(room.unique_name, 'b');
    expect(a.connected.sid).toBe(room.sid);
    expect(Object.keys(await deadlines(roomObject(room.unique_name)))).not.toContain('room:unused');
    expect((await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' })).status).toBe(202);
    for (const c of [a, b]) {
      expect(await c.nextMsg((m) => m.type === 'disconnected')).toEqual({ type: 'disconnected', status: 'completed' });
      await c.waitClosed();
    }
  });

  it('ends an ad-hoc room when its last participant disconnects, without telling that participant it completed', async () => {
    const room = uniqueName('last');
    const a = await SignalingClient.join(room, 'a');
    a.msg({ type: 'disconnect', version: 2, session: a.connected.session });
    await a.waitClosed();
    expect((await api('GET', `/v1/Rooms/${a.connected.sid}`)).body.status).toBe('completed');
    // It left on its own; `disconnected: completed` would make its client raise 53118.
    expect(a.messages.filter((m) => m.type !== 'connected')).toEqual([]);
  });

  it('starts the empty-room timeout of a REST room when the last participant leaves', async () => {
    const room = (await createRoom({ EmptyRoomTimeout: '2' })).body;
    const a = await SignalingClient.join(room.unique_name, 'a');
    a.msg({ type: 'disconnect', version: 2, session: a.connected.session });
    await a.waitClosed();
    const stub = roomObject(room.unique_name);
    expect(Object.keys(await deadlines(stub))).toContain('room:empty');
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('in-progress');
    await fireDeadline(stub, 'room:empty');
    expect((await api('GET', `/v1/Rooms/${room.sid}`)).body.status).toBe('completed');
  });

  it('enforces MaxParticipantDuration with an alarm', async () => {
    const room = (await createRoom({ MaxParticipantDuration: '600' })).body;
    const a = await SignalingClient.join(room.unique_name, 'a');
    const stub = roomObject(room.unique_name);
    const key = `max-duration:${a.connected.participant.sid}`;
    const at = (await deadlines(stub))[key]!;
    expect(at - Date.now()).toBeGreaterThan(590_000);
    await fireDeadline(stub, key);
    expect((await a.nextMsg((m) => m.type === 'error')).code).toBe(53216);
  });
});

describe('signaling: tracks', () => {
  it('publishes late, enables, disables and unpublishes, with strictly increasing revisions', async () => {
    const room = uniqueName('tracks');
    const a = await SignalingClient.join(room, 'a', { tracks: [audioTrack('a-mic')] });
    const b = await SignalingClient.join(room, 'b');
    const revisions: number[] = [];
    const seen = (m: any) => m.participants?.find((p: any) => p.identity === 'a');

    // Late publish of a video and a data track.
    let from = a.frames.length;
    update(a, { participant: { revision: 2, tracks: [audioTrack('a-mic'), videoTrack('a-cam', 'camera'), dataTrack('a-chat', 'chat')] } });
    const published = await a.nextMsg((m) => m.type === 'update' && m.published, 3000, from);
    expect(published.published.revision).toBe(2);
    expect(published.published.tracks.map((t: any) => [t.id, t.state])).toEqual([['a-mic', 'ready'], ['a-cam', 'ready'], ['a-chat', 'ready']]);
    for (const t of published.published.tracks) expect(t.sid).toMatch(/^MT[0-9a-f]{32}$/);
    let got = await b.nextMsg((m) => m.type === 'update' && seen(m)?.tracks.length === 3);
    revisions.push(seen(got).revision);
    expect(got.subscribed.tracks.map((t: any) => t.id).sort()).toEqual(['a-cam', 'a-chat', 'a-mic']);

    // Disable the camera.
    update(a, { participant: { revision: 3, tracks: [audioTrack('a-mic'), { ...videoTrack('a-cam', 'camera'), enabled: false }, dataTrack('a-chat', 'chat')] } });
    got = await b.nextMsg((m) => m.type === 'update' && seen(m)?.tracks.some((t: any) => t.name === 'camera' && !t.enabled));
    revisions.push(seen(got).revision);

    // A stale state (lower revision) is ignored.
    update(a, { participant: { revision: 1, tracks: [] } });
    // Unpublish the microphone.
    update(a, { participant: { revision: 4, tracks: [{ ...videoTrack('a-cam', 'camera'), enabled: false }, dataTrack('a-chat', 'chat')] } });
    got = await b.nextMsg((m) => m.type === 'update' && seen(m)?.tracks.length === 2);
    revisions.push(seen(got).revision);
    expect(got.subscribed.tracks.map((t: any) => t.id).sort()).toEqual(['a-cam', 'a-chat']);
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]!).toBeGreaterThan(revisions[i - 1]!);
  });

  it('fails a publication with a duplicate or too long name, and a video track in an audio-only room', async () => {
    const room = (await createRoom({ AudioOnly: 'true' })).body;
    const a = await SignalingClient.join(room.unique_name, 'a', {
      tracks: [audioTrack('m1', 'mic'), audioTrack('m2', 'mic'), audioTrack('m3', 'x'.repeat(129)), videoTrack('v1', 'cam')],
    });
    const byId = Object.fromEntries(a.connected.published.tracks.map((t: any) => [t.id, t]));
    expect(byId.m1.state).toBe('ready');
    expect(byId.m2).toMatchObject({ state: 'failed', error: { code: 53304 } });
    expect(byId.m3).toMatchObject({ state: 'failed', error: { code: 53302 } });
    expect(byId.v1).toMatchObject({ state: 'failed', error: { code: 53125 } });
  });
});

describe('signaling: peer-to-peer relay', () => {
  it('settles glare by dropping the second offer while the first is unanswered', async () => {
    const room = uniqueName('glare');
    const a = await SignalingClient.join(room, 'a');
    const b = await SignalingClient.join(room, 'b');
    const pcId = (await a.nextMsg((m) => m.peer_connections?.[0]?.description?.type === 'create-offer')).peer_connections[0].id;
    update(a, { peer_connections: [{ id: pcId, description: { type: 'offer', revision: 2, sdp: 'offer-a' } }] });
    await b.nextMsg((m) => m.peer_connections?.[0]?.description?.sdp === 'offer-a');
    const aFrames = a.frames.length;
    update(b, { peer_connections: [{ id: pcId, description: { type: 'offer', revision: 2, sdp: 'offer-b' } }] });
    // B's answer settles A's offer; after it, B's next offer goes through.
    update(b, { peer_connections: [{ id: pcId, description: { type: 'answer', revision: 2, sdp: 'answer-b' } }] });
    await a.nextMsg((m) => m.peer_connections?.[0]?.description?.sdp === 'answer-b', 3000, aFrames);
    expect(JSON.stringify(a.frames.slice(aFrames))).not.toContain('offer-b');
    update(b, { peer_connections: [{ id: pcId, description: { type: 'offer', revision: 3, sdp: 'offer-b2' } }] });
    await a.nextMsg((m) => m.peer_connections?.[0]?.description?.sdp === 'offer-b2');
  });

  it('relays ICE within the pair and ignores late ICE for closed connections', async () => {
    const room = uniqueName('ice');
    const a = await SignalingClient.join(room, 'a', { offerId: 'initial-a' });
    // ICE trickled for A's own initial connection (which the server closed) is ignored, not an error.
    update(a, { peer_connections: [{ id: 'initial-a', ice: { revision: 1, ufrag: 'u', candidates: [] } }] });
    const b = await SignalingClient.join(room, 'b');
    const pcId = (await a.nextMsg((m) => m.peer_connections?.[0]?.description?.type === 'create-offer')).peer_connections[0].id;
    const ice = { id: pcId, ice: { revision: 1, ufrag: 'abcd', candidates: [{ candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }] } };
    update(a, { peer_connections: [ice] });
    expect((await b.nextMsg((m) => m.peer_connections?.[0]?.ice)).peer_connections).toEqual([ice]);
    expect(a.closed).toBeNull();
  });
});

describe('signaling: presence', () => {
  it('keeps a dropped participant reconnecting, and resumes it with sync', async () => {
    const room = uniqueName('drop');
    const a = await SignalingClient.join(room, 'a', { tracks: [audioTrack('a-mic')] });
    const b = await SignalingClient.join(room, 'b');
    const pcId = (await a.nextMsg((m) => m.peer_connections?.[0]?.description?.type === 'create-offer')).peer_connections[0].id;
    b.close(); // the socket drops without `disconnect`
    const reconnecting = await a.nextMsg((m) => m.participants?.[0]?.identity === 'b' && m.participants[0].state === 'reconnecting');
    const afterDrop = a.frames.length;
    const stub = roomObject(room);
    expect(Object.keys(await deadlines(stub))).toContain(`reconnect:${b.connected.participant.sid}`);

    // While B is away, A offers; B gets the offer in `synced`.
    update(a, { peer_connections: [{ id: pcId, description: { type: 'offer', revision: 2, sdp: 'missed-offer' } }] });
    const missedIce = { revision: 3, ufrag: 'u2', candidates: [{ candidate: 'candidate:missed', sdpMid: '0', sdpMLineIndex: 0 }] };
    update(a, { peer_connections: [{ id: pcId, ice: missedIce }] });
    const b2 = await SignalingClient.open(room);
    b2.send({
      type: 'hello', id: 'y', timeout: 5000, version: 2,
      body: { type: 'sync', version: 2, session: b.connected.session, token: await token('b'), participant: { revision: 1, tracks: [] }, peer_connections: [] },
    });
    const synced = await b2.nextMsg((m) => m.type === 'synced');
    expect(synced.participant.sid).toBe(b.connected.participant.sid);
    expect(synced.participants.map((p: any) => p.identity)).toEqual(['a']);
    expect(synced.peer_connections).toEqual([{ id: pcId, description: { type: 'offer', revision: 2, sdp: 'missed-offer' }, ice: missedIce }]);
    expect(synced.subscribed.revision).toBeGreaterThan(b.connected.subscribed.revision);
    const back = await a.nextMsg((m) => m.participants?.[0]?.identity === 'b' && m.participants[0].state === 'connected', 3000, afterDrop);
    expect(back.participants[0].revision).toBeGreaterThan(reconnecting.participants[0].revision);
    expect(Object.keys(await deadlines(stub))).not.toContain(`reconnect:${b.connected.participant.sid}`);
  });

  it('disconnects a participant whose reconnect window ran out', async () => {
    const room = uniqueName('expire');
    const a = await SignalingClient.join(room, 'a');
    const b = await SignalingClient.join(room, 'b');
    b.close();
    await a.nextMsg((m) => m.participants?.[0]?.state === 'reconnecting');
    await fireDeadline(roomObject(room), `reconnect:${b.connected.participant.sid}`);
    await a.nextMsg((m) => m.participants?.[0]?.identity === 'b' && m.participants[0].state === 'disconnected');
    // A sync for the expired session is refused.
    const late = await SignalingClient.open(room);
    late.send({ type: 'hello', id: 'z', timeout: 5000, version: 2, body: { type: 'sync', version: 2, session: b.connected.session, token: await token('b'), peer_connections: [] } });
    expect((await late.nextMsg((m) => m.type === 'error')).code).toBe(53002);
  });

  it('sweeps a socket whose peer went silent', async () => {
    const room = uniqueName('sweep');
    const a = await SignalingClient.join(room, 'a');
    const b = await SignalingClient.join(room, 'b');
    const stub = roomObject(room);
    // Make B's socket look silent for a minute: no heartbeat answered, no message.
    await insideRoomObject(stub, (instance, state) => {
      for (const ws of state.getWebSockets()) {
        const att = ws.deserializeAttachment();
        if (att.participantSid === b.connected.participant.sid) {
          instance.signaling.sockets.update(ws, { lastSeen: Date.now() - 60_000, openedAt: Date.now() - 60_000 });
        }
      }
    });
    await fireDeadline(stub, 'sockets:sweep');
    await a.nextMsg((m) => m.participants?.[0]?.identity === 'b' && m.participants[0].state === 'reconnecting');
    expect(await b.waitClosed()).toMatchObject({ code: 3001 });
    expect(a.closed).toBeNull();
  });
});

describe('signaling: ad-hoc rooms whose first join fails', () => {
  it('ends the room it started when the joining socket closed meanwhile', async () => {
    const room = uniqueName('gone');
    const jwt = await token('ghost', room);
    const stub = roomObject(room);
    await insideRoomObject(stub, async (instance) => {
      const [, server] = Object.values(new WebSocketPair());
      server!.accept();
      server!.close(1000, 'gone');
      const attachment = { conn: 'c', accountSid: 'AC00000000000000000000000000000001', roomName: room, phase: 'welcomed', negotiatedTimeout: 5000, participantSid: null, identity: null, openedAt: Date.now(), lastSeen: Date.now() };
      const message = { type: 'connect', name: room, token: jwt, participant: { revision: 1, tracks: [] }, peerConnections: [] };
      await instance.signaling.rooms.handle(server, attachment, message);
      expect(instance.store.current()).toBeNull();
    });
    const listed = await api('GET', `/v1/Rooms?Status=completed&UniqueName=${room}`);
    expect(listed.body.rooms).toHaveLength(1);
    expect((await api('GET', `/v1/Rooms?UniqueName=${room}`)).body.rooms).toHaveLength(0);
  });
});
