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
  // The AWS SDK (recordings to S3) is CommonJS and require()s Node's built-ins; in an ES module
  // bundle those calls fail ("Dynamic require of node:https is not supported") unless a real
  // `require` is in scope.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
