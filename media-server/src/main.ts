import { ConfigError, configFromEnv } from './config';
import { controlServer } from './control/http-server';
import { log, Sfu } from './sfu';

/** How long a stopping server waits for its recordings to be stored. */
const SHUTDOWN_RECORDINGS_MS = 10_000;

/**
 * `npm run sfu`: one media server in the foreground, configured by the environment (config.ts).
 * Before it listens, it finishes the recordings a previous process left in the spool, so the first
 * listing a Room object gets is final. Stops cleanly on SIGINT/SIGTERM: every connection is
 * closed, every recording stopped and stored; Room objects notice at their next media check and
 * move their participants to another server, or back here once it is up again.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`media server: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const sfu = new Sfu(config);
  // Recordings a previous process was writing are finished before anyone can ask about them.
  await sfu.recover();
  const server = controlServer(sfu, config.secret);
  server.listen(config.port, config.host, () => {
    log('listening', { control: `http://${config.host}:${config.port}`, announced: config.announcedAddresses, rtcPorts: config.rtcPortRange ?? 'any', boot: sfu.boot });
  });
  const stop = (signal: string) => {
    log('stopping', { signal });
    sfu.close();
    server.close();
    // Recordings stopped by the closing sessions are finalized and stored first; one that takes
    // longer is finished from the spool at the next start.
    const deadline = new Promise((r) => setTimeout(r, SHUTDOWN_RECORDINGS_MS).unref());
    void Promise.race([sfu.finishRecordings(), deadline]).then(() => setTimeout(() => process.exit(0), 200).unref());
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(JSON.stringify({ event: 'startup-failed', error: String(err instanceof Error ? err.stack : err) }));
  process.exit(1);
});
