/// <reference types="node" />
/**
 * Drives unmodified twilio-video clients in headless Chromium against a running Atrium.
 *
 *   const browser = await launchBrowser();
 *   const clients = new ClientPool(browser, atrium.url);
 *   const alice = await clients.open();                 // a page with the SDK loaded from Atrium
 *   await alice.join('alice', 'standup');               // mints a token, connects, asserts success
 *   await alice.waitForEvent((e) => e.type === 'trackSubscribed' && e.kind === 'video', 'a video');
 *   await alice.expectVideoFlowing([trackSid]);
 *   await clients.closeAll();
 *
 * Each client is its own browser context and page. The page is served on Atrium's origin (so
 * relative URLs and the secure-context rules of 127.0.0.1 apply) but its HTML and the harness come
 * from the test via request interception; only the SDK itself (/build/twilio-video.min.js, the
 * package's own browser build) is fetched from Atrium, exactly as the demo's visitors fetch it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { mintAccessToken, type MintOptions } from '../../../core/tokens/mint-token';
import { DEV_CREDENTIALS } from '../../node/support/atrium-server';
import type { ConnectionStats, ConnectResult, HarnessEvent, HarnessGlobals, MediaKind, PublishResult } from './harness-api';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Fake camera and microphone granted without a prompt; nothing that phones home (the test machine
 * may reach only localhost); no QUIC; root in a container needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Where the SDK's browser build is served (scripts/build-demo.mjs puts it into public/build/). */
export const SDK_PATH = '/build/twilio-video.min.js';
const HARNESS_PREFIX = '/__browser-test__/';
const HARNESS_ENTRY = fileURLToPath(new URL('../page/harness.ts', import.meta.url));

/** Debian's Chromium (scripts/ensure-test-tools.sh); Playwright never downloads a browser here. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: run \`bash scripts/ensure-test-tools.sh\` (npm run test:browser does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** An access token for the default development account; any field can be overridden to break it. */
export function mintToken(options: { identity: string; room?: string } & Partial<MintOptions>): Promise<string> {
  return mintAccessToken({
    accountSid: DEV_CREDENTIALS.accountSid,
    apiKeySid: DEV_CREDENTIALS.apiKeySid,
    apiKeySecret: DEV_CREDENTIALS.apiKeySecret,
    ...options,
  });
}

/** The `wsServer` the demo uses: the room name in the URL routes the socket to its Room object. */
export function wsServerFor(atriumUrl: string, room: string): string {
  return atriumUrl.replace(/^http/, 'ws') + '/signaling/' + encodeURIComponent(room);
}

let harnessScript: Promise<string> | undefined;
/** The in-page harness, bundled once per test process (it imports only types, so it is small). */
function harnessSource(): Promise<string> {
  harnessScript ??= build({
    entryPoints: [HARNESS_ENTRY],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const file = result.outputFiles[0];
    if (!file) throw new Error('esbuild produced no harness bundle');
    return file.text;
  });
  return harnessScript;
}

/** Opens pages and closes them all after a test, also when the test failed half-way. */
export class ClientPool {
  private readonly clients: TestClient<HarnessPage>[] = [];

  constructor(
    private readonly browser: Browser,
    private readonly atriumUrl: string,
  ) {}

  async open(): Promise<TestClient> {
    // Chromium's Local Network Access checks treat a document whose response came from the test
    // (route.fulfill, no remote address) as public, and block its WebSocket to 127.0.0.1 unless the
    // origin holds this permission. The demo, loaded from Atrium itself, needs no such grant.
    const context = await this.browser.newContext({ permissions: ['local-network-access'] });
    const page = await context.newPage();
    const client = new TestClient(page, this.atriumUrl, () => context.close());
    page.on('pageerror', (error) => client.note(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') client.note(`console.error: ${message.text()} (${message.location().url})`);
      // The SDK's own warnings (ICE restarts, reconnections) explain most media failures.
      else if (message.type() === 'warning') client.note(`console.warn: ${message.text()}`);
    });
    this.clients.push(client);
    await loadHarness(page, this.atriumUrl);
    await client.checkLoaded();
    return client;
  }

