import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { mkdirSync } from 'node:fs';

// wrangler.toml's [assets] directory must exist when the pool reads the config. `wrangler dev` and
// deploy create it with the [build] command, but the pool runs no build, and these tests call the
// Worker directly, never a static file.
mkdirSync(new URL('./public', import.meta.url), { recursive: true });

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './workers/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      // A narrower region list than production, so that 53116 (region not served) can be tested.
      // A second account checks that rooms are scoped to their account.
      miniflare: {
        bindings: {
          // No media server in this pool: group rooms relay peer to peer here (the Node and browser
          // suites run a real one).
          SFU_URL: '',
          MEDIA_REGIONS: 'us1,ie1',
          ICE_SERVERS: JSON.stringify([{ urls: 'stun:stun.atrium.test:3478' }]),
          TURN_SECRET: 'turn-test-secret',
          TURN_URLS: 'turn:turn.atrium.test:3478?transport=udp,turns:turn.atrium.test:5349',
          ACCOUNTS: JSON.stringify([
            {
              accountSid: 'AC00000000000000000000000000000002',
              authToken: 'second-account-token',
              apiKeys: [{ sid: 'SK00000000000000000000000000000002', secret: 'second-account-key-secret' }],
            },
          ]),
        },
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // Node-side suites with their own configs: vitest.node.config.ts, vitest.browser.config.ts,
    // vitest.robustness.config.ts.
    exclude: ['test/node/**', 'test/browser/**', 'test/robustness/**'],
  },
});
