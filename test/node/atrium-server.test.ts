/// <reference types="node" />
/**
 * The harness itself, and the property it exists to test later: storage outlives a restart of the
 * server. A harness that silently started a fresh store, or left workerd running, would make
 * every restart-survival test meaningless.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DEV_CREDENTIALS, startAtrium, type AtriumServer } from './support/atrium-server';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const AUTH = basic(DEV_CREDENTIALS.accountSid, DEV_CREDENTIALS.authToken);

async function createRoom(server: AtriumServer, uniqueName: string, auth = AUTH): Promise<Response> {
  return fetch(`${server.url}/v1/Rooms`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ UniqueName: uniqueName }).toString(),
  });
}

/** True while something accepts connections on the port. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/v1/Rooms`, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

const started: AtriumServer[] = [];
afterAll(async () => {
  for (const server of started) await server.stop();
});

describe('startAtrium', () => {
  it('keeps rooms across restart() on the same port, and stop() frees the port and the storage', async () => {
    const server = await startAtrium();
    started.push(server);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(existsSync(server.persistDir)).toBe(true);

    const created = await createRoom(server, 'survives-restart');
    expect(created.status).toBe(201);
    const { sid } = (await created.json()) as { sid: string };

    await server.restart();
    const fetched = await fetch(`${server.url}/v1/Rooms/survives-restart`, { headers: { authorization: AUTH } });
    expect(fetched.status).toBe(200);
    expect(((await fetched.json()) as { sid: string }).sid).toBe(sid);
    // The name is still taken after the restart: the room really is in progress, not re-created.
    expect((await createRoom(server, 'survives-restart')).status).toBe(400);
    expect(server.output()).toContain('Ready on');

    await server.stop();
    expect(await answers(server.url)).toBe(false);
    expect(existsSync(server.persistDir)).toBe(false);
    await server.stop(); // idempotent
  });

  it('passes vars to the Worker, and separate servers do not share storage', async () => {
    const custom = await startAtrium({ vars: { AUTH_TOKEN: 'token:with:colons' } });
    started.push(custom);
    expect((await createRoom(custom, 'isolated', AUTH)).status).toBe(401);
    const auth = basic(DEV_CREDENTIALS.accountSid, 'token:with:colons');
    expect((await createRoom(custom, 'isolated', auth)).status).toBe(201);

    const other = await startAtrium();
    started.push(other);
    expect(other.port).not.toBe(custom.port);
    expect(other.persistDir).not.toBe(custom.persistDir);
    // A fresh store: the name taken on the first server is free here.
    expect((await createRoom(other, 'isolated')).status).toBe(201);
  });

  it('rejects when the server does not answer in time, printing what wrangler said', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(startAtrium({ startupTimeoutMs: 1 })).rejects.toThrow(/did not answer 401/);
      expect(printed).toHaveBeenCalledWith(expect.stringContaining('$ wrangler dev'));
    } finally {
      printed.mockRestore();
    }
  });
});