  /** Adds a client opened elsewhere (another browser), so closeAll() closes it too. */
  adopt<P extends HarnessPage>(client: TestClient<P>): TestClient<P> {
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    const clients = this.clients.splice(0);
    await Promise.all(clients.map((client) => client.close()));
  }
}

export interface JoinOptions {
  /** Use this token instead of minting a valid one for identity and room. */
  token?: string;
  audio?: boolean;
  video?: boolean;
  data?: boolean;
  /** Publish VP8 simulcast at 640x480. */
  simulcast?: boolean;
  /** More connect options (JSON): dominantSpeaker, networkQuality, bandwidthProfile… */
  connectOptions?: Record<string, unknown>;
  /** Server candidate ports to replace in remote descriptions (see ConnectRequest.candidatePorts). */
  candidatePorts?: Record<string, number>;
  timeoutMs?: number;
}

/**
 * What a client needs of its page: Playwright's pages (Chromium) and Puppeteer's (Firefox, over
 * WebDriver BiDi) both fit.
 */
export interface HarnessPage {
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/**
 * Serves the harness page on Atrium's origin through request interception: the harness first (it
 * wraps WebSocket and RTCPeerConnection), then the SDK from Atrium.
 */
async function loadHarness(page: Page, atriumUrl: string): Promise<void> {
  const html = await harnessHtml();
  const harness = await harnessSource();
  await page.route(`${atriumUrl}${HARNESS_PREFIX}**`, (route) => {
    const isScript = new URL(route.request().url()).pathname.endsWith('/harness.js');
    return route.fulfill(isScript ? { contentType: 'text/javascript', body: harness } : { contentType: 'text/html', body: html });
  });
  await page.goto(`${atriumUrl}${HARNESS_PREFIX}`, { waitUntil: 'load' });
}

/** The harness page: the harness script, then the SDK (relative to the page's origin unless `sdkUrl` says otherwise). */
export async function harnessHtml(sdkUrl = SDK_PATH): Promise<string> {
  return `<!doctype html><meta charset="utf-8"><title>Atrium browser test</title><link rel="icon" href="data:,">
<script src="${HARNESS_PREFIX}harness.js"></script>
<script src="${sdkUrl}"></script>`;
}

export { harnessSource, HARNESS_PREFIX };

export class TestClient<P extends HarnessPage = Page> {
  /** Page errors and console errors, for failure messages. */
  private readonly problems: string[] = [];
  identity = '';

  constructor(
    readonly page: P,
    private readonly atriumUrl: string,
    private readonly closePage: () => Promise<unknown>,
  ) {}

  note(problem: string): void {
    if (this.problems.length < 50) this.problems.push(problem.slice(0, 500));
  }

  /** Fails unless both the harness and the SDK loaded in the page. */
  async checkLoaded(): Promise<void> {
    const loaded = await this.page.evaluate(() => {
      const w = globalThis as unknown as Partial<HarnessGlobals> & { Twilio?: { Video?: unknown } };
      return { harness: typeof w.atriumTest === 'object', sdk: typeof w.Twilio?.Video === 'object' };
    });
    if (!loaded.harness || !loaded.sdk) {
      throw new Error(`test page did not load (harness: ${loaded.harness}, SDK from ${SDK_PATH}: ${loaded.sdk})${this.diagnostics()}`);
    }
  }

  /** Connects and returns whatever the SDK said, success or failure (for tests of refusals). */
  async connect(identity: string, room: string, options: JoinOptions = {}): Promise<ConnectResult> {
    this.identity = identity;
    const token = options.token ?? (await mintToken({ identity, room }));
    const request = {
      token,
      room,
      wsServer: wsServerFor(this.atriumUrl, room),
      audio: options.audio ?? true,
      video: options.video ?? true,
      data: options.data ?? true,
      simulcast: options.simulcast ?? false,
      connectOptions: options.connectOptions,
      candidatePorts: options.candidatePorts,
    };
    return this.bounded(
      this.page.evaluate((r) => (globalThis as unknown as HarnessGlobals).atriumTest.connect(r), request),
      options.timeoutMs ?? 20_000,
      `${identity} connecting to ${room}`,
    );
  }

