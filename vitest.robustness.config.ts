import { defineConfig } from 'vitest/config';

/**
 * The robustness suite (test/robustness): races, a restart mid-room, hostile input and a soak,
 * against a real `wrangler dev` (test/node/support/atrium-server.ts). See docs/robustness.md.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/robustness/**/*.test.ts'],
    // Forks: a forked worker's exit handler kills any wrangler a crashed test left behind.
    pool: 'forks',
    // Each file starts its own wrangler and loads it hard; on a two-core machine two files at once
    // would starve each other and turn load into timeouts.
    fileParallelism: false,
    // Every wait in these tests is bounded by its own, shorter timeout that says what it waited
    // for; these only catch what slips through. The soak test sets its own (it runs 60 s by default).
    testTimeout: 120_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
