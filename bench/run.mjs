#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [-- --out DIR]`: builds the benchmark (TypeScript under bench/) with
 * esbuild and runs it. Plain JavaScript because Node 20 cannot load TypeScript by itself.
 *
 * The bundle is written three directories below the repository root on purpose: the server
 * harness it includes finds the repository from its own module URL, three levels up, and bare
 * imports (ws, jose) resolve from the repository's node_modules from there.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
// One file per run, so that two runs at once (a CI check beside a manual run) never share one.
const outfile = fileURLToPath(new URL(`../node_modules/.cache/atrium-bench/bench-${process.pid}.mjs`, import.meta.url));

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const { main } = await import(pathToFileURL(outfile).href).finally(() => rmSync(outfile, { force: true }));
try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
}
