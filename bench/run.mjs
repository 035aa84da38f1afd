#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [-- --out DIR]`: builds the benchmark (TypeScript under bench/) with
 * esbuild and runs it. Plain JavaScript because Node 20 cannot load TypeScript by itself.
 *
 * The bundle is written three directories below the repository root on purpose: bench/main.ts
 * finds the repository from its own module URL, three levels up, and bare imports (ws, jose,
 * node-datachannel, playwright-core) resolve from the repository's node_modules from there. Every
 * other module the bench includes (the test harnesses) keeps its own `import.meta.url`: the
 * browser harness finds its page's source next to itself, which a bundle elsewhere would not.
 */
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const benchDir = fileURLToPath(new URL('./', import.meta.url));
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
  plugins: [
    {
      name: 'own-import-meta-url',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, async (args) => {
          if (args.path.startsWith(benchDir)) return undefined;
          const source = await readFile(args.path, 'utf8');
          if (!source.includes('import.meta.url')) return undefined;
          return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
        });
      },
    },
  ],
});

const { main } = await import(pathToFileURL(outfile).href).finally(() => rm(outfile, { force: true }));
try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
}
// Exits explicitly: node-datachannel (the media phase's synthetic participants) keeps the process
// alive after its last connection has closed, and its cleanup() can crash on the native tracks of
// closed connections that are not yet collected. Output is written synchronously (files and pipes).
process.exit();
