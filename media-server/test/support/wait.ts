/** Bounded waiting for asynchronous conditions: every wait in the suite ends, with a message saying what did not happen. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` until it returns something truthy, and resolves with it. After `timeoutMs` it
 * rejects with `what` and, if given, `detail()` (the state that did not change, for the failure report).
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; detail?: () => unknown } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = opts.detail ? `\n  state: ${safeJson(opts.detail())}` : '';
      const cause = lastError ? `\n  last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}${cause}`);
    }
    await sleep(opts.intervalMs ?? 20);
  }
}

/** Rejects with `what` if `promise` does not settle within `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function safeJson(v: unknown): string {
  try {
    const text = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Map ? Object.fromEntries(x) : x instanceof Set ? [...x] : x));
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  } catch {
    return String(v);
  }
}
