import type { Vars } from './vars';
import { ConfigError, perEnv, repeatedJsonField } from './config-error';
import { isSid } from './sids';

/** One account this deployment serves: its sid, auth token and API keys. */
export interface Account {
  /** AC… sid; scopes every room, lookup and list. */
  sid: string;
  /** Basic auth password for the account sid; signs status callbacks. */
  authToken: string;
  /** API key sid (SK…) → secret: Basic auth and access token signing keys. */
  apiKeys: Map<string, string>;
}

/** Shape of one entry of the optional `ACCOUNTS` JSON secret. */
interface AccountConfig {
  accountSid: string;
  authToken: string;
  apiKeys?: { sid: string; secret: string }[];
}

/** The fields an `ACCOUNTS` entry may have; anything else is a typo that would silently drop keys. */
const ENTRY_FIELDS = ['accountSid', 'authToken', 'apiKeys'];

/**
 * The accounts this deployment serves: the default one (ACCOUNT_SID, AUTH_TOKEN, API_KEY_SID,
 * API_KEY_SECRET) and the optional `ACCOUNTS` JSON. Every value is checked; a bad one is a
 * ConfigError naming its variable (never quoting a secret), and so is an account sid or API key sid
 * configured twice, which would make one account's credentials shadow another's.
 */
export class Accounts {
  private readonly bySid = new Map<string, Account>();
  private readonly byKey = new Map<string, Account>();
  /** Every account and API key sid configured so far, lowercased: duplicates are refused. */
  private readonly seen = new Set<string>();

  constructor(env: Pick<Vars, 'ACCOUNT_SID' | 'AUTH_TOKEN' | 'API_KEY_SID' | 'API_KEY_SECRET' | 'ACCOUNTS'>) {
    if (typeof env.ACCOUNT_SID !== 'string' || !isSid(env.ACCOUNT_SID, 'AC')) throw new ConfigError('ACCOUNT_SID', 'it must be AC followed by 32 hex digits');
    if (typeof env.AUTH_TOKEN !== 'string' || !env.AUTH_TOKEN) throw new ConfigError('AUTH_TOKEN', 'it must be set and not empty');
    if (typeof env.API_KEY_SID !== 'string' || !isSid(env.API_KEY_SID, 'SK')) throw new ConfigError('API_KEY_SID', 'it must be SK followed by 32 hex digits');
    if (typeof env.API_KEY_SECRET !== 'string' || !env.API_KEY_SECRET) throw new ConfigError('API_KEY_SECRET', 'it must be set and not empty');
    this.add(env.ACCOUNT_SID, env.AUTH_TOKEN, [[env.API_KEY_SID, env.API_KEY_SECRET]], 'the default account');
    if (env.ACCOUNTS !== undefined && env.ACCOUNTS !== '') {
      let extra: unknown;
      try {
        extra = JSON.parse(env.ACCOUNTS);
      } catch {
        // JSON.parse's message quotes the input, which holds secrets: say only that it failed.
        throw new ConfigError('ACCOUNTS', 'it is not valid JSON');
      }
      const repeated = repeatedJsonField(env.ACCOUNTS);
      if (repeated !== null) throw new ConfigError('ACCOUNTS', `an object has the field '${repeated.slice(0, 40)}' twice (JSON keeps only the last)`);
      if (!Array.isArray(extra)) throw new ConfigError('ACCOUNTS', 'it must be a JSON array of accounts');
      extra.forEach((entry, i) => this.addEntry(entry, i + 1));
    }
  }

  /** One `ACCOUNTS` entry (`n` counts from 1), checked field by field. */
  private addEntry(entry: unknown, n: number): void {
    const bad = (problem: string) => new ConfigError('ACCOUNTS', `entry ${n}: ${problem}`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad('it must be an object');
    const config = entry as Partial<AccountConfig> & Record<string, unknown>;
    const unknown = Object.keys(config).find((k) => !ENTRY_FIELDS.includes(k));
    if (unknown !== undefined) throw bad(`unknown field '${unknown.slice(0, 40)}' (use ${ENTRY_FIELDS.join(', ')})`);
    if (typeof config.accountSid !== 'string' || !isSid(config.accountSid, 'AC')) throw bad('accountSid must be AC followed by 32 hex digits');
    if (typeof config.authToken !== 'string' || !config.authToken) throw bad(`authToken of ${config.accountSid} must be a non-empty string`);
    const keys = config.apiKeys ?? [];
    if (!Array.isArray(keys)) throw bad(`apiKeys of ${config.accountSid} must be an array`);
    const pairs = keys.map((key: unknown, k): [string, string] => {
      const { sid, secret } = (typeof key === 'object' && key !== null ? key : {}) as { sid?: unknown; secret?: unknown };
      if (typeof sid !== 'string' || !isSid(sid, 'SK')) throw bad(`API key ${k + 1} of ${config.accountSid}: sid must be SK followed by 32 hex digits`);
      if (typeof secret !== 'string' || !secret) throw bad(`API key ${sid} of ${config.accountSid}: secret must be a non-empty string`);
      return [sid, secret];
    });
    this.add(config.accountSid, config.authToken, pairs, `entry ${n}`);
  }

  /** Adds a checked account; a sid already configured (in the default account or an earlier entry) is a ConfigError. */
  private add(sid: string, authToken: string, keys: [string, string][], where: string): void {
    // Compared without case: AC…0A and AC…0a would be the same account to anyone reading the config.
    if (this.seen.has(sid.toLowerCase())) throw new ConfigError('ACCOUNTS', `${where}: account ${sid} is configured twice`);
    this.seen.add(sid.toLowerCase());
    const account: Account = { sid, authToken, apiKeys: new Map() };
    for (const [keySid, secret] of keys) {
      if (this.seen.has(keySid.toLowerCase())) throw new ConfigError('ACCOUNTS', `${where}: API key ${keySid} is configured twice`);
      this.seen.add(keySid.toLowerCase());
      account.apiKeys.set(keySid, secret);
      this.byKey.set(keySid, account);
    }
    this.bySid.set(sid, account);
  }

  /** The default account: the one the four ACCOUNT_SID… bindings configure. */
  get default(): Account {
    return this.bySid.values().next().value as Account;
  }

  byAccountSid(sid: string): Account | undefined {
    return this.bySid.get(sid);
  }

  byApiKeySid(sid: string): Account | undefined {
    return this.byKey.get(sid);
  }
}

/**
 * Accounts parsed once per env object (bindings do not change during an isolate's life). A bad
 * value throws the same ConfigError on every call, so it is logged once (configFailure).
 */
export const accountsOf: (env: Vars) => Accounts = perEnv((env: Vars) => new Accounts(env));
