// Builds the static files the Worker serves at / (wrangler.toml [assets] → ./public):
//   public/index.html, public/style.css     the demo page, copied from demo/
//   public/build/demo.js                    demo/app.ts bundled with the twilio-video SDK
//   public/build/twilio-video.min.js        the SDK's own published browser build, unmodified
//                                           (defines window.Twilio.Video; the browser tests use it)
// wrangler runs this as the [build] command before `wrangler dev` and `wrangler deploy`.
//
// Files are replaced by rename, never deleted first: several `wrangler dev` (test servers) may run
// this while another one is serving the directory, and they must never see a missing file. A file
// whose contents did not change is not touched at all: `wrangler dev` watches the directory and
// would otherwise reload every running server whenever another one starts.
import { build } from 'esbuild';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'public');
const require = createRequire(import.meta.url);

async function put(path, contents) {
  const existing = await readFile(path).catch(() => null);
  if (existing && Buffer.compare(existing, Buffer.from(contents)) === 0) return;
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, contents);
  await rename(temp, path);
}

const bundle = await build({
  entryPoints: [join(root, 'demo', 'app.ts')],
  outfile: join(out, 'build', 'demo.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  write: false,
  logLevel: 'warning',
});
for (const file of bundle.outputFiles) await put(file.path, file.contents);

await put(join(out, 'index.html'), await readFile(join(root, 'demo', 'index.html')));
await put(join(out, 'style.css'), await readFile(join(root, 'demo', 'style.css')));
const sdk = join(dirname(require.resolve('twilio-video/package.json')), 'dist', 'twilio-video.min.js');
await put(join(out, 'build', 'twilio-video.min.js'), await readFile(sdk));

console.log(`demo built into ${relative(root, out) || '.'}/`);
