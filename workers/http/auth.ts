import type { MiddlewareHandler } from 'hono';
import type { Account } from '../../core/accounts';
import { accountsOf } from '../../core/accounts';
import type { Env } from '../../durable-objects/env';
import { TwilioError } from '../../core/errors';
import { secretsEqual } from '../../core/secure-compare';
import { authBlocks, clientAddress, failureOverLimit, TOO_MANY_AUTH_FAILURES, tooManyRequests } from '../../core/rate-limit';

export interface AuthVariables {
  account: Account;
}

/**
 * HTTP Basic auth as Twilio does it: `AccountSid:AuthToken` or `ApiKeySid:ApiKeySecret`.
 * Anything else is 401 with code 20003. The matched account scopes the rest of the request.
 *
 * Credentials that fail count against AUTH_FAILURES for the client's address (a request with no
 * Authorization header at all guesses nothing and is not counted). The failure that goes over the
 * limit, and every request from that address while it is blocked, is 429 with code 20429.
 */
export const basicAuth: MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> = async (c, next) => {
  const address = clientAddress(c.req.raw.headers);
  const blocked = authBlocks.remaining(address);
  if (blocked > 0) {
    c.header('Retry-After', String(blocked));
    throw tooManyRequests(TOO_MANY_AUTH_FAILURES);
  }
  const header = c.req.header('authorization');
  const account = await authenticate(c.env, header);
  if (!account) {
    if (header !== undefined && (await failureOverLimit(c.env, 'AUTH_FAILURES', authBlocks, address))) {
      c.header('Retry-After', String(authBlocks.remaining(address)));
      throw tooManyRequests(TOO_MANY_AUTH_FAILURES);
    }
    c.header('WWW-Authenticate', 'Basic realm="Atrium"');
    throw new TwilioError(20003, 'Authentication failed: use HTTP Basic with AccountSid:AuthToken or ApiKeySid:ApiKeySecret');
  }
  c.set('account', account);
  await next();
};

async function authenticate(env: Env, header: string | undefined): Promise<Account | undefined> {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const accounts = accountsOf(env);
  const byAccount = accounts.byAccountSid(user);
  if (byAccount) return (await secretsEqual(password, byAccount.authToken)) ? byAccount : undefined;
  const byKey = accounts.byApiKeySid(user);
  const secret = byKey?.apiKeys.get(user);
  if (byKey && secret !== undefined) return (await secretsEqual(password, secret)) ? byKey : undefined;
  // Unknown user: still spend a comparison so the response time does not reveal which sids exist.
  await secretsEqual(password, 'x');
  return undefined;
}
