import { ConfigError, perEnv } from '../../../../core/config-error';
import type { Env } from '../../../env';

/** The media servers group rooms use, from `SFU_URL` and `SFU_SECRET`. */
export interface SfuConfig {
  /** Base URLs, in the order configured: a room is placed on one and moves on when it is gone. */
  servers: string[];
  /** Shared secret that signs control requests (core/control-signature.ts). */
  secret: string;
}

const MIN_SECRET_LENGTH = 16;

/**
 * Reads the media server settings; null when `SFU_URL` is not set (group rooms then relay peer to
 * peer, as every room type did before Atrium had a media server). A set but unusable value is a
 * ConfigError naming the variable (the signaling answers it with 20500; nothing secret in it).
 * Parsed once per env object.
 */
export const sfuConfig: (env: Pick<Env, 'SFU_URL' | 'SFU_SECRET'>) => SfuConfig | null = perEnv((env) => {
  const raw = env.SFU_URL?.trim();
  if (!raw) return null;
  const servers: string[] = [];
  raw
    .split(',')
    .map((s) => s.trim())
    .forEach((part, i) => {
      if (!part) return; // `a,,b` or a trailing comma: nothing to place rooms on, nothing wrong either
      let url: URL;
      try {
        url = new URL(part);
      } catch {
        throw new ConfigError('SFU_URL', `entry ${i + 1} is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('SFU_URL', `entry ${i + 1} must be an http or https URL`);
      if (url.username || url.password) throw new ConfigError('SFU_URL', `entry ${i + 1} must not carry credentials (requests are signed with SFU_SECRET)`);
      servers.push(url.origin + url.pathname.replace(/\/+$/, ''));
    });
  if (servers.length === 0) return null;
  if (!env.SFU_SECRET) throw new ConfigError('SFU_SECRET', 'SFU_URL is set but SFU_SECRET is not');
  // The media server refuses to start with a shorter one (media-server/src/config.ts), so no server could match it.
  if (env.SFU_SECRET.length < MIN_SECRET_LENGTH) throw new ConfigError('SFU_SECRET', `it must be at least ${MIN_SECRET_LENGTH} characters, as the media server requires`);
  return { servers, secret: env.SFU_SECRET };
});
