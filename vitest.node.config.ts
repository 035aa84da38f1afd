import { defineConfig } from 'vitest/config';

/**
 * Tests that run in Node against a real `wrangler dev` (see test/node/support/atrium-server.ts):
 * the official twilio helper, browsers, status-callback receivers. The workerd-pool suite in
 * vitest.config.ts excludes this folder, and this config includes nothing else.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/node/**/*.test.ts'],
    // Forks, not threads: each file owns wrangler/workerd child processes, and a forked worker's
    // exit handler is what kills any of them a crashed test left behind.
    pool: 'forks',
    // Every file starts its own wrangler (a Node process and two workerd processes); on a
    // two-core machine running files one at a time keeps timing-sensitive tests deterministic.
    fileParallelism: false,
    // Starting wrangler takes a few seconds, longer on a loaded machine; requests go through
    // Durable Objects on real storage.
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
