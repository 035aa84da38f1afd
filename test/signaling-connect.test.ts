import { describe, expect, it } from 'vitest';
import { api, uniqueName } from './support/rest';
import { SignalingClient, audioTrack, videoTrack } from './support/signaling-client';

describe('signaling: connect', () => {
  it('welcomes, connects and pairs two participants', async () => {
    const room = uniqueName('sig');
    const alice = await SignalingClient.join(room, 'alice', { tracks: [audioTrack('a-audio')], mediaSignaling: ['active_speaker', 'network_quality'] });
    expect(alice.frames[0]).toEqual({ type: 'welcome', negotiatedTimeout: 5000 });
    const connected = alice.connected;
    expect(connected).toMatchObject({
      type: 'connected',
      version: 2,
      name: room,
      participant: { identity: 'alice' },
      participants: [],
      options: { session_timeout: 30 },
    });
    expect(connected.sid).toMatch(/^RM/);
    expect(connected.participant.sid).toMatch(/^PA/);
    expect(connected.published).toEqual({ revision: 1, tracks: [{ id: 'a-audio', sid: expect.stringMatching(/^MT/), state: 'ready' }] });
    expect(connected.peer_connections[0].description.type).toBe('close');
    // An explicit false: twilio-video reads a missing is_recording as true.
    expect(connected.recording).toEqual({ revision: 1, is_recording: false });
    // Without a media server (SFU_URL unset here) media is relayed peer to peer, and nothing serves
    // the media-signaling features the client asked for: none is announced, as in Twilio P2P rooms.
    expect(connected.media_signaling).toBeUndefined();

    const bob = await SignalingClient.join(room, 'bob', { tracks: [videoTrack('b-video')] });
    expect(bob.connected.participants).toEqual([
      { sid: connected.participant.sid, identity: 'alice', state: 'connected', revision: 1, tracks: [expect.objectContaining({ kind: 'audio', name: 'a-audio' })] },
    ]);
    expect(bob.connected.subscribed.tracks).toEqual([{ sid: connected.published.tracks[0].sid, id: 'a-audio' }]);
    const update = await alice.nextMsg((m) => m.type === 'update' && m.peer_connections);
    expect(update.participants[0]).toMatchObject({ identity: 'bob', state: 'connected' });
    expect(update.peer_connections[0].description).toEqual({ type: 'create-offer', revision: 1 });
    expect(update.subscribed.tracks).toEqual([{ sid: bob.connected.published.tracks[0].sid, id: 'b-video' }]);

    // The room exists over REST as an ad-hoc room.
    const rest = await api('GET', `/v1/Rooms/${encodeURIComponent(room)}`);
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ sid: connected.sid, empty_room_timeout: 0, unused_room_timeout: 0 });

    // Alice's offer reaches Bob untouched; Bob's answer reaches Alice.
    const pcId = update.peer_connections[0].id;
    const offer = { id: pcId, description: { type: 'offer', revision: 2, sdp: 'v=0\r\no=alice\r\n' } };
    alice.msg({ type: 'update', version: 2, session: connected.session, peer_connections: [offer] });
    expect((await bob.nextMsg((m) => m.type === 'update' && m.peer_connections)).peer_connections).toEqual([offer]);
    const answer = { id: pcId, description: { type: 'answer', revision: 2, sdp: 'v=0\r\no=bob\r\n' } };
    bob.msg({ type: 'update', version: 2, session: bob.connected.session, peer_connections: [answer] });
    expect((await alice.nextMsg((m) => m.type === 'update' && m.peer_connections?.[0]?.description?.type === 'answer')).peer_connections).toEqual([answer]);

    // Bob leaves: Alice sees him disconnected and the pair closed; the room ends (ad hoc, empty).
    bob.msg({ type: 'disconnect', version: 2, session: bob.connected.session });
    const gone = await alice.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.state === 'disconnected');
    expect(gone.peer_connections).toEqual([{ id: pcId, description: expect.objectContaining({ type: 'close' }) }]);
    alice.msg({ type: 'disconnect', version: 2, session: connected.session });
    await alice.waitClosed();
    await new Promise((r) => setTimeout(r, 50));
    expect((await api('GET', `/v1/Rooms/${connected.sid}`)).body.status).toBe('completed');
  });
});
