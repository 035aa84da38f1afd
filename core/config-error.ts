import { TwilioError } from './errors';
import { logError } from './log';

/**
 * A deployment variable Atrium cannot use. `problem` says what is wrong with it and never quotes a
 * secret: it names positions, fields and sids, not tokens, secrets or credentials. It goes to the
 * operator's log only; clients get configFailure()'s 20500, which names the variable and nothing else.
 */
export class ConfigError extends Error {
  /** Set once the log line is written, so a bad value cached per env is logged once, not per request. */
  logged = false;

  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable} is invalid: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * What a client gets for a configuration error: Twilio's 20500, naming the variable and never its
 * value. Writes the one structured log line the first time it sees this error (core/log.ts):
 * `{"level":"error","event":"config-invalid",…,"code":20500,"message":"<VARIABLE> is invalid: <problem>","variable":…,"problem":…}`.
 */
export function configFailure(err: ConfigError): TwilioError {
  if (!err.logged) {
    err.logged = true;
    logError({ event: 'config-invalid', code: 20500, message: err.message, variable: err.variable, problem: err.problem });
  }
  return new TwilioError(20500, `Internal server error: the server is misconfigured (${err.variable})`, 500);
}

/**
 * Wraps a parser of the env so that it runs once per env object (bindings do not change during an
 * isolate's life): the value, or the ConfigError it threw, is kept, so a bad value stays bad and is
 * logged once. Anything else thrown is a bug, not configuration, and is not kept.
 */
export function perEnv<E extends object, T>(parse: (env: E) => T): (env: E) => T {
  const cache = new WeakMap<object, { value: T } | { error: ConfigError }>();
  return (env) => {
    let entry = cache.get(env);
    if (!entry) {
      try {
        entry = { value: parse(env) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        entry = { error: err };
      }
      cache.set(env, entry);
    }
    if ('error' in entry) throw entry.error;
    return entry.value;
  };
}

/**
 * A numeric knob: `fallback` when unset or empty, else a finite number written in plain decimals
 * (e.g. `0.5`) that `accepts`, or a ConfigError naming `name` with `problem`.
 */
export function configNumber(env: object, name: string, fallback: number, accepts: (value: number) => boolean, problem: string): number {
  const raw = (env as Record<string, unknown>)[name];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return fallback;
  const text = String(raw).trim();
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || !accepts(value)) throw new ConfigError(name, problem);
  return value;
}

/** A numeric knob that must be above zero (configNumber). */
export function positiveNumber(env: object, name: string, fallback: number): number {
  return configNumber(env, name, fallback, (v) => v > 0, 'it must be a positive number');
}

/**
 * `read()`, for code that must keep running whatever the configuration (a Room object's handlers):
 * a ConfigError is logged once (configFailure) and `fallback` used instead. The Worker's check
 * refuses every request while the value is bad, so this only covers what runs without it.
 */
export function orFallback<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    configFailure(err);
    return fallback;
  }
}

/**
 * The first member name that appears twice in one object of a valid JSON text, or null. JSON.parse
 * silently keeps the last of them, so `{"authToken":"old","authToken":"new"}` would hide a mistake.
 */
export function repeatedJsonField(json: string): string | null {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '{') stack.push(new Set());
    else if (ch === '[') stack.push(null);
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === '"') {
      const start = i;
      for (i++; i < json.length && json[i] !== '"'; i++) if (json[i] === '\\') i++;
      const top = stack[stack.length - 1];
      let next = i + 1;
      while (next < json.length && /\s/.test(json[next]!)) next++;
      // A string is a member name when a colon follows it.
      if (top && json[next] === ':') {
        const name = JSON.parse(json.slice(start, i + 1)) as string;
        if (top.has(name)) return name;
        top.add(name);
      }
    }
  }
  return null;
}
