import { describe, expect, it } from 'vitest';
import { ACCOUNT_SID, ORIGIN, api, createRoom, uniqueName } from './support/rest';
import { SignalingClient, audioTrack, connectMessage, dataTrack, token, videoTrack } from './support/signaling-client';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const PARTICIPANT_KEYS = [
  'account_sid',
  'date_created',
  'date_updated',
  'duration',
  'end_time',
  'identity',
  'links',
  'room_sid',
  'sid',
  'start_time',
  'status',
  'url',
];

/** A REST room with participants joined over the real signaling protocol. */
async function roomWith(identities: string[], form: Record<string, string> = {}) {
  const room = (await createRoom(form)).body;
  const clients: Record<string, SignalingClient> = {};
  for (const identity of identities) clients[identity] = await SignalingClient.join(room.unique_name, identity);
  return { room, clients, sidOf: (identity: string) => clients[identity]!.connected.participant.sid as string };
}

const participantsPath = (room: string) => `/v1/Rooms/${room}/Participants`;

describe('GET /v1/Rooms/{RoomSid}/Participants', () => {
  it('lists connected participants with Twilio fields, ISO dates and absolute links, by room sid or name', async () => {
    const { room, sidOf } = await roomWith(['alice', 'bob']);
    const res = await api('GET', participantsPath(room.sid));
    expect(res.status).toBe(200);
    expect(res.body.meta).toEqual({
      page: 0,
      page_size: 50,
      first_page_url: `${ORIGIN}/v1/Rooms/${room.sid}/Participants?PageSize=50&Page=0`,
      previous_page_url: null,
      url: `${ORIGIN}/v1/Rooms/${room.sid}/Participants?PageSize=50&Page=0`,
      next_page_url: null,
      key: 'participants',
    });
    // Newest first.
    expect(res.body.participants.map((p: any) => p.identity)).toEqual(['bob', 'alice']);
    const alice = res.body.participants[1];
    expect(Object.keys(alice).sort()).toEqual(PARTICIPANT_KEYS);
    const url = `${ORIGIN}/v1/Rooms/${room.sid}/Participants/${sidOf('alice')}`;
    expect(alice).toMatchObject({
      sid: sidOf('alice'),
      room_sid: room.sid,
      account_sid: ACCOUNT_SID,
      status: 'connected',
      identity: 'alice',
      end_time: null,
      duration: null,
      url,
      links: {
        published_tracks: `${url}/PublishedTracks`,
        subscribed_tracks: `${url}/SubscribedTracks`,
        subscribe_rules: `${url}/SubscribeRules`,
        anonymize: `${url}/Anonymize`,
      },
    });
    for (const field of ['date_created', 'date_updated', 'start_time']) expect(alice[field]).toMatch(ISO);
    expect(alice.sid).toMatch(/^PA[0-9a-f]{32}$/);

    const byName = await api('GET', participantsPath(room.unique_name));
    expect(byName.status).toBe(200);
    expect(byName.body.participants).toEqual(res.body.participants);
  });

  it('filters by Status, Identity and creation date, and pages with PageSize and PageToken', async () => {
    const { room, clients, sidOf } = await roomWith(['a', 'b', 'c']);
    clients.a!.msg({ type: 'disconnect', version: 2 });
    await clients.a!.waitClosed();

    const connected = await api('GET', participantsPath(room.sid));
    expect(connected.body.participants.map((p: any) => p.identity)).toEqual(['c', 'b']);
    const gone = await api('GET', `${participantsPath(room.sid)}?Status=disconnected`);
    expect(gone.body.participants.map((p: any) => [p.identity, p.status])).toEqual([['a', 'disconnected']]);
    expect(gone.body.participants[0].end_time).toMatch(ISO);
    expect(gone.body.participants[0].duration).toBeGreaterThanOrEqual(0);
    expect(gone.body.meta.url).toBe(`${ORIGIN}/v1/Rooms/${room.sid}/Participants?Status=disconnected&PageSize=50&Page=0`);

    const onlyB = await api('GET', `${participantsPath(room.sid)}?Identity=b`);
    expect(onlyB.body.participants.map((p: any) => p.sid)).toEqual([sidOf('b')]);
    expect((await api('GET', `${participantsPath(room.sid)}?Identity=nobody`)).body.participants).toEqual([]);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await api('GET', `${participantsPath(room.sid)}?DateCreatedAfter=${future}`)).body.participants).toEqual([]);
    expect((await api('GET', `${participantsPath(room.sid)}?DateCreatedBefore=${future}`)).body.participants).toHaveLength(2);
    expect((await api('GET', `${participantsPath(room.sid)}?DateCreatedBefore=2000-01-01`)).body.participants).toEqual([]);

    const first = await api('GET', `${participantsPath(room.sid)}?PageSize=1`);
    expect(first.body.participants.map((p: any) => p.identity)).toEqual(['c']);
    const next = first.body.meta.next_page_url as string;
    expect(next).toMatch(/PageSize=1&Page=1&PageToken=PA/);
    const second = await api('GET', next.slice(ORIGIN.length));
    expect(second.body.participants.map((p: any) => p.identity)).toEqual(['b']);
    expect(second.body.meta.next_page_url).toBeNull();
    expect(second.body.meta.previous_page_url).toBe(`${ORIGIN}/v1/Rooms/${room.sid}/Participants?PageSize=1&Page=0`);
  });

  it('shows a reconnecting participant as connected; Status=reconnecting matches nobody', async () => {
    const { room, clients, sidOf } = await roomWith(['r', 'watcher']);
    clients.r!.close(); // the socket drops without `disconnect`: the participant is reconnecting
    await clients.watcher!.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.state === 'reconnecting');
    const listed = await api('GET', participantsPath(room.sid));
    expect(listed.body.participants.find((p: any) => p.sid === sidOf('r'))?.status).toBe('connected');
    expect((await api('GET', `${participantsPath(room.sid)}/${sidOf('r')}`)).body.status).toBe('connected');
    expect((await api('GET', `${participantsPath(room.sid)}?Status=reconnecting`)).body.participants).toEqual([]);
  });

  it("lists a completed room's participants as disconnected, with end_time and duration", async () => {
    const { room } = await roomWith(['x', 'y']);
    expect((await api('POST', `/v1/Rooms/${room.sid}`, { Status: 'completed' })).status).toBe(202);
    const res = await api('GET', participantsPath(room.sid));
    expect(res.body.participants.map((p: any) => p.status)).toEqual(['disconnected', 'disconnected']);
    for (const p of res.body.participants) {
      expect(p.end_time).toMatch(ISO);
      expect(Number.isInteger(p.duration)).toBe(true);
    }
    // By name the room is gone once completed, as for the room itself.
    expect((await api('GET', participantsPath(room.unique_name))).status).toBe(404);
  });

  it('rejects bad filters and unknown rooms in Twilio format', async () => {
    const { room } = await roomWith([]);
    const bad = async (query: string, code: number, status = 400) => {
      const res = await api('GET', `${participantsPath(room.sid)}${query}`);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, status, more_info: `https://www.twilio.com/docs/errors/${code}` });
    };
    await bad('?Status=failed', 53112);
    await bad('?Foo=1', 20001);
    await bad('?DateCreatedAfter=yesterday', 70002);
    await bad('?PageSize=0', 70002);
    await bad('?PageToken=nope', 70002);
    await bad('?Identity=a&Identity=b', 70002);
    const missing = await api('GET', participantsPath(`RM${'0'.repeat(32)}`));
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(20404);
    expect((await api('GET', participantsPath(room.sid), undefined, { auth: null })).status).toBe(401);
  });
});

