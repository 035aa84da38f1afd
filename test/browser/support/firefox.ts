/// <reference types="node" />
/**
 * A twilio-video participant in Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi,
 * for the tests that mix browsers. The harness page is the Chromium clients' (../page/harness.ts),
 * served by a small local HTTP server; the SDK comes from Atrium as for every other client.
 *
 *   const firefox = await launchFirefox();
 *   const carol = await firefox.open(atrium.url);      // a TestClient, like ClientPool.open()
 *   ...
 *   await firefox.close();
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { HARNESS_PREFIX, harnessHtml, harnessSource, SDK_PATH, TestClient } from './browser';

export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/**
 * Fake camera and microphone without a prompt; host addresses in the clear and loopback allowed,
 * since everything runs on 127.0.0.1; nothing that phones home.
 */
const PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.loopback': true,
  'media.autoplay.default': 0,
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

export interface FirefoxClients {
  open(atriumUrl: string): Promise<TestClient<Page>>;
  close(): Promise<void>;
}

export async function launchFirefox(): Promise<FirefoxClients> {
  if (!existsSync(FIREFOX_PATH)) {
    throw new Error(`${FIREFOX_PATH} is missing: run \`bash scripts/ensure-test-tools.sh\` (npm run test:browser does)`);
  }
  const browser: Browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    protocol: 'webDriverBiDi',
    timeout: 60_000,
    extraPrefsFirefox: PREFS,
  });
  const servers: Server[] = [];
  const pages: Page[] = [];
  return {
    async open(atriumUrl) {
      const html = await harnessHtml(`${atriumUrl}${SDK_PATH}`);
      const script = await harnessSource();
      const server = createServer((req, res) => {
        const isScript = (req.url ?? '').endsWith('/harness.js');
        res.writeHead(200, { 'content-type': isScript ? 'text/javascript' : 'text/html' });
        res.end(isScript ? script : html);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      const page = await browser.newPage();
      pages.push(page);
      const client = new TestClient(page, atriumUrl, () => page.close());
      page.on('pageerror', (error) => client.note(`pageerror: ${String((error as Error).message ?? error)}`));
      page.on('console', (message) => {
        if (message.type() === 'error') client.note(`console.error: ${message.text()}`);
      });
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}${HARNESS_PREFIX}`, { waitUntil: 'load' });
      await client.checkLoaded();
      return client;
    },
    async close() {
      const proc = browser.process();
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
      if (proc && proc.exitCode === null) proc.kill('SIGKILL');
      for (const s of servers) s.close();
    },
  };
}
