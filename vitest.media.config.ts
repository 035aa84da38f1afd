import { defineConfig } from 'vitest/config';

/**
 * The media server's own suite (media-server/test): the control API, SDP and RTP/RTCP units, and
 * negotiation and forwarding with synthetic node-datachannel participants against an in-process
 * media server. Nothing here needs wrangler or a browser.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['media-server/test/**/*.test.ts'],
    // Forks, not threads: node-datachannel is a native addon with its own threads, and a forked
    // worker that exits takes every peer connection a failed test left open with it.
    pool: 'forks',
    // Media timing (packets per second, RTCP every second, ICE and DTLS handshakes) on a two-core
    // machine: one file at a time keeps it deterministic.
    fileParallelism: false,
    // The media server logs a JSON line per event; show them only for tests that fail.
    silent: 'passed-only',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 15_000,
  },
});