  /** Connects and fails the test unless the SDK reached `connected`. */
  async join(identity: string, room: string, options: JoinOptions = {}): Promise<Extract<ConnectResult, { ok: true }>> {
    const result = await this.connect(identity, room, options);
    if (!result.ok) throw new Error(`${identity} could not join ${room}: ${result.code} ${result.message}${this.diagnostics()}`);
    return result;
  }

  events(): Promise<HarnessEvent[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.events());
  }

  roomState(): Promise<string | null> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.roomState());
  }

  /** The first recorded event (past or future) that matches, within the timeout. */
  async waitForEvent<T extends HarnessEvent>(
    match: (event: HarnessEvent) => event is T,
    what: string,
    timeoutMs?: number,
  ): Promise<T>;
  async waitForEvent(match: (event: HarnessEvent) => boolean, what: string, timeoutMs?: number): Promise<HarnessEvent>;
  async waitForEvent(match: (event: HarnessEvent) => boolean, what: string, timeoutMs = 15_000): Promise<HarnessEvent> {
    let seen: HarnessEvent[] = [];
    return waitUntil(
      async () => {
        seen = await this.events();
        return seen.find(match);
      },
      timeoutMs,
      () => `${this.identity} to see ${what}; events so far: ${JSON.stringify(seen)}${this.diagnostics()}`,
    );
  }

  /** Waits until every one of `wanted` is among this client's current subscriptions. */
  async waitForSubscriptions(wanted: { identity: string; kind: MediaKind }[], timeoutMs = 20_000): Promise<Map<string, string>> {
    let current = new Map<string, string>();
    await waitUntil(
      async () => {
        current = subscriptions(await this.events());
        return wanted.every(({ identity, kind }) => [...current.values()].includes(`${identity}/${kind}`)) || undefined;
      },
      timeoutMs,
      () => `${this.identity} to subscribe to ${JSON.stringify(wanted)}; subscribed: ${JSON.stringify([...current])}${this.diagnostics()}`,
    );
    return current;
  }

  async publish(kind: MediaKind, name: string, timeoutMs = 15_000): Promise<PublishResult> {
    return this.bounded(
      this.page.evaluate(([k, n]) => (globalThis as unknown as HarnessGlobals).atriumTest.publish(k, n), [kind, name] as const),
      timeoutMs,
      `${this.identity} publishing ${kind} track ${name}`,
    );
  }

  send(text: string): Promise<number> {
    return this.page.evaluate((t) => (globalThis as unknown as HarnessGlobals).atriumTest.send(t), text);
  }

  videoBytesReceived(): Promise<Record<string, number>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.videoBytesReceived());
  }

  /**
   * Passes once bytesReceived of every listed remote video track has grown by `minBytes` since
   * the first sample: frames are arriving now, not just some time in the past.
   */
  async expectVideoFlowing(trackSids: string[], { minBytes = 5_000, timeoutMs = 15_000 } = {}): Promise<void> {
    const first = await this.videoBytesReceived();
    let last = first;
    await waitUntil(
      async () => {
        last = await this.videoBytesReceived();
        return trackSids.every((sid) => (last[sid] ?? 0) - (first[sid] ?? 0) >= minBytes) || undefined;
      },
      timeoutMs,
      () => `${this.identity} to receive ${minBytes}+ more video bytes on ${trackSids.join(', ')}; ` +
        `first ${JSON.stringify(first)}, last ${JSON.stringify(last)}${this.diagnostics()}`,
      250,
    );
  }

  receivedVideoCodecs(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.receivedVideoCodecs());
  }

  connectionStats(): Promise<ConnectionStats> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.connectionStats());
  }

  setMicrophoneEnabled(enabled: boolean): Promise<void> {
    return this.page.evaluate((on) => (globalThis as unknown as HarnessGlobals).atriumTest.setMicrophoneEnabled(on), enabled);
  }

  isRecording(): Promise<boolean | null> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.isRecording());
  }

  dominantSpeaker(): Promise<string | null> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.dominantSpeaker());
  }

  networkQuality(): Promise<{ local: number | null; remote: Record<string, number | null> }> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.networkQuality());
  }

  /** RemoteVideoTrack.switchOn() or switchOff(). */
  async switchVideo(trackSid: string, on: boolean): Promise<void> {
    const found = await this.page.evaluate(([sid, o]) => (globalThis as unknown as HarnessGlobals).atriumTest.switchVideo(sid, o), [trackSid, on] as const);
    if (!found) throw new Error(`${this.identity} has no remote video track ${trackSid}`);
  }

  /** RemoteVideoTrack.setContentPreferences({renderDimensions: {width, height}}). */
  async setRenderDimensions(trackSid: string, width: number, height: number): Promise<void> {
    const found = await this.page.evaluate(([sid, w, h]) => (globalThis as unknown as HarnessGlobals).atriumTest.setRenderDimensions(sid, w, h), [trackSid, width, height] as const);
    if (!found) throw new Error(`${this.identity} has no remote video track ${trackSid}`);
  }

  isSwitchedOff(trackSid: string): Promise<boolean | null> {
    return this.page.evaluate((sid) => (globalThis as unknown as HarnessGlobals).atriumTest.isSwitchedOff(sid), trackSid);
  }

  setPublishPriority(kind: MediaKind, priority: 'low' | 'standard' | 'high'): Promise<void> {
    return this.page.evaluate(([k, p]) => (globalThis as unknown as HarnessGlobals).atriumTest.setPublishPriority(k, p), [kind, priority] as const);
  }

  /**
   * Passes once bytesReceived of every listed remote track (audio or video) has grown by `minBytes`
   * since the first sample.
   */
  async expectMediaFlowing(trackSids: string[], { minBytes = 2_000, timeoutMs = 15_000 } = {}): Promise<void> {
    const sample = async () => {
      const out: Record<string, number> = {};
      for (const t of (await this.connectionStats()).remote) out[t.trackSid] = (out[t.trackSid] ?? 0) + t.bytesReceived;
      return out;
    };
    const first = await sample();
    let last = first;
    await waitUntil(
      async () => {
        last = await sample();
        return trackSids.every((sid) => (last[sid] ?? 0) - (first[sid] ?? 0) >= minBytes) || undefined;
      },
      timeoutMs,
      () => `${this.identity} to receive ${minBytes}+ more bytes on ${trackSids.join(', ')}; first ${JSON.stringify(first)}, last ${JSON.stringify(last)}${this.diagnostics()}`,
      250,
    );
  }

  dropSignaling(): Promise<number> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.dropSignaling());
  }

  disconnect(): Promise<void> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobals).atriumTest.disconnect());
  }

  async close(): Promise<void> {
    await this.closePage().catch(() => undefined);
  }

  diagnostics(): string {
    return this.problems.length ? `\n  page problems:\n  ${this.problems.join('\n  ')}` : '';
  }

  private async bounded<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}${this.diagnostics()}`)), timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Current subscriptions from an event log: track sid → "identity/kind". */
export function subscriptions(events: HarnessEvent[]): Map<string, string> {
  const current = new Map<string, string>();
  for (const event of events) {
    if (event.type === 'trackSubscribed') current.set(event.trackSid, `${event.identity}/${event.kind}`);
    if (event.type === 'trackUnsubscribed') current.delete(event.trackSid);
  }
  return current;
}

/** Track sids of `identity`'s subscribed tracks of `kind` in a subscriptions map. */
export function sidsOf(subs: Map<string, string>, identity: string, kind: MediaKind): string[] {
  return [...subs].filter(([, who]) => who === `${identity}/${kind}`).map(([sid]) => sid);
}

/** Polls `probe` until it returns something other than undefined; fails with `describe()` after timeoutMs. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A room name no other test uses. */
export function uniqueRoom(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
