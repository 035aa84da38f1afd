/**
 * The demo page served at / (demo/, bundled by scripts/build-demo.mjs), used the way a person uses
 * it: tabs join one room, see and chat with each other, mute, share a screen and leave; with four,
 * the grid shows who is speaking and everyone's network quality.
 *
 * The four-tab test saves a screenshot of one tab to $DEMO_SCREENSHOT, by default
 * test-results/demo-four-tabs.png (not committed).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../node/support/media-server';
import { launchBrowser, uniqueRoom } from './support/browser';

const SCREENSHOT = resolve(
  process.env.DEMO_SCREENSHOT ?? fileURLToPath(new URL('../../test-results/demo-four-tabs.png', import.meta.url)),
);

let sfu: MediaServer;
let atrium: AtriumServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // The demo's rooms are group rooms, as on Twilio: their media goes through the media server.
  sfu = await startMediaServer();
  [atrium, browser] = await Promise.all([startAtrium({ vars: sfu.vars }), launchBrowser()]);
});

/** Each test's tabs leave when it ends: tabs left open would keep encoding and load the next test. */
const closeTabs = () => Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
afterEach(closeTabs);

afterAll(async () => {
  await closeTabs();
  await browser?.close();
  await atrium?.stop();
  await sfu?.stop();
});

/**
 * A tab on the demo that has joined `room` as `identity`. No permissions granted: none needed
 * (Chromium's fake camera, microphone and screen are granted without a prompt).
 */
