import { ConfigError, perEnv, repeatedJsonField } from '../../../core/config-error';
import type { Vars } from '../../../core/vars';
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

/** The ICE settings, checked: `ICE_SERVERS` and the TURN server whose credentials are minted. */
export interface IceConfig {
  servers: IceServer[];
  turn: { secret: string; urls: string[] } | null;
}

const ICE_URL = /^stun:\S+$|^turns?:\S+$/;
const TURN_URL = /^turns?:\S+$/;
const SERVER_FIELDS = ['urls', 'username', 'credential'];

/**
 * Reads `ICE_SERVERS` (a JSON array of RTCIceServer entries: `urls` a string or a non-empty array of
 * `stun:`, `turn:` or `turns:` URLs; `username` and `credential` strings, both required by browsers
 * for TURN URLs) and `TURN_SECRET` with `TURN_URLS` (set together, `turn:`/`turns:` URLs). Once per
 * env object; a bad value is a ConfigError that quotes no credential.
 */
export const iceConfig: (env: Pick<Vars, 'ICE_SERVERS' | 'TURN_SECRET' | 'TURN_URLS'>) => IceConfig = perEnv((env) => {
  const servers: IceServer[] = [];
  if (env.ICE_SERVERS) {
    const bad = (problem: string) => new ConfigError('ICE_SERVERS', problem);
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.ICE_SERVERS);
    } catch {
      throw bad('it is not valid JSON'); // JSON.parse's message would quote the credentials
    }
    if (!Array.isArray(parsed)) throw bad('it must be a JSON array of RTCIceServer objects');
    const repeated = repeatedJsonField(env.ICE_SERVERS);
    if (repeated !== null) throw bad(`an entry has the field '${repeated.slice(0, 40)}' twice`);
    parsed.forEach((entry: unknown, i) => {
      const at = `entry ${i + 1}`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(`${at} must be an object`);
      const server = entry as Record<string, unknown>;
      const unknown = Object.keys(server).find((k) => !SERVER_FIELDS.includes(k));
      if (unknown !== undefined) throw bad(`${at} has an unknown field '${unknown.slice(0, 40)}' (use ${SERVER_FIELDS.join(', ')})`);
      const urls = typeof server.urls === 'string' ? [server.urls] : server.urls;
      if (!Array.isArray(urls) || urls.length === 0) throw bad(`${at}: urls must be a URL or a non-empty array of URLs`);
      urls.forEach((url: unknown, u) => {
        if (typeof url !== 'string' || !ICE_URL.test(url)) throw bad(`${at}: URL ${u + 1} must start with stun:, turn: or turns:`);
      });
      for (const field of ['username', 'credential'] as const) {
        if (server[field] !== undefined && typeof server[field] !== 'string') throw bad(`${at}: ${field} must be a string`);
      }
      if ((urls as string[]).some((u) => TURN_URL.test(u)) && (server.username === undefined || server.credential === undefined)) {
        throw bad(`${at}: TURN URLs need a username and a credential (browsers refuse them without)`);
      }
      servers.push(server as unknown as IceServer);
    });
  }
  let turn: IceConfig['turn'] = null;
  const secret = env.TURN_SECRET || undefined;
  const urlList = env.TURN_URLS ? env.TURN_URLS.split(',').map((u) => u.trim()) : undefined;
  if (secret && !urlList) throw new ConfigError('TURN_URLS', 'TURN_SECRET is set but TURN_URLS is not: set both or neither');
  if (urlList && !secret) throw new ConfigError('TURN_SECRET', 'TURN_URLS is set but TURN_SECRET is not: set both or neither');
  if (secret && urlList) {
    urlList.forEach((url, i) => {
      if (!url) throw new ConfigError('TURN_URLS', `entry ${i + 1} is empty`);
      if (!TURN_URL.test(url)) throw new ConfigError('TURN_URLS', `entry ${i + 1} must start with turn: or turns:`);
    });
    turn = { secret, urls: urlList };
  }
  return { servers, turn };
});

/**
 * ICE servers for a participant: the static `ICE_SERVERS` list plus, when `TURN_SECRET` and
 * `TURN_URLS` are set, time-limited TURN credentials in the TURN REST API scheme that coturn's
 * `use-auth-secret` accepts: username `<expiry>:<identity>`, credential base64(HMAC-SHA1(secret, username)).
 * A bad setting throws its ConfigError (the signaling answers it with 20500).
 */
export async function iceServersFor(env: Env, identity: string, nowMs = Date.now()): Promise<IceServer[]> {
  const { servers, turn } = iceConfig(env);
  const result = [...servers];
  if (turn) {
    const username = `${Math.floor(nowMs / 1000) + TURN_CREDENTIAL_TTL_S}:${identity}`;
    result.push({ urls: turn.urls, username, credential: await turnCredential(turn.secret, username) });
  }
  return result;
}

export async function turnCredential(secret: string, username: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(username)));
  let binary = '';
  for (const b of mac) binary += String.fromCharCode(b);
  return btoa(binary);
}
