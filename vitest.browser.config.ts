import { defineConfig } from 'vitest/config';

/**
 * Unmodified twilio-video clients in headless Chromium against a real `wrangler dev`
 * (test/browser/support/browser.ts). `npm run test:browser` installs Chromium first.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/browser/**/*.test.ts'],
    // Forks: a forked worker's exit handler kills any wrangler a crashed test left behind.
    pool: 'forks',
    // Each file runs a wrangler, a Chromium and several fake cameras with their video encoders;
    // two files at once on a small machine would starve WebRTC and make timings flaky.
    fileParallelism: false,
    // Helpers bound every wait themselves (15–20 s) and say what they waited for; these only catch
    // what slips through. Starting wrangler and Chromium takes a few seconds.
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
