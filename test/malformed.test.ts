import { describe, expect, it } from 'vitest';
import { api, AUTH, ORIGIN } from './support/rest';
import { exports } from 'cloudflare:workers';

/** Every malformed request must get a Twilio-format 4xx, never a 5xx. */
function expectTwilio4xx(res: { status: number; body: any }, code?: number) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.body).toMatchObject({ code: expect.any(Number), message: expect.any(String), status: res.status });
  if (code !== undefined) expect(res.body.code).toBe(code);
}

describe('malformed REST input', () => {
  it('rejects a JSON body (wrong content type) with 415', async () => {
    const res = await api('POST', '/v1/Rooms', JSON.stringify({ UniqueName: 'x' }), { headers: { 'content-type': 'application/json' } });
    expectTwilio4xx(res, 70002);
    expect(res.status).toBe(415);
  });

  it('rejects a body over 64 KiB with 413', async () => {
    const res = await api('POST', '/v1/Rooms', 'UniqueName=' + 'a'.repeat(70_000));
    expectTwilio4xx(res, 70002);
    expect(res.status).toBe(413);
  });

  it.each([
    ['bad percent escape', 'UniqueName=%zz'],
    ['truncated escape', 'UniqueName=abc%4'],
    ['invalid UTF-8', 'UniqueName=%C3%28'],
    ['lone surrogate as UTF-8', 'UniqueName=%ED%A0%80'],
    ['overlong encoding', 'UniqueName=%C0%AF'],
  ])('rejects %s', async (_label, body) => {
    expectTwilio4xx(await api('POST', '/v1/Rooms', body), 70002);
  });

  it('rejects binary garbage', async () => {
    const bytes = new Uint8Array(2048);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/v1/Rooms`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body: bytes,
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).code).toBe(70002);
  });

  it('handles odd but valid forms', async () => {
    for (const body of ['&&&', '=', 'UniqueName', '==x', 'UniqueName=a&&']) {
      const res = await api('POST', '/v1/Rooms', body);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('rejects huge numbers and numbers with junk', async () => {
    for (const v of ['1e3', '0x10', '9'.repeat(400), ' ', '-5', 'NaN', 'Infinity']) {
      expectTwilio4xx(await api('POST', '/v1/Rooms', { MaxParticipants: v }), 53107);
    }
  });

  it('answers unknown methods and paths in Twilio format', async () => {
    expectTwilio4xx(await api('DELETE', '/v1/Rooms/RM00000000000000000000000000000000'));
    expectTwilio4xx(await api('PUT', '/v1/Rooms'));
    expectTwilio4xx(await api('GET', '/v1/Nope'), 20404);
    expectTwilio4xx(await api('GET', '/v1/Rooms/%ZZ'));
    expectTwilio4xx(await api('GET', '/v1/Rooms/' + 'x'.repeat(5000)), 20404);
  });
});
