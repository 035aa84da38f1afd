import { describe, expect, it } from 'vitest';
import { uniqueName } from './support/rest';
import { SignalingClient, audioTrack, connectMessage, expiredToken, token } from './support/signaling-client';

/** Two connected participants and their pair's id, as most tests here need. */
async function pairOf(room = uniqueName('mal')) {
  const alice = await SignalingClient.join(room, 'alice', { tracks: [audioTrack('a1')] });
  const bob = await SignalingClient.join(room, 'bob', { tracks: [audioTrack('b1')] });
  const update = await alice.nextMsg((m) => m.type === 'update' && m.peer_connections);
  return { room, alice, bob, pcId: update.peer_connections[0].id as string };
}

/** Checks that the pair still relays both ways after someone else misbehaved. */
async function stillRelays(alice: SignalingClient, bob: SignalingClient, pcId: string) {
  const from = bob.frames.length;
  const offer = { id: pcId, description: { type: 'offer', revision: 2, sdp: 'v=0\r\n' } };
  alice.msg({ type: 'update', version: 2, session: alice.connected.session, peer_connections: [offer] });
  const got = await bob.nextMsg((m) => m.type === 'update' && m.peer_connections, 3000, from);
  expect(got.peer_connections).toEqual([offer]);
  expect(alice.closed).toBeNull();
  expect(bob.closed).toBeNull();
}

async function expectError(client: SignalingClient, code: number) {
  const error = await client.nextMsg((m) => m.type === 'error');
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  await client.waitClosed();
}

