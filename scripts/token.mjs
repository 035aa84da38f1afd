#!/usr/bin/env node
/**
 * Prints a Twilio Video access token for the local account:
 *
 *   npm run token -- --identity alice [--room demo] [--ttl 3600]
 *
 * Credentials come from wrangler.toml's [vars] (the ones `wrangler dev` serves), each overridable
 * by an environment variable of the same name: ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET.
 *
 * Plain JavaScript on node:crypto so it runs on a bare Node without a TypeScript loader. It signs
 * exactly what core/tokens/mint-token.ts signs (and so what twilio-node's AccessToken signs);
 * the Node compatibility test holds the three byte-identical.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAX_TTL_SECONDS = 86_400;
const CREDENTIALS = ['ACCOUNT_SID', 'API_KEY_SID', 'API_KEY_SECRET'];

const base64url = (text) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * @param {{accountSid: string, apiKeySid: string, apiKeySecret: string, identity: string,
 *   room?: string, ttlSeconds?: number, nowSeconds?: number, algorithm?: 'HS256'|'HS384'|'HS512'}} o
 * @returns {string}
 */
export function mintToken(o) {
  const ttl = o.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new RangeError(`ttl must be an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (!o.identity) throw new TypeError('identity is required');
  if (!o.accountSid || !o.apiKeySid || !o.apiKeySecret) {
    throw new TypeError('accountSid, apiKeySid and apiKeySecret are required');
  }
  const algorithm = o.algorithm ?? 'HS256';
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);
  // Same key order as twilio-node + jsonwebtoken; see mint-token.ts for why each is where it is.
  const header = { alg: algorithm, typ: 'JWT', cty: 'twilio-fpa;v=1' };
  const payload = {
    jti: `${o.apiKeySid}-${now}`,
    grants: { identity: o.identity, video: o.room ? { room: o.room } : {} },
    iat: now,
    exp: now + ttl,
    iss: o.apiKeySid,
    sub: o.accountSid,
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = createHmac(`sha${algorithm.slice(2)}`, o.apiKeySecret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/**
 * The `KEY = "value"` lines of the top-level [vars] table. Only the subset of TOML wrangler.toml
 * uses there: basic strings with simple escapes, trailing comments; enough without a TOML library.
 * @param {string} toml
 * @returns {Record<string, string>}
 */
export function readVars(toml) {
  const vars = {};
  let inVars = false;
  for (const raw of toml.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inVars = line === '[vars]';
      continue;
    }
    if (!inVars) continue;
    const match = /^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(line);
    if (match) vars[match[1]] = JSON.parse(`"${match[2]}"`);
  }
  return vars;
}

function main() {
  const { values } = parseArgs({
    options: {
      identity: { type: 'string' },
      room: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const usage = 'usage: npm run token -- --identity <identity> [--room <room name>] [--ttl <seconds, default 3600>]';
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!values.identity) throw new Error(`--identity is required\n${usage}`);
  const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);

  const toml = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'wrangler.toml'), 'utf8');
  const vars = readVars(toml);
  const [accountSid, apiKeySid, apiKeySecret] = CREDENTIALS.map((name) => {
    const value = process.env[name] || vars[name];
    if (!value) throw new Error(`${name} is neither in the environment nor in wrangler.toml [vars]`);
    return value;
  });
  console.log(mintToken({ accountSid, apiKeySid, apiKeySecret, identity: values.identity, room: values.room, ttlSeconds }));
}

// Run only as a program, not when a test imports mintToken.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
