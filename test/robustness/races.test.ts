/// <reference types="node" />
/**
 * Races that a single Durable Object per room name must settle exactly: 100 REST creates of one
 * name, and 100 WebSocket clients racing into an ad-hoc room with 50 places. Both go through a
 * real `wrangler dev`, over real HTTP and WebSocket connections, all in flight at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AtriumServer, startAtrium } from '../node/support/atrium-server';
import { participants, rest } from './support/rest';
import { type Json, SignalingClient, token } from '../node/support/signaling-client';

let atrium: AtriumServer;
const clients: SignalingClient[] = [];

beforeAll(async () => {
  atrium = await startAtrium();
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await atrium?.stop();
});

describe('races', () => {
  it('100 concurrent creates of one name: exactly one 201, 99 × 400/53113, one room listed', async () => {
    const name = `race-${Date.now().toString(36)}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => rest(atrium.url, 'POST', '/v1/Rooms', { UniqueName: name })),
    );
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 400 && r.body?.code === 53113);
    // Anything else (a 5xx, a second 201, another code) shows up in this tally.
    const tally = results.map((r) => `${r.status}/${r.body?.code ?? '-'}`);
    expect(created.length, tally.join(' ')).toBe(1);
    expect(refused.length, tally.join(' ')).toBe(99);
    for (const r of refused) {
      expect(r.body).toStrictEqual({ code: 53113, message: expect.any(String), more_info: 'https://www.twilio.com/docs/errors/53113', status: 400 });
    }

    const listed = await rest(atrium.url, 'GET', `/v1/Rooms?UniqueName=${name}&PageSize=100`);
    expect(listed.status).toBe(200);
    expect(listed.body.rooms.map((r: Json) => r.sid)).toEqual([created[0]!.body.sid]);
    // And no room of that name was left behind as completed either: the 99 never created one.
    const completed = await rest(atrium.url, 'GET', `/v1/Rooms?UniqueName=${name}&Status=completed`);
    expect(completed.body.rooms).toEqual([]);
  });

  it('100 clients racing into an ad-hoc room with 50 places: 50 connected, 50 × 53105, REST agrees', async () => {
    const room = `adhoc-race-${Date.now().toString(36)}`;
    const identities = Array.from({ length: 100 }, (_, i) => `racer-${String(i).padStart(3, '0')}`);
    const jwts = await Promise.all(identities.map((id, i) => token(id, i % 2 ? { room } : {})));
    // Sockets are opened and their connects sent as each opens: all 100 race, none waits for another.
    const racers = await Promise.all(identities.map((_, i) => SignalingClient.start(atrium.url, room, jwts[i]!)));
    clients.push(...racers);
    const outcomes = await Promise.all(racers.map((c) => c.nextMsg((m) => m.type === 'connected' || m.type === 'error', 30_000)));

    const connected = identities.filter((_, i) => outcomes[i]!.type === 'connected');
    const refused = identities.filter((_, i) => outcomes[i]!.type === 'error' && outcomes[i]!.code === 53105);
    expect(connected.length, JSON.stringify(outcomes.filter((o) => o.type === 'error').slice(0, 3))).toBe(50);
    expect(refused.length).toBe(50);
    // Every refused client was let go by the server, and no connected one was.
    for (const [i, c] of racers.entries()) {
      if (outcomes[i]!.type === 'error') expect(await c.closedByServer(10_000), identities[i]).toBe(true);
    }
    for (const [i, c] of racers.entries()) if (outcomes[i]!.type === 'connected') expect(c.open, identities[i]).toBe(true);

    const roomSid = outcomes.find((o) => o.type === 'connected')!.sid as string;
    for (const o of outcomes) if (o.type === 'connected') expect(o.sid).toBe(roomSid);
    const fetched = await rest(atrium.url, 'GET', `/v1/Rooms/${roomSid}`);
    expect(fetched.body).toMatchObject({ sid: roomSid, unique_name: room, status: 'in-progress', max_participants: 50 });

    const listed = await participants(atrium.url, roomSid);
    expect(listed.length).toBe(50);
    expect(listed.every((p) => p.status === 'connected')).toBe(true);
    expect(listed.map((p) => p.identity).sort()).toEqual([...connected].sort());

    // What the winners were told agrees too: each sees exactly the other 49 (those there when it
    // joined, plus those announced later), and no refused racer was ever announced to anyone.
    const winners = racers.filter((_, i) => outcomes[i]!.type === 'connected');
    await Promise.all(
      winners.map(async (c) => {
        const me = c.connected.participant.identity as string;
        const seen = () => {
          const ids = new Set<string>(c.connected.participants.map((p: Json) => p.identity));
          for (const m of c.messages) if (m.type === 'update') for (const p of m.participants ?? []) ids.add(p.identity);
          return ids;
        };
        const deadline = Date.now() + 15_000;
        while (seen().size < 49 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect([...seen()].sort(), me).toEqual(connected.filter((id) => id !== me).sort());
      }),
    );

    // All leave cleanly; the ad-hoc room ends with its last participant.
    for (const c of winners) c.msg({ type: 'disconnect', version: 2, session: c.connected.session });
    for (const c of winners) expect(await c.closedByServer(10_000)).toBe(true);
    const after = await rest(atrium.url, 'GET', `/v1/Rooms/${roomSid}`);
    expect(after.body.status).toBe('completed');
    expect((await participants(atrium.url, roomSid, 'disconnected')).length).toBe(50);
  });
});
