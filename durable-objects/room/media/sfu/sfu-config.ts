import { TwilioError } from '../../../../core/errors';
import type { Env } from '../../../env';

/** The media servers group rooms use, from `SFU_URL` and `SFU_SECRET`. */
export interface SfuConfig {
  /** Base URLs, in the order configured: a room is placed on one and moves on when it is gone. */
  servers: string[];
  /** Shared secret that signs control requests (core/control-signature.ts). */
  secret: string;
}

/**
 * Reads the media server settings; null when `SFU_URL` is not set (group rooms then relay peer to
 * peer, as every room type did before Atrium had a media server). A set but unusable value is an
 * error that names the variable (Twilio's 53000 to a connecting client; nothing secret in it).
 */
export function sfuConfig(env: Pick<Env, 'SFU_URL' | 'SFU_SECRET'>): SfuConfig | null {
  const raw = env.SFU_URL?.trim();
  if (!raw) return null;
  const servers: string[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw configError(`SFU_URL entry '${part.slice(0, 100)}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError(`SFU_URL entry '${part.slice(0, 100)}' must be http(s)`);
    servers.push(url.origin + url.pathname.replace(/\/+$/, ''));
  }
  if (servers.length === 0) return null;
  if (!env.SFU_SECRET) throw configError('SFU_URL is set but SFU_SECRET is not');
  return { servers, secret: env.SFU_SECRET };
}

function configError(why: string): TwilioError {
  console.error(JSON.stringify({ event: 'config-invalid', variable: why.startsWith('SFU_URL is set') ? 'SFU_SECRET' : 'SFU_URL', problem: why }));
  return new TwilioError(53000, `Media server configuration is invalid: ${why}`, 500);
}
