import { describe, expect, it } from 'vitest';
import { api, createRoom, ORIGIN, uniqueName } from './support/rest';

describe('GET /v1/Rooms/{Sid}', () => {
  it('fetches by sid and by unique name while in progress', async () => {
    const created = (await createRoom()).body;
    const bySid = await api('GET', `/v1/Rooms/${created.sid}`);
    expect(bySid.status).toBe(200);
    expect(bySid.body).toEqual(created);
    const byName = await api('GET', `/v1/Rooms/${encodeURIComponent(created.unique_name)}`);
    expect(byName.body).toEqual(created);
  });

  it('gives 20404 for an unknown sid or name', async () => {
    for (const path of ['/v1/Rooms/RM00000000000000000000000000000000', '/v1/Rooms/no-such-room']) {
      const res = await api('GET', path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 20404, status: 404, more_info: 'https://www.twilio.com/docs/errors/20404' });
    }
  });

  it('finds a completed room by sid only', async () => {
    const created = (await createRoom()).body;
    await api('POST', `/v1/Rooms/${created.sid}`, { Status: 'completed' });
    expect((await api('GET', `/v1/Rooms/${created.sid}`)).body.status).toBe('completed');
    expect((await api('GET', `/v1/Rooms/${encodeURIComponent(created.unique_name)}`)).status).toBe(404);
  });

  it('serves unknown sub-resources as 20404', async () => {
    const created = (await createRoom()).body;
    const res = await api('GET', `/v1/Rooms/${created.sid}/Transcriptions`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe(20404);
  });
});

describe('GET /v1/Rooms', () => {
  it('lists in-progress rooms by default, newest first, in the paging envelope', async () => {
    const tag = uniqueName('list');
    const a = (await createRoom({ UniqueName: `${tag}-a` })).body;
    const res = await api('GET', `/v1/Rooms?UniqueName=${tag}-a`);
    expect(res.status).toBe(200);
    expect(res.body.rooms).toEqual([a]);
    expect(res.body.meta).toEqual({
      page: 0,
      page_size: 50,
      first_page_url: `${ORIGIN}/v1/Rooms?UniqueName=${tag}-a&PageSize=50&Page=0`,
      previous_page_url: null,
      url: `${ORIGIN}/v1/Rooms?UniqueName=${tag}-a&PageSize=50&Page=0`,
      next_page_url: null,
      key: 'rooms',
    });
  });

  it('walks every page through next_page_url and back through previous_page_url', async () => {
    const before = await api('GET', '/v1/Rooms?PageSize=1000');
    const start = new Date(Date.now() - 1000).toISOString();
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await createRoom()).body.sid);
    const seen: string[] = [];
    let url: string | null = `/v1/Rooms?PageSize=3&DateCreatedAfter=${encodeURIComponent(start)}`;
    const pages: any[] = [];
    while (url) {
      const res: any = await api('GET', url.replace(ORIGIN, ''));
      expect(res.status).toBe(200);
      pages.push(res.body);
      seen.push(...res.body.rooms.map((r: any) => r.sid));
      url = res.body.meta.next_page_url;
      expect(url === null || url.startsWith(ORIGIN)).toBe(true);
    }
    expect(seen.length).toBeGreaterThanOrEqual(7);
    for (const sid of made) expect(seen).toContain(sid);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages[1].meta.page).toBe(1);
    const previous = await api('GET', pages[1].meta.previous_page_url.replace(ORIGIN, ''));
    expect(previous.body.rooms.map((r: any) => r.sid)).toEqual(pages[0].rooms.map((r: any) => r.sid));
    expect(before.status).toBe(200);
  });

  it('filters by status, unique name and creation dates', async () => {
    const name = uniqueName('filter');
    const first = (await createRoom({ UniqueName: name })).body;
    await api('POST', `/v1/Rooms/${first.sid}`, { Status: 'completed' });
    const second = (await createRoom({ UniqueName: name })).body;

    const completed = await api('GET', `/v1/Rooms?Status=completed&UniqueName=${name}`);
    expect(completed.body.rooms.map((r: any) => r.sid)).toEqual([first.sid]);
    expect(completed.body.meta.url).toContain('Status=completed');
    const inProgress = await api('GET', `/v1/Rooms?Status=in-progress&UniqueName=${name}`);
    expect(inProgress.body.rooms.map((r: any) => r.sid)).toEqual([second.sid]);

    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const none = await api('GET', `/v1/Rooms?UniqueName=${name}&DateCreatedAfter=${tomorrow}`);
    expect(none.body.rooms).toEqual([]);
    const all = await api('GET', `/v1/Rooms?UniqueName=${name}&DateCreatedBefore=${tomorrow}`);
    expect(all.body.rooms.map((r: any) => r.sid)).toEqual([second.sid]);
  });

  it.each([
    ['Status=open', 53112],
    ['PageSize=0', 70002],
    ['PageSize=1001', 70002],
    ['Page=-1', 70002],
    ['PageToken=garbage', 70002],
    ['DateCreatedAfter=yesterday', 70002],
    ['Colour=blue', 20001],
    ['UniqueName=%FF', 70002],
  ])('rejects %s with %i', async (query, code) => {
    const res = await api('GET', `/v1/Rooms?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(code);
  });
});
