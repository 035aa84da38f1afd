import { ConfigError, perEnv } from '../../core/config-error';
import type { Vars } from '../../core/vars';
import type { Env } from '../../durable-objects/env';

/** PUBLIC_BASE_URL without trailing slashes, null when unset; an absolute http(s) URL with no query, fragment or credentials. */
export const publicBaseUrl: (env: Pick<Vars, 'PUBLIC_BASE_URL'>) => string | null = perEnv((env) => {
  const configured = env.PUBLIC_BASE_URL?.trim();
  if (!configured) return null;
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new ConfigError('PUBLIC_BASE_URL', 'it is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('PUBLIC_BASE_URL', 'it must be an http or https URL');
  if (url.search || url.hash || url.username || url.password) throw new ConfigError('PUBLIC_BASE_URL', 'it must have no query, fragment or credentials');
  return configured.replace(/\/+$/, '');
});

/**
 * The origin resource URLs are built on: PUBLIC_BASE_URL when a proxy hides the public host,
 * else the origin the request came to. twilio-node follows these URLs verbatim when paging.
 */
export function baseUrl(c: { env: Env; req: { url: string } }): string {
  return publicBaseUrl(c.env) ?? new URL(c.req.url).origin;
}
