import type { Env } from '../../env';

/** An entry of RTCConfiguration.iceServers, as the client's `iced` message carries them. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** How long minted TURN credentials stay valid. */
const TURN_CREDENTIAL_TTL_S = 24 * 60 * 60;

const encoder = new TextEncoder();

/**
 * ICE servers for a participant: the static `ICE_SERVERS` list (JSON) plus, when `TURN_SECRET`
 * and `TURN_URLS` are set, time-limited TURN credentials in the TURN REST API scheme that coturn's
 * `use-auth-secret` accepts: username `<expiry>:<identity>`, credential base64(HMAC-SHA1(secret, username)).
 */
export async function iceServersFor(env: Env, identity: string, nowMs = Date.now()): Promise<IceServer[]> {
  const servers: IceServer[] = [];
  if (env.ICE_SERVERS) {
    try {
      const parsed = JSON.parse(env.ICE_SERVERS) as unknown;
      if (Array.isArray(parsed)) servers.push(...(parsed as IceServer[]));
    } catch {
      console.error('ICE_SERVERS is not valid JSON; ignoring it');
    }
  }
  if (env.TURN_SECRET && env.TURN_URLS) {
    const username = `${Math.floor(nowMs / 1000) + TURN_CREDENTIAL_TTL_S}:${identity}`;
    servers.push({
      urls: env.TURN_URLS.split(',').map((u) => u.trim()).filter(Boolean),
      username,
      credential: await turnCredential(env.TURN_SECRET, username),
    });
  }
  return servers;
}

export async function turnCredential(secret: string, username: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(username)));
  let binary = '';
  for (const b of mac) binary += String.fromCharCode(b);
  return btoa(binary);
}
