/**
 * The demo page served at / (demo/, bundled by scripts/build-demo.mjs), used the way a person uses
 * it: two tabs join one room, see and chat with each other, mute, and leave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../node/support/media-server';
import { launchBrowser, uniqueRoom } from './support/browser';

let sfu: MediaServer;
let atrium: AtriumServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // The demo's rooms are group rooms, as on Twilio: their media goes through the media server.
  sfu = await startMediaServer();
  [atrium, browser] = await Promise.all([startAtrium({ vars: sfu.vars }), launchBrowser()]);
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await browser?.close();
  await atrium?.stop();
  await sfu?.stop();
});

/** A tab on the demo that has joined `room` as `identity`. No permissions granted: none needed. */
async function joinDemo(identity: string, room: string): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${atrium.url}/?room=${encodeURIComponent(room)}`);
  await page.fill('#identity', identity);
  await page.click('#join:not([disabled])');
  await page.locator('#call').waitFor({ state: 'visible', timeout: 15_000 });
  expect(await page.textContent('#status')).toBe(`In room ${room}`);
  return page;
}

const tileOf = (page: Page, identity: string) =>
  page.locator('#grid .tile', { has: page.locator('.name', { hasText: new RegExp(`^${identity}$`) }) });

/** Passes once the tile's video element shows decoded frames from the other tab's camera. */
async function expectVideoShown(page: Page, identity: string): Promise<void> {
  const video = tileOf(page, identity).locator('video');
  await expect
    .poll(() => video.evaluate((v) => (v as unknown as { videoWidth: number }).videoWidth).catch(() => 0), { timeout: 15_000 })
    .toBeGreaterThan(0);
}

describe('the demo page', () => {
  it('lets two tabs see each other, chat, mute and leave', async () => {
    const room = uniqueRoom('demo');
    const ann = await joinDemo('ann', room);
    const ben = await joinDemo('ben', room);

    await Promise.all([expectVideoShown(ann, 'ben'), expectVideoShown(ben, 'ann')]);
    expect(await ann.locator('#grid .tile').count()).toBe(2);

    await ben.fill('#chat-input', 'hi ann');
    await ben.press('#chat-input', 'Enter');
    const received = ann.locator('#messages li', { hasText: 'hi ann' });
    await received.waitFor({ timeout: 10_000 });
    expect(await received.locator('.from').textContent()).toBe('ben');

    await ann.click('#toggle-video');
    expect(await ann.textContent('#toggle-video')).toBe('Start video');
    await expect.poll(() => tileOf(ben, 'ann').getAttribute('class'), { timeout: 10_000 }).toContain('video-off');

    await ann.click('#leave');
    await tileOf(ben, 'ann').waitFor({ state: 'detached', timeout: 10_000 });
    await ben.locator('#messages li.system', { hasText: 'ann left' }).waitFor({ timeout: 10_000 });
    await ann.locator('#join-form').waitFor({ state: 'visible' });
  });
});
