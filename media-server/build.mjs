// Bundles the media server (TypeScript) into one ES module for Node: `npm run sfu` runs it, and the
// Dockerfile builds it the same way. node-datachannel stays external: it ships a native binary.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

await build({
  entryPoints: [here('./src/main.ts')],
  outfile: here('./dist/media-server.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['node-datachannel'],
  sourcemap: true,
  logLevel: 'warning',
});
