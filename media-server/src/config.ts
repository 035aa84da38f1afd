import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';

/** SFU_RECORDINGS_DIR's default, under the working directory. */
export const DEFAULT_RECORDINGS_DIR = 'recordings';

/** How a media server is run: everything comes from the environment (`npm run sfu`). */
export interface MediaServerConfig {
  /** SFU_PORT: the HTTP control port (default 8788). */
  port: number;
  /** SFU_HOST: the address the control port listens on (default 127.0.0.1; 0.0.0.0 behind a proxy). */
  host: string;
  /** SFU_SECRET: the shared secret the Worker signs control requests with (required). */
  secret: string;
  /**
   * SFU_ANNOUNCED_ADDRESSES: comma-separated addresses put in ICE candidates, e.g. the host's public
   * IP. Default: every non-internal IPv4 address of the host, then 127.0.0.1.
   */
  announcedAddresses: string[];
  /** SFU_RTC_PORT_MIN / SFU_RTC_PORT_MAX: the UDP port range for media (default: any free port). */
  rtcPortRange: [number, number] | null;
  /** SFU_BIND_ADDRESS: the address media sockets bind to (default 0.0.0.0). */
  bindAddress: string;
  /** SFU_SESSION_IDLE_SECONDS: a session whose connection never comes up is closed after this (default 60). */
  sessionIdleSeconds: number;
  /**
   * SFU_RECORDINGS_DIR: the local store of recordings, and their spool (`.spool/` inside it) while
   * they are written (default `recordings` under the working directory). Optional here so that an
   * in-process server (tests) without one still runs: it records nothing unless ordered to.
   */
  recordingsDir?: string;
}

export class ConfigError extends Error {}

/** Reads and checks the configuration; throws ConfigError naming the variable that is wrong. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): MediaServerConfig {
  const secret = env.SFU_SECRET ?? '';
  if (secret.length < 16) throw new ConfigError('SFU_SECRET must be set, at least 16 characters (the Worker signs control requests with it)');
  const port = intVar(env, 'SFU_PORT', 8788, 1, 65535);
  const min = env.SFU_RTC_PORT_MIN ? intVar(env, 'SFU_RTC_PORT_MIN', 0, 1024, 65535) : null;
  const max = env.SFU_RTC_PORT_MAX ? intVar(env, 'SFU_RTC_PORT_MAX', 0, 1024, 65535) : null;
  if ((min === null) !== (max === null)) throw new ConfigError('SFU_RTC_PORT_MIN and SFU_RTC_PORT_MAX must be set together');
  if (min !== null && max !== null && min > max) throw new ConfigError('SFU_RTC_PORT_MIN must not exceed SFU_RTC_PORT_MAX');
  const announced = (env.SFU_ANNOUNCED_ADDRESSES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of announced) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new ConfigError(`SFU_ANNOUNCED_ADDRESSES entry '${a}' is not an IPv4 address`);
  }
  return {
    port,
    host: env.SFU_HOST || '127.0.0.1',
    secret,
    announcedAddresses: announced.length ? announced : hostAddresses(),
    rtcPortRange: min !== null && max !== null ? [min, max] : null,
    bindAddress: env.SFU_BIND_ADDRESS || '0.0.0.0',
    sessionIdleSeconds: intVar(env, 'SFU_SESSION_IDLE_SECONDS', 60, 5, 3600),
    recordingsDir: resolve(env.SFU_RECORDINGS_DIR || DEFAULT_RECORDINGS_DIR),
  };
}

/** The host's own IPv4 addresses, external ones first, loopback last (for browsers on this machine). */
export function hostAddresses(): string[] {
  const external: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const addr of list ?? []) if (addr.family === 'IPv4' && !addr.internal) external.push(addr.address);
  }
  return [...new Set(external), '127.0.0.1'];
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}
