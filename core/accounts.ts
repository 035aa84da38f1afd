import type { Vars } from './vars';
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

export class Accounts {
  private readonly bySid = new Map<string, Account>();
  private readonly byKey = new Map<string, Account>();

  constructor(env: Pick<Vars, 'ACCOUNT_SID' | 'AUTH_TOKEN' | 'API_KEY_SID' | 'API_KEY_SECRET' | 'ACCOUNTS'>) {
    this.add({
      accountSid: env.ACCOUNT_SID,
      authToken: env.AUTH_TOKEN,
      apiKeys: [{ sid: env.API_KEY_SID, secret: env.API_KEY_SECRET }],
    });
    if (env.ACCOUNTS) {
      let extra: unknown;
      try {
        extra = JSON.parse(env.ACCOUNTS);
      } catch {
        throw new Error('ACCOUNTS is not valid JSON');
      }
      if (!Array.isArray(extra)) throw new Error('ACCOUNTS must be a JSON array');
      for (const entry of extra as AccountConfig[]) this.add(entry);
    }
  }

  private add(config: AccountConfig): void {
    if (!config || !isSid(config.accountSid ?? '', 'AC') || typeof config.authToken !== 'string' || !config.authToken) {
      throw new Error(`account ${String(config?.accountSid)}: accountSid (AC…) and authToken are required`);
    }
    const account: Account = { sid: config.accountSid, authToken: config.authToken, apiKeys: new Map() };
    for (const key of config.apiKeys ?? []) {
      if (!isSid(key.sid ?? '', 'SK') || typeof key.secret !== 'string' || !key.secret) {
        throw new Error(`account ${config.accountSid}: API key ${String(key.sid)} needs an SK… sid and a secret`);
      }
      account.apiKeys.set(key.sid, key.secret);
      this.byKey.set(key.sid, account);
    }
    this.bySid.set(account.sid, account);
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

const cache = new WeakMap<object, Accounts>();

/** Accounts parsed once per env object (bindings do not change during an isolate's life). */
export function accountsOf(env: Vars): Accounts {
  let accounts = cache.get(env);
  if (!accounts) {
    accounts = new Accounts(env);
    cache.set(env, accounts);
  }
  return accounts;
}