describe('signaling: malformed frames from one participant', () => {
  const bad: [string, string][] = [
    ['invalid JSON', '{"type":"msg",'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"hello"'],
    ['an unknown frame type', '{"type":"shout"}'],
    ['an unknown message type', '{"type":"msg","body":{"type":"teleport"}}'],
    ['a msg without body', '{"type":"msg"}'],
    ['a wrong revision type', '{"type":"msg","body":{"type":"update","participant":{"revision":"2","tracks":[]}}}'],
    ['a negative revision', '{"type":"msg","body":{"type":"update","participant":{"revision":-1,"tracks":[]}}}'],
    ['tracks that are not an array', '{"type":"msg","body":{"type":"update","participant":{"revision":9,"tracks":{}}}}'],
    ['a track of an unknown kind', '{"type":"msg","body":{"type":"update","participant":{"revision":9,"tracks":[{"id":"x","kind":"smell","name":"x"}]}}}'],
    ['peer_connections that is an object', '{"type":"msg","body":{"type":"update","peer_connections":{"id":"x"}}}'],
    ['a peer connection without id', '{"type":"msg","body":{"type":"update","peer_connections":[{"description":{"type":"offer","revision":1}}]}}'],
    ['an unknown description type', '{"type":"msg","body":{"type":"update","peer_connections":[{"id":"x","description":{"type":"shout","revision":1}}]}}'],
    ['a bandwidth profile that is not an object', '{"type":"msg","body":{"type":"update","bandwidth_profile":"fast"}}'],
    ['a bandwidth limit that is not a number', '{"type":"msg","body":{"type":"update","bandwidth_profile":{"video":{"max_subscription_bandwidth":"lots"}}}}'],
    ['an unknown bandwidth profile mode', '{"type":"msg","body":{"type":"update","bandwidth_profile":{"video":{"mode":"theatre"}}}}'],
    ['an unknown switch-off mode', '{"type":"msg","body":{"type":"update","bandwidth_profile":{"video":{"track_switch_off":"sometimes"}}}}'],
    ['a binary frame', 'BINARY'],
  ];
  it.each(bad)('answers %s with 53004 to the sender only', async (_label, frame) => {
    const { alice, bob, pcId } = await pairOf();
    const carol = await SignalingClient.join(alice.connected.name, 'carol');
    if (frame === 'BINARY') carol.ws.send(new Uint8Array([1, 2, 3]));
    else carol.send(frame);
    await expectError(carol, 53004);
    // Alice and Bob see Carol leave, and go on as before.
    await alice.nextMsg((m) => m.type === 'update' && m.participants?.some((p: any) => p.identity === 'carol' && p.state === 'disconnected'));
    await stillRelays(alice, bob, pcId);
  });

  it('refuses frames over the size limit', async () => {
    const { alice, bob, pcId } = await pairOf();
    const mallory = await SignalingClient.join(alice.connected.name, 'mallory');
    mallory.send(JSON.stringify({ type: 'msg', body: { type: 'update', pad: 'x'.repeat(300 * 1024) } }));
    await expectError(mallory, 53004);
    await stillRelays(alice, bob, pcId);
  });

  it("refuses another pair's peer connection id", async () => {
    const { alice, bob, pcId } = await pairOf();
    const mallory = await SignalingClient.join(alice.connected.name, 'mallory');
    const bobFrames = bob.frames.length;
    mallory.msg({ type: 'update', version: 2, session: mallory.connected.session, peer_connections: [{ id: pcId, description: { type: 'offer', revision: 99, sdp: 'evil' } }] });
    await expectError(mallory, 53004);
    await stillRelays(alice, bob, pcId);
    // Bob never saw Mallory's offer.
    expect(JSON.stringify(bob.frames.slice(bobFrames))).not.toContain('evil');
  });

  it('counts the size limit in bytes of UTF-8, not in characters', async () => {
    const { alice, bob, pcId } = await pairOf();
    const mallory = await SignalingClient.join(alice.connected.name, 'mallory');
    // 90 K characters, but each '€' is three bytes: 270 KiB on the wire, over the 256 KiB limit.
    mallory.send(JSON.stringify({ type: 'msg', body: { type: 'update', pad: '€'.repeat(90 * 1024) } }));
    await expectError(mallory, 53004);
    await stillRelays(alice, bob, pcId);
  });

  it("refuses a connect offering on another pair's peer connection id before anyone hears of it", async () => {
    const { room, alice, bob, pcId } = await pairOf();
    const aliceFrames = alice.frames.length;
    const mallory = await SignalingClient.join(room, 'mallory', { offerId: pcId });
    expect(mallory.messages.find((m) => m.type === 'error')?.code).toBe(53004);
    await mallory.waitClosed();
    await stillRelays(alice, bob, pcId);
    // Refused before it joined: nobody was told of mallory, neither arriving nor leaving.
    expect(JSON.stringify(alice.frames.slice(aliceFrames))).not.toContain('mallory');
  });

  it('disconnects a flooding participant', async () => {
    const { alice, bob, pcId } = await pairOf();
    const mallory = await SignalingClient.join(alice.connected.name, 'mallory');
    for (let i = 0; i < 1000; i++) mallory.send('{"type":"heartbeat","n":' + i + '}');
    await expectError(mallory, 53004);
    await stillRelays(alice, bob, pcId);
  });

  it('answers a msg before hello with bad, and an update before connect with 53004', async () => {
    const early = await SignalingClient.open(uniqueName('early'));
    early.msg({ type: 'update', peer_connections: [] });
    expect((await early.next((f) => f.type === 'bad')).reason).toMatch(/hello/);
    const c = await SignalingClient.open(uniqueName('early'));
    c.send({ type: 'hello', id: 'x', timeout: 5000, version: 2 });
    await c.next((f) => f.type === 'welcome');
    c.msg({ type: 'update', version: 2, peer_connections: [] });
    await expectError(c, 53004);
  });

  it('answers a heartbeat that is not byte-exact, and clamps the heartbeat interval', async () => {
    const c = await SignalingClient.open(uniqueName('hb'));
    c.send({ type: 'hello', id: 'x', timeout: 10, version: 2 });
    expect(await c.next((f) => f.type === 'welcome')).toEqual({ type: 'welcome', negotiatedTimeout: 1000 });
    c.send('{ "type" : "heartbeat" }');
    await c.next((f) => f.type === 'heartbeat');
    c.send('{"type":"heartbeat"}');
    await c.next((f) => f.type === 'heartbeat', 3000, c.frames.filter((f) => f.type !== 'heartbeat').length + 1);
  });

  it('refuses a connect whose name differs from the URL', async () => {
    const c = await SignalingClient.open(uniqueName('url'));
    c.send({ type: 'hello', id: 'x', timeout: 5000, version: 2, body: connectMessage('another-room', await token('eve')) });
    await expectError(c, 53104);
  });

  it.each([
    ['a too long room name', 'n'.repeat(129), 53101],
    ['a room name with control characters', 'bad\u0007name', 53102],
  ])('refuses %s', async (_label, name, code) => {
    const c = await SignalingClient.open(name);
    c.send({ type: 'hello', id: 'x', timeout: 5000, version: 2, body: connectMessage(name, await token('eve')) });
    await expectError(c, code);
  });
});

describe('signaling: access tokens', () => {
  it.each([
    ['a wrong signature', async (room: string) => token('eve', room, { apiKeySecret: 'not-the-secret' }), 20107],
    ['an expired token', async (room: string) => expiredToken(room), 20104],
    ['a token for another room', async () => token('eve', 'another-room'), 20106],
    ['garbage', async () => 'garbage', 20101],
    ['a header that is not JSON', async () => 'not.a.jwt', 20102],
  ])('rejects %s with its code', async (_label, make, code) => {
    const room = uniqueName('tok');
    const c = await SignalingClient.open(room);
    c.send({ type: 'hello', id: 'x', timeout: 5000, version: 2, body: connectMessage(room, await make(room)) });
    await expectError(c, code);
  });

  it('checks the token of ice and answers iced with static and TURN servers', async () => {
    const room = uniqueName('ice');
    const c = await SignalingClient.open(room);
    c.send({ type: 'hello', id: 'x', timeout: 5000, version: 2, body: { type: 'ice', version: 1, edge: 'roaming', token: await token('ivy', room) } });
    const iced = await c.nextMsg((m) => m.type === 'iced');
    // vitest.config.ts configures one static STUN server and a TURN secret.
    expect(iced.ice_servers[0]).toEqual({ urls: 'stun:stun.atrium.test:3478' });
    const turn = iced.ice_servers[1];
    expect(turn.urls).toEqual(['turn:turn.atrium.test:3478?transport=udp', 'turns:turn.atrium.test:5349']);
    const [expiry, identity] = turn.username.split(':');
    expect(identity).toBe('ivy');
    expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000 + 3600);
    // coturn's use-auth-secret: base64(HMAC-SHA1(secret, username)).
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('turn-test-secret'), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(turn.username)));
    expect(turn.credential).toBe(btoa(String.fromCharCode(...mac)));

    const bad = await SignalingClient.open(room);
    bad.send({ type: 'hello', id: 'x', timeout: 5000, version: 2, body: { type: 'ice', version: 1, token: 'nope' } });
    await expectError(bad, 20101);
  });
});
