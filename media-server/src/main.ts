import { ConfigError, configFromEnv } from './config';
import { controlServer } from './control/http-server';
import { log, Sfu } from './sfu';

/**
 * `npm run sfu`: one media server in the foreground, configured by the environment (config.ts).
 * Stops cleanly on SIGINT/SIGTERM: every connection is closed; Room objects notice at their next
 * media check and move their participants to another server, or back here once it is up again.
 */
function main(): void {
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
  const server = controlServer(sfu, config.secret);
  server.listen(config.port, config.host, () => {
    log('listening', { control: `http://${config.host}:${config.port}`, announced: config.announcedAddresses, rtcPorts: config.rtcPortRange ?? 'any', boot: sfu.boot });
  });
  const stop = (signal: string) => {
    log('stopping', { signal });
    sfu.close();
    server.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main();
