import type { Env } from '../../durable-objects/env';

/**
 * The origin resource URLs are built on: PUBLIC_BASE_URL when a proxy hides the public host,
 * else the origin the request came to. twilio-node follows these URLs verbatim when paging.
 */
export function baseUrl(c: { env: Env; req: { url: string } }): string {
  const configured = c.env.PUBLIC_BASE_URL;
  if (configured) return configured.replace(/\/+$/, '');
  return new URL(c.req.url).origin;
}
