/**
 * Group rooms through Atrium's media server: unmodified twilio-video 2.36 in headless Chromium, a
 * real `wrangler dev` and a real media server. Every participant has one peer connection, to the
 * media server, and publishes each track once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startAtrium, type AtriumServer } from '../node/support/atrium-server';
import { startMediaServer, type MediaServer } from '../node/support/media-server';
import { ClientPool, launchBrowser, sidsOf, uniqueRoom } from './support/browser';
import type { HarnessEvent, MediaKind } from './support/harness-api';

const KINDS: MediaKind[] = ['audio', 'video', 'data'];
const allTracksOf = (...identities: string[]) => identities.flatMap((identity) => KINDS.map((kind) => ({ identity, kind })));

let sfu: MediaServer;
let atrium: AtriumServer;
let browser: Browser;
let clients: ClientPool;

beforeAll(async () => {
  sfu = await startMediaServer();
  [atrium, browser] = await Promise.all([startAtrium({ vars: sfu.vars }), launchBrowser()]);
  clients = new ClientPool(browser, atrium.url);
});

afterEach(async () => {
  await clients.closeAll();
});

afterAll(async () => {
  await browser?.close();
  await atrium?.stop();
  await sfu?.stop();
});

describe('a group room of two', () => {
  it('connects both through the media server on one peer connection each, with audio, video and data both ways', async () => {
    const room = uniqueRoom('group');
    const [alice, bob] = await Promise.all([clients.open(), clients.open()]);
    await alice.join('alice', room);
    await bob.join('bob', room);
    const [atAlice, atBob] = await Promise.all([alice.waitForSubscriptions(allTracksOf('bob')), bob.waitForSubscriptions(allTracksOf('alice'))]);
    await Promise.all([alice.expectVideoFlowing(sidsOf(atAlice, 'bob', 'video')), bob.expectVideoFlowing(sidsOf(atBob, 'alice', 'video'))]);
    expect(await alice.send('hi from alice')).toBe(1);
    await bob.waitForEvent((e: HarnessEvent) => e.type === 'message' && e.from === 'alice' && e.data === 'hi from alice', "alice's message");
    console.log(JSON.stringify((await sfu.call('GET', '/v1/stats')).body).slice(0, 3000));
  });
});
