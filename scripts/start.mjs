// `npm start`: Atrium on this machine. The media server (group rooms' media) and `wrangler dev`
// (the Worker and its Durable Objects, with local storage) run side by side, with the development
// values of wrangler.toml: the Worker reaches the media server at SFU_URL and signs its requests
// with SFU_SECRET. Ctrl-C stops both; if either stops, so does the other.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const toml = readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8');
const devVar = (name) => new RegExp(`^${name} = "([^"]*)"`, 'm').exec(toml)?.[1];
const sfuUrl = new URL(devVar('SFU_URL') ?? 'http://127.0.0.1:8788');
const secret = devVar('SFU_SECRET') ?? 'atrium-dev-sfu-secret';

const children = [];
let stopping = false;

function run(name, command, args, env) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} stopped (${signal ?? code}); stopping Atrium`);
      stop(code ?? 1);
    }
  });
  return child;
}

function stop(code = 0) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1_000).unref();
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('media server', process.execPath, ['scripts/run-sfu.mjs'], {
  SFU_PORT: sfuUrl.port || '8788',
  SFU_SECRET: process.env.SFU_SECRET ?? secret,
});
run('wrangler dev', process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'dev', '--ip', '127.0.0.1', '--port', '8787'], {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
});
