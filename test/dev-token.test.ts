import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { Accounts } from '../core/accounts';
import { app } from '../workers/app';
import { verifyAccessToken } from '../core/tokens/verify-token';
import { ACCOUNT_SID, API_KEY_SID, ORIGIN } from './support/rest';

async function getToken(query: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await exports.default.fetch(new Request(`${ORIGIN}/dev/token?${new URLSearchParams(query)}`));
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe('GET /dev/token (DEV_TOKEN_ENDPOINT = "true", as in wrangler.toml [vars])', () => {
  it('mints a token for the default account that admits its identity to its room only', async () => {
    const res = await getToken({ identity: 'alice', room: 'standup' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const accounts = new Accounts(env);
    const verified = await verifyAccessToken(res.body.token, accounts, 'standup');
    expect(verified).toMatchObject({ accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, identity: 'alice', room: 'standup' });
    await expect(verifyAccessToken(res.body.token, accounts, 'another-room')).rejects.toMatchObject({ code: 20106 });
  });

  it('counts characters, not UTF-16 units, against the 128 limit', async () => {
    const res = await getToken({ identity: '😀'.repeat(128), room: 'é'.repeat(128) });
    expect(res.status).toBe(200);
    const verified = await verifyAccessToken(res.body.token, new Accounts(env), 'é'.repeat(128));
    expect(verified.identity).toBe('😀'.repeat(128));
  });

  it.each([
    ['no identity', { room: 'r' }, 53200],
    ['an empty identity', { identity: '', room: 'r' }, 53200],
    ['an identity over 128 characters', { identity: 'a'.repeat(129), room: 'r' }, 53201],
    ['an identity with a control character', { identity: 'a\nb', room: 'r' }, 53202],
    ['no room', { identity: 'alice' }, 53100],
    ['an empty room', { identity: 'alice', room: '' }, 53100],
    ['a room over 128 characters', { identity: 'alice', room: 'r'.repeat(129) }, 53101],
    ['a room with a control character', { identity: 'alice', room: 'r\u0000' }, 53102],
  ])('refuses %s with 400 and %s', async (_label, query: Record<string, string>, code) => {
    const res = await getToken(query);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code, status: 400, more_info: `https://www.twilio.com/docs/errors/${code}` });
    expect(res.body.token).toBeUndefined();
  });

  it('answers only GET', async () => {
    const res = await exports.default.fetch(new Request(`${ORIGIN}/dev/token?identity=a&room=r`, { method: 'POST' }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 20404 });
  });
});

describe('GET /dev/token when DEV_TOKEN_ENDPOINT is not "true" (production)', () => {
  it.each([['"false"', 'false'], ['unset', undefined], ['"TRUE"', 'TRUE']])('is a Twilio-format 404 when %s', async (_label, value) => {
    const request = new Request(`${ORIGIN}/dev/token?identity=alice&room=standup`);
    const res = await app.fetch(request, { ...env, DEV_TOKEN_ENDPOINT: value }, createExecutionContext());
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body).toEqual({
      code: 20404,
      message: 'The requested resource /dev/token was not found',
      more_info: 'https://www.twilio.com/docs/errors/20404',
      status: 404,
    });
  });
});
