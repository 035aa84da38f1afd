import { positiveNumber } from './config-error';
import { TwilioError } from './errors';
import { logWarn } from './log';
import type { Vars } from './vars';

/**
 * Limits per client address, on Cloudflare's Workers Rate Limiting bindings (wrangler.toml
 * `[[ratelimits]]`; docs/accounts.md, "Limits"). A limiter's `limit()` spends one unit, so only
 * failures are counted: AUTH_FAILURES for REST Basic auth, TOKEN_FAILURES for access tokens at
 * signaling; SIGNALING_UPGRADES counts every signaling upgrade. An address that goes over a failure
 * limit is blocked in this isolate for RATE_LIMIT_BLOCK_SECONDS: every attempt it makes meanwhile,
 * with right credentials or wrong, is answered 429, so a guesser cannot tell which guess was right.
 *
 * Requests without a client address (no CF-Connecting-IP: the test pool calling the Worker
 * directly) are not limited; Cloudflare sets it on every request in production, and `wrangler dev`
 * sets it to the connecting peer's address. A limiter that fails lets the request through.
 */

/** Most addresses a block list holds; past it, expired entries go first, then the oldest block. */
const MAX_BLOCKED = 10_000;
/** How long an address over a failure limit is refused when RATE_LIMIT_BLOCK_SECONDS is unset. */
export const DEFAULT_BLOCK_SECONDS = 60;

/** A Workers Rate Limiting binding, as far as this file uses it (the Worker's and the objects' env hold them). */
export interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The bindings and variables the limits read. */
export type LimitEnv = Vars & Partial<Record<LimitName, Limiter>>;

export type LimitName = 'AUTH_FAILURES' | 'TOKEN_FAILURES' | 'SIGNALING_UPGRADES';

/** Addresses blocked in this isolate, each until a time; bounded in size. */
export class BlockList {
  private readonly until = new Map<string, number>();

  constructor(private readonly max = MAX_BLOCKED) {}

  /** Whole seconds left of `key`'s block, 0 when it is not blocked (or has no address). */
  remaining(key: string | null, now = Date.now()): number {
    if (key === null) return 0;
    const end = this.until.get(key);
    if (end === undefined) return 0;
    if (end <= now) {
      this.until.delete(key);
      return 0;
    }
    return Math.ceil((end - now) / 1000);
  }

  block(key: string, end: number, now = Date.now()): void {
    this.until.delete(key); // re-inserted last: the Map's order stays the order blocks end in
    if (this.until.size >= this.max) {
      for (const [k, e] of this.until) if (e <= now) this.until.delete(k);
      while (this.until.size >= this.max) this.until.delete(this.until.keys().next().value as string);
    }
    this.until.set(key, end);
  }

  get size(): number {
    return this.until.size;
  }
}

/** Blocked for REST authentication (the Worker's basic auth). */
export const authBlocks = new BlockList();
/** Blocked for access tokens: the Room objects refuse their tokens, the Worker their upgrades. */
export const tokenBlocks = new BlockList();

/**
 * The address limits are counted by: `CF-Connecting-IP`, with an IPv6 address reduced to its /64
 * (one subscriber is usually given a whole /64, so counting single addresses would not limit
 * anyone). Null when the request has none.
 */
export function clientAddress(headers: Headers): string | null {
  const raw = headers.get('cf-connecting-ip')?.trim();
  if (!raw) return null;
  if (!raw.includes(':')) return raw.slice(0, 64);
  return ipv6Prefix(raw) ?? raw.slice(0, 64).toLowerCase();
}

/** `2001:db8:a:b::1` → `2001:db8:a:b::/64`; an IPv4-mapped address → the IPv4 address; null if not IPv6. */
export function ipv6Prefix(address: string): string | null {
  const a = address.split('%')[0]!.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!;
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string | undefined) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const all = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** What the 429s say was too much. */
export const TOO_MANY_AUTH_FAILURES = 'too many failed authentications';
export const TOO_MANY_TOKEN_FAILURES = 'too many refused access tokens';
export const TOO_MANY_UPGRADES = 'too many signaling connections';

/** Twilio's 429 for an address over a limit. */
export function tooManyRequests(what: string): TwilioError {
  return new TwilioError(20429, `Too Many Requests: ${what} from this address; try again later`, 429);
}

/** Spends one unit of `name` for `key`; false when the address is over the limit. No binding or no address: true. */
export async function withinLimit(env: LimitEnv, name: LimitName, key: string | null): Promise<boolean> {
  const limiter = env[name];
  if (!limiter || key === null) return true;
  try {
    return (await limiter.limit({ key })).success;
  } catch (err) {
    // The limiter is a safeguard; if it is unavailable, serving the request beats refusing everyone.
    logWarn({ event: 'rate-limit-unavailable', message: `rate limiter ${name} failed; the request is let through`, limit: name, error: err });
    return true;
  }
}

/**
 * Counts one failure of `key` against `name`. When that puts the address over the limit, it is
 * blocked in `blocks` for RATE_LIMIT_BLOCK_SECONDS (logged once per block) and true is returned.
 */
export async function failureOverLimit(env: LimitEnv, name: LimitName, blocks: BlockList, key: string | null): Promise<boolean> {
  if (key === null || (await withinLimit(env, name, key))) return false;
  const seconds = positiveNumber(env, 'RATE_LIMIT_BLOCK_SECONDS', DEFAULT_BLOCK_SECONDS);
  if (blocks.remaining(key) === 0) {
    logWarn({ event: 'rate-limited', code: 20429, message: `${key} went over ${name}; refused for ${seconds} s`, limit: name, address: key, blockSeconds: seconds });
  }
  blocks.block(key, Date.now() + seconds * 1000);
  return true;
}