async function joinDemo(identity: string, room: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${atrium.url}/?room=${encodeURIComponent(room)}`);
  await page.fill('#identity', identity);
  await page.click('#join:not([disabled])');
  await page.locator('#call').waitFor({ state: 'visible', timeout: 20_000 });
  expect(await page.textContent('#status')).toBe(`In room ${room}`);
  return page;
}

/** `identity`'s camera tile as seen in `page` (the local one is named "<identity> (you)"). */
const tileOf = (page: Page, identity: string) =>
  page.locator('#grid .tile.camera', { has: page.locator('.name', { hasText: new RegExp(`^${identity}$`) }) });

const classesOf = (page: Page, identity: string) => tileOf(page, identity).getAttribute('class').then((c) => c?.split(' ') ?? []);

/** Passes once the video element shows decoded frames. */
async function expectFramesIn(video: ReturnType<Page['locator']>, timeout = 15_000): Promise<void> {
  await expect
    .poll(() => video.evaluate((v) => (v as unknown as { videoWidth: number }).videoWidth).catch(() => 0), { timeout })
    .toBeGreaterThan(0);
}

const expectVideoShown = (page: Page, identity: string) => expectFramesIn(tileOf(page, identity).locator('video'));

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

    // Muting shows on the other side as a muted-microphone badge on the tile.
    await ann.click('#toggle-audio');
    expect(await ann.textContent('#toggle-audio')).toBe('Unmute');
    await expect.poll(() => classesOf(ben, 'ann'), { timeout: 10_000 }).toContain('muted');
    expect(await tileOf(ben, 'ann').locator('.mic-off').isVisible()).toBe(true);
    await ann.click('#toggle-audio');
    await expect.poll(() => classesOf(ben, 'ann'), { timeout: 10_000 }).not.toContain('muted');

    // Stopping video replaces the picture with the avatar.
    await ann.click('#toggle-video');
    expect(await ann.textContent('#toggle-video')).toBe('Start video');
    await expect.poll(() => classesOf(ben, 'ann'), { timeout: 10_000 }).toContain('video-off');
    expect(await tileOf(ben, 'ann').locator('.avatar').textContent()).toBe('AN');
    expect(await tileOf(ben, 'ann').locator('.avatar').isVisible()).toBe(true);

    await ann.click('#leave');
    await tileOf(ben, 'ann').waitFor({ state: 'detached', timeout: 10_000 });
    await ben.locator('#messages li.system', { hasText: 'ann left' }).waitFor({ timeout: 10_000 });
    await ann.locator('#join-form').waitFor({ state: 'visible' });
  });

  it('shares a screen into its own spotlighted tile, and stops sharing', async () => {
    const room = uniqueRoom('demo-screen');
    const ann = await joinDemo('ann', room);
    const ben = await joinDemo('ben', room);
    await expectVideoShown(ben, 'ann');

    // Headless Chromium's fake capture device answers getDisplayMedia (the fake UI picks it).
    expect(await ann.isVisible('#toggle-screen')).toBe(true);
    await ann.click('#toggle-screen');
    await expect.poll(() => ann.textContent('#toggle-screen'), { timeout: 10_000 }).toBe('Stop sharing');
    const shared = ben.locator('#grid .tile.screen');
    await shared.waitFor({ timeout: 15_000 });
    await expectFramesIn(shared.locator('video'));
    expect(await shared.getAttribute('class')).toContain('spotlighted');
    expect(await shared.locator('.presenter').textContent()).toBe('ann is presenting');
    // The cameras move to the strip beside it, smaller than the shared screen.
    const [screenBox, cameraBox] = await Promise.all([shared.boundingBox(), tileOf(ben, 'ann').boundingBox()]);
    expect(screenBox!.width).toBeGreaterThan(cameraBox!.width * 2);
    expect(await ann.locator('#grid .tile.screen.local').count()).toBe(1);

    await ann.click('#toggle-screen');
    await shared.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await ann.textContent('#toggle-screen')).toBe('Share screen');
    expect(await ann.locator('#grid .tile.screen').count()).toBe(0);

    // Ending the capture from the browser's own "Stop sharing" ends the track: the share ends too.
    await ann.click('#toggle-screen');
    await ben.locator('#grid .tile.screen').waitFor({ timeout: 15_000 });
    await ann.locator('#grid .tile.screen.local video').evaluate((video) => {
      type Track = { stop(): void; dispatchEvent(event: unknown): boolean };
      const stream = (video as unknown as { srcObject: { getVideoTracks(): Track[] } | null }).srcObject;
      const track = stream?.getVideoTracks()[0];
      if (!track) throw new Error('no local screen track');
      track.stop();
      track.dispatchEvent(new Event('ended')); // what the browser fires when the user ends the capture
    });
    await ben.locator('#grid .tile.screen').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await ann.textContent('#toggle-screen')).toBe('Share screen');
  });

  it('shows four tabs in a grid, the dominant speaker highlighted and network quality on every tile', { timeout: 150_000 }, async () => {
    const room = uniqueRoom('demo-four');
    const names = ['ann', 'ben', 'cat', 'dan'];
    const pages: Page[] = [];
    for (const name of names) pages.push(await joinDemo(name, room));
    const [ann, ben] = pages as [Page, Page, Page, Page];

    // Every tab: four camera tiles, its own first, each remote one showing its camera.
    for (const page of pages) {
      await expect.poll(() => page.locator('#grid .tile.camera').count(), { timeout: 15_000 }).toBe(4);
      expect(await page.locator('#grid .tile.camera').first().getAttribute('class')).toContain('local');
    }
    await Promise.all(pages.flatMap((page, i) => names.filter((_, j) => j !== i).map((name) => expectVideoShown(page, name))));

    // A 2×2 grid: tiles of one 16:9 size, two columns and two rows, none overlapping, all on the stage.
    for (const page of pages) {
      const stage = (await page.locator('#grid').boundingBox())!;
      const boxes = await Promise.all((await page.locator('#grid .tile.camera').all()).map(async (t) => (await t.boundingBox())!));
      expect(new Set(boxes.map((b) => Math.round(b.x))).size).toBe(2);
      expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(2);
      for (const b of boxes) {
        expect(b.width / b.height).toBeCloseTo(16 / 9, 1);
        expect(b.width).toBeCloseTo(boxes[0]!.width, 0);
        expect(b.x).toBeGreaterThanOrEqual(stage.x - 1);
        expect(b.y).toBeGreaterThanOrEqual(stage.y - 1);
        expect(b.x + b.width).toBeLessThanOrEqual(stage.x + stage.width + 1);
        expect(b.y + b.height).toBeLessThanOrEqual(stage.y + stage.height + 1);
      }
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
          expect(overlap).toBe(false);
        }
      }
    }

    // Everyone but ann mutes with the demo's button, so only ann's fake microphone (a beep every
    // 500 ms) is heard; every tab shows those three as muted and ann as not.
    for (const page of pages.slice(1)) {
      await page.click('#toggle-audio');
      expect(await page.textContent('#toggle-audio')).toBe('Unmute');
    }
    for (const [i, page] of pages.entries()) {
      for (const [j, name] of names.entries()) {
        if (i === j) continue;
        if (name === 'ann') expect(await classesOf(page, name)).not.toContain('muted');
        else await expect.poll(() => classesOf(page, name), { timeout: 10_000 }).toContain('muted');
      }
    }

    try {
      // The media server names ann the dominant speaker: in the three other tabs her tile, and only
      // hers, wears the highlight. (A tab never sees itself as the dominant speaker: the SDK's
      // Room.dominantSpeaker is always a remote participant.)
      for (const page of pages.slice(1)) {
        await expect
          .poll(() => page.locator('#grid .tile.dominant .name').allTextContents(), { timeout: 10_000 })
          .toEqual(['ann']);
      }
      // Network quality reaches every tile of every tab, its own included: a level from 0 to 5.
      for (const page of pages) {
        await expect
          .poll(() => page.locator('#grid .tile.camera .quality').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-level') ?? 'unknown')), {
            timeout: 15_000,
          })
          .toSatisfy((levels: string[]) => levels.length === 4 && levels.every((l) => /^[0-5]$/.test(l)));
      }
      expect(await ann.locator('#grid .tile.dominant').count()).toBe(0);
    } finally {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await ben.screenshot({ path: SCREENSHOT });
    }
  });
});
