import { describe, expect, it } from 'vitest';
import { Accounts } from '../core/accounts';
import { ACCOUNT_SID, api, API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN, basic, createRoom } from './support/rest';

describe('REST authentication', () => {
  it('accepts AccountSid:AuthToken and ApiKeySid:ApiKeySecret', async () => {
    expect((await api('GET', '/v1/Rooms', undefined, { auth: basic(ACCOUNT_SID, AUTH_TOKEN) })).status).toBe(200);
    expect((await api('GET', '/v1/Rooms', undefined, { auth: basic(API_KEY_SID, API_KEY_SECRET) })).status).toBe(200);
  });

  it.each([
    ['no credentials', null],
    ['a wrong auth token', basic(ACCOUNT_SID, 'wrong')],
    ['a wrong key secret', basic(API_KEY_SID, 'wrong')],
    ['an unknown account', basic('AC99999999999999999999999999999999', AUTH_TOKEN)],
    ['the key secret as auth token', basic(ACCOUNT_SID, API_KEY_SECRET)],
    ['a prefix of the token', basic(ACCOUNT_SID, AUTH_TOKEN.slice(0, -1))],
    ['no colon', 'Basic ' + btoa(ACCOUNT_SID)],
    ['garbage base64', 'Basic !!!'],
    ['a bearer token', 'Bearer abc'],
  ])('rejects %s with 401 and 20003', async (_label, auth) => {
    const res = await api('GET', '/v1/Rooms', undefined, { auth });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 20003, status: 401 });
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('guards every /v1 route, including unknown ones', async () => {
    for (const [method, path] of [['POST', '/v1/Rooms'], ['GET', '/v1/Rooms/x'], ['POST', '/v1/Rooms/x'], ['GET', '/v1/Compositions']]) {
      expect((await api(method!, path!, undefined, { auth: null })).status).toBe(401);
    }
  });
});

describe('several accounts', () => {
  it('parses the ACCOUNTS secret and finds accounts by sid and key', () => {
    const accounts = new Accounts({
      ACCOUNT_SID,
      AUTH_TOKEN,
      API_KEY_SID,
      API_KEY_SECRET,
      ACCOUNTS: JSON.stringify([
        { accountSid: 'AC00000000000000000000000000000002', authToken: 't2', apiKeys: [{ sid: 'SK00000000000000000000000000000002', secret: 's2' }] },
      ]),
    });
    expect(accounts.default.sid).toBe(ACCOUNT_SID);
    expect(accounts.byApiKeySid('SK00000000000000000000000000000002')?.sid).toBe('AC00000000000000000000000000000002');
    expect(accounts.byAccountSid('AC00000000000000000000000000000002')?.authToken).toBe('t2');
  });

  it('refuses a malformed ACCOUNTS secret', () => {
    const base = { ACCOUNT_SID, AUTH_TOKEN, API_KEY_SID, API_KEY_SECRET };
    expect(() => new Accounts({ ...base, ACCOUNTS: '{' })).toThrow(/JSON/);
    expect(() => new Accounts({ ...base, ACCOUNTS: '[{"accountSid":"nope","authToken":"x"}]' })).toThrow(/AC/);
  });

  it('refuses an account or API key configured twice', () => {
    const base = { ACCOUNT_SID, AUTH_TOKEN, API_KEY_SID, API_KEY_SECRET };
    const second = { accountSid: 'AC00000000000000000000000000000002', authToken: 't2', apiKeys: [{ sid: 'SK00000000000000000000000000000002', secret: 's2' }] };
    const accounts = (entries: unknown[]) => () => new Accounts({ ...base, ACCOUNTS: JSON.stringify(entries) });
    expect(accounts([{ ...second, accountSid: ACCOUNT_SID }])).toThrow(/ACCOUNTS is invalid: entry 1: account AC0+1 is configured twice/);
    expect(accounts([second, { ...second, apiKeys: [] }])).toThrow(/entry 2: account AC0+2 is configured twice/);
    expect(accounts([{ ...second, apiKeys: [{ sid: API_KEY_SID, secret: 'x' }] }])).toThrow(/API key SK0+1 is configured twice/);
    expect(accounts([second, { accountSid: 'AC00000000000000000000000000000003', authToken: 't3', apiKeys: second.apiKeys }])).toThrow(/entry 2: API key SK0+2 is configured twice/);
    expect(() => new Accounts({ ...base, ACCOUNTS: '[{"accountSid":"AC00000000000000000000000000000002","authToken":"a","authToken":"b"}]' })).toThrow(/'authToken' twice/);
  });

  it('scopes rooms to their account', async () => {
    // The second account is configured for the test run in vitest.config.ts.
    const other = basic('AC00000000000000000000000000000002', 'second-account-token');
    const mine = (await createRoom()).body;
    expect((await api('GET', `/v1/Rooms/${mine.sid}`, undefined, { auth: other })).status).toBe(404);
    // The same name is free in the other account.
    const theirs = await api('POST', '/v1/Rooms', { UniqueName: mine.unique_name }, { auth: other });
    expect(theirs.status).toBe(201);
    expect(theirs.body.account_sid).toBe('AC00000000000000000000000000000002');
    const listed = await api('GET', `/v1/Rooms?UniqueName=${mine.unique_name}`, undefined, { auth: other });
    expect(listed.body.rooms.map((r: any) => r.sid)).toEqual([theirs.body.sid]);
  });
});
