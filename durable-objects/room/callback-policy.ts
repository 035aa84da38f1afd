/**
 * How status callbacks are retried. Production values are the defaults below; only the first
 * backoff step can be changed, through the CALLBACK_RETRY_BASE_MS var, so that end-to-end tests
 * can watch several retries in seconds without weakening anything else.
 */
export interface RetryPolicy {
  /** Backoff before the first retry; each further failure doubles it. */
  baseMs: number;
  /** Longest backoff between two attempts. */
  capMs: number;
  /** An attempt that has no response headers after this long counts as failed. */
  timeoutMs: number;
  /** An event still undelivered this long after it was queued is dropped on its next failure. */
  maxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  baseMs: 1_000,
  capMs: 10 * 60_000,
  timeoutMs: 10_000,
  maxAgeMs: 24 * 60 * 60_000,
};

/** The policy for this deployment: defaults, with CALLBACK_RETRY_BASE_MS if it is a positive integer. */
export function retryPolicyFromEnv(env: { CALLBACK_RETRY_BASE_MS?: string }): RetryPolicy {
  const raw = env.CALLBACK_RETRY_BASE_MS;
  const base = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  return { ...DEFAULT_RETRY_POLICY, baseMs: base > 0 ? base : DEFAULT_RETRY_POLICY.baseMs };
}

/**
 * Milliseconds to wait after the `failures`-th failed attempt (1 for the first): base·2^(failures−1)
 * capped at capMs, with "equal jitter" (a uniform pick in the upper half of that step). Jitter keeps
 * the rooms of one receiver that went down together from retrying in lockstep; keeping the lower
 * half out keeps the doubling meaningful.
 */
export function retryDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** What became of one delivery attempt. */
export type AttemptOutcome = 'delivered' | 'retry' | 'rejected';

/**
 * Classifies a receiver's HTTP status:
 * - 2xx acknowledges the event.
 * - 408, 429 and 5xx are transient: retried with backoff.
 * - Any other status (3xx, since redirects are not followed; other 4xx) is a permanent refusal:
 *   the event is dropped at once and logged. Retrying the same signed request cannot change a
 *   404/401/403/400, and because a room's events are delivered strictly in order, retrying it for
 *   24 hours would hold back every later event of that room. Twilio's webhooks likewise do not
 *   retry a client error by default. A redirect is not followed because the signature covers the
 *   original URL, so the new location could not validate it.
 */
export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}