describe('GET /v1/Rooms/{RoomSid}/Participants/{Sid}', () => {
  it('fetches by sid or identity: the connected one, else the most recent', async () => {
    const room = (await createRoom()).body;
    const first = await SignalingClient.join(room.unique_name, 'dana');
    const firstSid = first.connected.participant.sid;
    first.msg({ type: 'disconnect', version: 2 });
    await first.waitClosed();
    const keep = await SignalingClient.join(room.unique_name, 'keeper'); // keeps the room in progress
    expect(keep.connected).toBeTruthy();

    // Only disconnected ones: the most recent.
    expect((await api('GET', `${participantsPath(room.sid)}/dana`)).body).toMatchObject({ sid: firstSid, status: 'disconnected' });
    const second = await SignalingClient.join(room.unique_name, 'dana');
    const secondSid = second.connected.participant.sid;
    const third = await SignalingClient.join(room.unique_name, 'dana'); // takes over: second gets 53205
    await second.waitClosed();
    const thirdSid = third.connected.participant.sid;

    const byIdentity = await api('GET', `${participantsPath(room.sid)}/dana`);
    expect(byIdentity.status).toBe(200);
    expect(byIdentity.body).toMatchObject({ sid: thirdSid, status: 'connected', identity: 'dana' });
    expect(Object.keys(byIdentity.body).sort()).toEqual(PARTICIPANT_KEYS);
    const bySid = await api('GET', `${participantsPath(room.unique_name)}/${secondSid}`);
    expect(bySid.body).toMatchObject({ sid: secondSid, status: 'disconnected' });
    expect(bySid.body.end_time).toMatch(ISO);
  });

  it('answers 20404 for an unknown participant, or a participant of another room', async () => {
    const one = await roomWith(['p']);
    const other = await roomWith([]);
    for (const path of [
      `${participantsPath(one.room.sid)}/PA${'0'.repeat(32)}`,
      `${participantsPath(one.room.sid)}/nobody`,
      `${participantsPath(other.room.sid)}/${one.sidOf('p')}`,
    ]) {
      const res = await api('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(20404);
    }
  });
});

describe('POST /v1/Rooms/{RoomSid}/Participants/{Sid}', () => {
  it('Status=disconnected kicks the participant at once: its client is told, its socket closes, others see it leave', async () => {
    const { room, clients, sidOf } = await roomWith(['kicked', 'stays']);
    const res = await api('POST', `${participantsPath(room.unique_name)}/${sidOf('kicked')}`, { Status: 'disconnected' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ sid: sidOf('kicked'), status: 'disconnected', identity: 'kicked' });
    expect(res.body.end_time).toMatch(ISO);
    expect(Number.isInteger(res.body.duration)).toBe(true);

    expect(await clients.kicked!.nextMsg((m) => m.type === 'disconnected')).toEqual({ type: 'disconnected' });
    await clients.kicked!.waitClosed();
    const seen = await clients.stays!.nextMsg((m) => m.type === 'update' && m.participants?.[0]?.sid === sidOf('kicked'));
    expect(seen.participants[0].state).toBe('disconnected');

    const listed = await api('GET', participantsPath(room.sid));
    expect(listed.body.participants.map((p: any) => p.identity)).toEqual(['stays']);
    // Kicking again answers the participant as it is.
    const again = await api('POST', `${participantsPath(room.sid)}/kicked`, { Status: 'disconnected' });
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('disconnected');
  });

  it('ends an ad-hoc room when its last participant is kicked', async () => {
    const name = uniqueName('adhoc-kick');
    const only = await SignalingClient.join(name, 'solo');
    const roomSid = only.connected.sid;
    expect((await api('POST', `${participantsPath(name)}/solo`, { Status: 'disconnected' })).status).toBe(202);
    await only.waitClosed();
    expect((await api('GET', `/v1/Rooms/${roomSid}`)).body.status).toBe('completed');
  });

  it('rejects any other update in Twilio format', async () => {
    const { room, sidOf } = await roomWith(['p']);
    const path = `${participantsPath(room.sid)}/${sidOf('p')}`;
    const cases: [Record<string, string> | undefined, number, number][] = [
      [{ Status: 'connected' }, 53112, 400],
      [{ Status: 'reconnecting' }, 53112, 400],
      [{ Status: 'gone' }, 53112, 400],
      [{}, 53112, 400],
      [{ Status: 'disconnected', Identity: 'x' }, 20001, 400],
    ];
    for (const [form, code, status] of cases) {
      const res = await api('POST', path, form);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
    }
    expect((await api('POST', `${participantsPath(room.sid)}/nobody`, { Status: 'disconnected' })).body.code).toBe(20404);
    expect((await api('GET', path)).body.status).toBe('connected');
  });
});

describe('published and subscribed tracks', () => {
  it('lists and fetches published tracks by sid or name, and what each participant receives', async () => {
    const room = (await createRoom()).body;
    const a = await SignalingClient.join(room.unique_name, 'a', { tracks: [audioTrack('a-mic', 'mic'), videoTrack('a-cam', 'my camera')] });
    const b = await SignalingClient.join(room.unique_name, 'b', { tracks: [dataTrack('b-chat', 'chat')] });
    const aSid = a.connected.participant.sid;
    const bSid = b.connected.participant.sid;
    const aTracks = Object.fromEntries(a.connected.published.tracks.map((t: any) => [t.id, t.sid]));

    const published = await api('GET', `${participantsPath(room.sid)}/${aSid}/PublishedTracks`);
    expect(published.status).toBe(200);
    expect(published.body.meta.key).toBe('published_tracks');
    expect(published.body.published_tracks).toHaveLength(2);
    const mic = published.body.published_tracks.find((t: any) => t.name === 'mic');
    expect(mic).toEqual({
      sid: aTracks['a-mic'],
      participant_sid: aSid,
      room_sid: room.sid,
      name: 'mic',
      date_created: expect.stringMatching(ISO),
      date_updated: expect.stringMatching(ISO),
      enabled: true,
      kind: 'audio',
      url: `${ORIGIN}/v1/Rooms/${room.sid}/Participants/${aSid}/PublishedTracks/${aTracks['a-mic']}`,
    });
    // By sid, and by name (percent-encoded), through the participant's identity and the room's name.
    expect((await api('GET', `${participantsPath(room.sid)}/${aSid}/PublishedTracks/${aTracks['a-mic']}`)).body).toEqual(mic);
    const camera = await api('GET', `${participantsPath(room.unique_name)}/a/PublishedTracks/my%20camera`);
    expect(camera.body).toMatchObject({ sid: aTracks['a-cam'], kind: 'video', name: 'my camera' });
    expect((await api('GET', `${participantsPath(room.sid)}/a/PublishedTracks/nope`)).body.code).toBe(20404);

    const page1 = await api('GET', `${participantsPath(room.sid)}/a/PublishedTracks?PageSize=1`);
    expect(page1.body.published_tracks).toHaveLength(1);
    const page2 = await api('GET', (page1.body.meta.next_page_url as string).slice(ORIGIN.length));
    expect(page2.body.published_tracks).toHaveLength(1);
    expect(page2.body.published_tracks[0].sid).not.toBe(page1.body.published_tracks[0].sid);
    expect(page2.body.meta.next_page_url).toBeNull();

    const received = await api('GET', `${participantsPath(room.sid)}/b/SubscribedTracks`);
    expect(received.body.meta.key).toBe('subscribed_tracks');
    expect(received.body.subscribed_tracks.map((t: any) => t.name).sort()).toEqual(['mic', 'my camera']);
    const sub = received.body.subscribed_tracks.find((t: any) => t.name === 'mic');
    expect(sub).toEqual({
      sid: aTracks['a-mic'],
      participant_sid: bSid,
      publisher_sid: aSid,
      room_sid: room.sid,
      name: 'mic',
      date_created: expect.stringMatching(ISO),
      date_updated: expect.stringMatching(ISO),
      enabled: true,
      kind: 'audio',
      url: `${ORIGIN}/v1/Rooms/${room.sid}/Participants/${bSid}/SubscribedTracks/${aTracks['a-mic']}`,
    });
    expect((await api('GET', `${participantsPath(room.sid)}/${bSid}/SubscribedTracks/${aTracks['a-mic']}`)).body).toEqual(sub);
    // Subscribed tracks are addressed by sid only: names may repeat across publishers.
    expect((await api('GET', `${participantsPath(room.sid)}/b/SubscribedTracks/mic`)).status).toBe(404);
    const aReceives = await api('GET', `${participantsPath(room.sid)}/a/SubscribedTracks`);
    expect(aReceives.body.subscribed_tracks.map((t: any) => [t.name, t.publisher_sid])).toEqual([['chat', bSid]]);

    // Once a participant leaves it publishes nothing and receives nothing.
    b.msg({ type: 'disconnect', version: 2 });
    await b.waitClosed();
    expect((await api('GET', `${participantsPath(room.sid)}/${bSid}/PublishedTracks`)).body.published_tracks).toEqual([]);
    expect((await api('GET', `${participantsPath(room.sid)}/${bSid}/SubscribedTracks`)).body.subscribed_tracks).toEqual([]);
    expect((await api('GET', `${participantsPath(room.sid)}/a/SubscribedTracks`)).body.subscribed_tracks).toEqual([]);
    expect((await api('GET', `${participantsPath(room.sid)}/a/PublishedTracks?Foo=1`)).body.code).toBe(20001);
    expect((await api('GET', `${participantsPath(room.sid)}/nobody/SubscribedTracks`)).body.code).toBe(20404);
  });
});

describe('subscribe rules', () => {
  const rulesPath = (room: string, who: string) => `${participantsPath(room)}/${who}/SubscribeRules`;
  const setRules = (room: string, who: string, rules: unknown) =>
    api('POST', rulesPath(room, who), { Rules: typeof rules === 'string' ? rules : JSON.stringify(rules) });

  it('starts as include-all and answers in Twilio shape', async () => {
    const { room, sidOf } = await roomWith(['p']);
    const res = await api('GET', rulesPath(room.sid, 'p'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      participant_sid: sidOf('p'),
      room_sid: room.sid,
      date_created: null,
      date_updated: null,
      rules: [{ type: 'include', all: true, publisher: null, track: null, kind: null, priority: null }],
    });
  });

  it('applies new rules live: the participant gets a new subscribed revision, and later tracks follow the rules', async () => {
    const room = (await createRoom()).body;
    const pub = await SignalingClient.join(room.unique_name, 'presenter', { tracks: [audioTrack('p-mic', 'mic'), videoTrack('p-cam', 'cam')] });
    const viewer = await SignalingClient.join(room.unique_name, 'viewer');
    const micSid = pub.connected.published.tracks.find((t: any) => t.id === 'p-mic').sid;
    const before = viewer.connected.subscribed;
    expect(before.tracks.map((t: any) => t.id).sort()).toEqual(['p-cam', 'p-mic']);

    let from = viewer.frames.length;
    const res = await setRules(room.sid, 'viewer', [{ type: 'include', all: true }, { type: 'exclude', publisher: 'presenter', kind: 'video' }]);
    expect(res.status).toBe(200);
    expect(res.body.rules).toEqual([
      { type: 'include', all: true, publisher: null, track: null, kind: null, priority: null },
      { type: 'exclude', all: null, publisher: 'presenter', track: null, kind: 'video', priority: null },
    ]);
    const update = await viewer.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from);
    expect(update.subscribed.revision).toBeGreaterThan(before.revision);
    expect(update.subscribed.tracks).toEqual([{ sid: micSid, id: 'p-mic' }]);
    const rest = await api('GET', `${participantsPath(room.sid)}/viewer/SubscribedTracks`);
    expect(rest.body.subscribed_tracks.map((t: any) => t.name)).toEqual(['mic']);
    expect((await api('GET', rulesPath(room.sid, 'viewer'))).body.rules).toEqual(res.body.rules);

    // A video track published later stays excluded; a data track arrives.
    from = viewer.frames.length;
    pub.msg({
      type: 'update',
      version: 2,
      participant: { revision: 2, tracks: [audioTrack('p-mic', 'mic'), videoTrack('p-cam', 'cam'), videoTrack('p-screen', 'screen'), dataTrack('p-data', 'data')] },
    });
    const later = await viewer.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from);
    expect(later.subscribed.tracks.map((t: any) => t.id).sort()).toEqual(['p-data', 'p-mic']);

    // By track name, through the participant's sid: only the screen share.
    from = viewer.frames.length;
    await setRules(room.sid, viewer.connected.participant.sid, [{ type: 'include', track: 'screen' }]);
    const screenOnly = await viewer.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from);
    expect(screenOnly.subscribed.tracks.map((t: any) => t.id)).toEqual(['p-screen']);
    expect(screenOnly.subscribed.revision).toBeGreaterThan(later.subscribed.revision);

    // Exclusions win whatever the order.
    from = viewer.frames.length;
    await setRules(room.sid, 'viewer', [{ type: 'exclude', all: true }, { type: 'include', publisher: 'presenter' }]);
    expect((await viewer.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from)).subscribed.tracks).toEqual([]);
    expect((await api('GET', `${participantsPath(room.sid)}/viewer/SubscribedTracks`)).body.subscribed_tracks).toEqual([]);
  });

  it('filters on track priority, and re-evaluates when a publisher changes a priority', async () => {
    const room = (await createRoom()).body;
    const pub = await SignalingClient.join(room.unique_name, 'pub', { tracks: [videoTrack('v1', 'v1'), videoTrack('v2', 'v2')] });
    const sub = await SignalingClient.join(room.unique_name, 'sub');
    let from = sub.frames.length;
    await setRules(room.sid, 'sub', [{ type: 'include', priority: 'high' }]);
    expect((await sub.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from)).subscribed.tracks).toEqual([]);
    from = sub.frames.length;
    pub.msg({ type: 'update', version: 2, participant: { revision: 2, tracks: [{ ...videoTrack('v1', 'v1'), priority: 'high' }, videoTrack('v2', 'v2')] } });
    const got = await sub.nextMsg((m) => m.type === 'update' && m.subscribed, 3000, from);
    expect(got.subscribed.tracks.map((t: any) => t.id)).toEqual(['v1']);
  });

  it("honours the client's own rules from connect (automaticSubscription: false)", async () => {
    const room = (await createRoom()).body;
    await SignalingClient.join(room.unique_name, 'talker', { tracks: [audioTrack('t-mic', 'mic')] });
    const quiet = await SignalingClient.open(room.unique_name);
    quiet.send({
      type: 'hello',
      version: 2,
      timeout: 5000,
      body: { ...connectMessage(room.unique_name, await token('quiet')), subscribe: { rules: [{ type: 'exclude', all: true }], revision: 1 } },
    });
    const connected = await quiet.nextMsg((m) => m.type === 'connected');
    expect(connected.subscribed.tracks).toEqual([]);
    const rules = await api('GET', rulesPath(room.sid, 'quiet'));
    expect(rules.body.rules).toEqual([{ type: 'exclude', all: true, publisher: null, track: null, kind: null, priority: null }]);
  });

  it('refuses invalid rules from a connecting client with 53215', async () => {
    const name = uniqueName('bad-subscribe');
    const c = await SignalingClient.open(name);
    c.send({ type: 'hello', version: 2, timeout: 5000, body: { ...connectMessage(name, await token('x')), subscribe: { rules: [], revision: 1 } } });
    expect((await c.nextMsg((m) => m.type === 'error')).code).toBe(53215);
    await c.waitClosed();
  });

  it('ignores client rules and refuses REST rules in peer-to-peer rooms (53117), where everyone receives everything', async () => {
    const room = (await createRoom({ Type: 'peer-to-peer' })).body;
    await SignalingClient.join(room.unique_name, 'talker', { tracks: [audioTrack('m', 'mic')] });
    const c = await SignalingClient.open(room.unique_name);
    c.send({
      type: 'hello',
      version: 2,
      timeout: 5000,
      body: { ...connectMessage(room.unique_name, await token('p2p')), subscribe: { rules: [{ type: 'exclude', all: true }], revision: 1 } },
    });
    expect((await c.nextMsg((m) => m.type === 'connected')).subscribed.tracks).toHaveLength(1);
    const res = await setRules(room.sid, 'p2p', [{ type: 'exclude', all: true }]);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(53117);
  });

  it('validates rules with 53215, and other mistakes in Twilio format', async () => {
    const { room, clients } = await roomWith(['v']);
    const invalid: unknown[] = [
      [],
      {},
      'not json',
      [{ all: true }],
      [{ type: 'maybe', all: true }],
      [{ type: 'include', all: false }],
      [{ type: 'include', all: true, kind: 'audio' }],
      [{ type: 'include' }],
      [{ type: 'include', kind: 'screen' }],
      [{ type: 'include', priority: 'urgent' }],
      [{ type: 'include', publisher: '' }],
      [{ type: 'include', publisher: 42 }],
      [{ type: 'include', all: true, colour: 'red' }],
      ['include'],
      Array.from({ length: 21 }, () => ({ type: 'include', all: true })),
    ];
    for (const rules of invalid) {
      const res = await setRules(room.sid, 'v', rules);
      expect(res.status, JSON.stringify(rules)).toBe(400);
      expect(res.body.code, JSON.stringify(rules)).toBe(53215);
    }
    expect((await api('POST', rulesPath(room.sid, 'v'), {})).body.code).toBe(53215);
    expect((await api('POST', rulesPath(room.sid, 'v'), { Rules: '[]', Other: '1' })).body.code).toBe(20001);
    expect((await setRules(room.sid, 'nobody', [{ type: 'include', all: true }])).body.code).toBe(20404);
    // Nulls count as absent, so fetched rules can be sent back as they are.
    const roundTrip = await setRules(room.sid, 'v', (await api('GET', rulesPath(room.sid, 'v'))).body.rules);
    expect(roundTrip.status).toBe(200);
    // The rules of a participant who left can be read but not changed.
    clients.v!.msg({ type: 'disconnect', version: 2 });
    await clients.v!.waitClosed();
    expect((await api('GET', rulesPath(room.sid, 'v'))).status).toBe(200);
    const gone = await setRules(room.sid, 'v', [{ type: 'include', all: true }]);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe(53204);
  });
});
