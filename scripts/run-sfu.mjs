// `npm run sfu`: builds the media server (one bundle, see media-server/build.mjs) and runs it in the
// foreground, configured by the environment (media-server/src/config.ts: SFU_PORT, SFU_SECRET,
// SFU_ANNOUNCED_ADDRESSES, SFU_RTC_PORT_MIN/MAX, ...).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

await import('../media-server/build.mjs');
const bundle = fileURLToPath(new URL('../media-server/dist/media-server.mjs', import.meta.url));
const child = spawn(process.execPath, ['--enable-source-maps', bundle], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
