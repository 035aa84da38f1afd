import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './workers/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      // A narrower region list than production, so that 53116 (region not served) can be tested.
      // A second account checks that rooms are scoped to their account.
      miniflare: {
        bindings: {
          MEDIA_REGIONS: 'us1,ie1',
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
    exclude: ['test/node/**'],
  },
});
