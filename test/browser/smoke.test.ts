/**
 * The browser harness itself, independent of signaling: if this fails, every other browser test
 * would fail for reasons that have nothing to do with Atrium's rooms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { ClientPool, launchBrowser } from './support/browser';
import type { HarnessGlobals } from './support/harness-api';

let atrium: AtriumServer;
let browser: Browser;
let clients: ClientPool;

beforeAll(async () => {
  [atrium, browser] = await Promise.all([startAtrium(), launchBrowser()]);
  clients = new ClientPool(browser, atrium.url);
});

afterAll(async () => {
  await clients?.closeAll();
  await browser?.close();
  await atrium?.stop();
});

describe('browser harness', () => {
  it('loads twilio-video 2.36.0 from Atrium, and the fake camera and microphone work', async () => {
    const client = await clients.open();
    const version = await client.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.sdkVersion());
    expect(version).toBe('2.36.0');
    const tracks = await client.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.probeMedia());
    expect(tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    for (const track of tracks) expect(track.readyState).toBe('live');
    // Chromium names its fake devices; a real camera here would mean the flags were not applied.
    expect(tracks.find((t) => t.kind === 'video')?.label).toMatch(/fake/i);
    expect(client.diagnostics()).toBe('');
  });

  it('serves the demo page, whose bundle loads and enables Join', async () => {
    const client = await clients.open();
    const page = client.page;
    await page.unrouteAll();
    const response = await page.goto(`${atrium.url}/`);
    expect(response?.status()).toBe(200);
    // The button is disabled in the HTML and enabled by the bundle's last statement.
    await page.waitForSelector('#join:not([disabled])', { timeout: 10_000 });
    expect(await page.inputValue('#room')).toBe('demo');
    expect(await page.inputValue('#identity')).toMatch(/^guest-/);
    expect(client.diagnostics()).toBe('');
  });

  it('has the development token endpoint on (wrangler.toml [vars])', async () => {
    const res = await fetch(`${atrium.url}/dev/token?identity=smoke&room=smoke-room`);
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload.grants).toEqual({ identity: 'smoke', video: { room: 'smoke-room' } });
  });
});
