/**
 * Structured logs: one JSON object per line, which is what `wrangler tail --format json` and
 * Workers Logs show operators and let them filter by field (docs/robustness.md, "Logs").
 *
 * Every line has the same fields, null when not known, so that a query on one of them never has
 * to guess whether it is missing or empty:
 *
 *   {"level":"error","event":"deadline-failed","roomSid":"RM…","participantSid":null,"code":null,
 *    "message":"deadline reconnect:PA… failed (attempt 1); retrying in 1000 ms",
 *    "error":{"name":"TypeError","message":"…","stack":"TypeError: …\n    at …"},"key":"reconnect:PA…"}
 *
 * `code` is Twilio's error code when there is one (taken from the error when it carries a numeric
 * `code`); fields beyond the fixed ones (`key`, `attempt`, …) follow them. Logging never throws.
 */

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogFields {
  /** What happened, in kebab case: `deadline-failed`, `signaling-handler-failed`, `callback-dropped`, … */
  event: string;
  roomSid?: string | null;
  participantSid?: string | null;
  /** Twilio's error code; defaults to the error's own numeric `code`, if it has one. */
  code?: number | null;
  /** A sentence for humans; defaults to the error's message. */
  message?: string;
  /** The thrown value, if any: its name, message and the first lines of its stack are logged. */
  error?: unknown;
  /** Anything else worth filtering on (a deadline key, an attempt count, a URL). */
  [field: string]: unknown;
}

/** Stack lines kept: enough to find the throw, short enough to read in a tail. */
const STACK_LINES = 6;

export function logError(fields: LogFields): void {
  write('error', fields);
}

export function logWarn(fields: LogFields): void {
  write('warn', fields);
}

export function logInfo(fields: LogFields): void {
  write('info', fields);
}

/** The line `logError` and friends print, for tests and for callers that print elsewhere. */
export function formatLog(level: LogLevel, fields: LogFields): string {
  const { event, roomSid, participantSid, code, message, error, ...extra } = fields;
  const err = describeError(error);
  const line: Record<string, unknown> = {
    level,
    event,
    roomSid: roomSid ?? null,
    participantSid: participantSid ?? null,
    code: code ?? errorCode(error) ?? null,
    message: message ?? err?.message ?? event,
  };
  if (err) line.error = err;
  for (const [k, v] of Object.entries(extra)) if (!(k in line) && v !== undefined) line[k] = v;
  try {
    return JSON.stringify(line);
  } catch {
    // Something in `extra` cannot be serialized (a cycle, a BigInt): keep the fixed fields.
    const { level: l, event: e, roomSid: r, participantSid: p, code: c, message: m } = line;
    return JSON.stringify({ level: l, event: e, roomSid: r, participantSid: p, code: c, message: m, error: err ?? undefined });
  }
}

function write(level: LogLevel, fields: LogFields): void {
  try {
    const line = formatLog(level, fields);
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  } catch {
    // A log line must never be the reason a handler fails.
  }
}

function describeError(error: unknown): { name: string; message: string; stack?: string } | null {
  if (error === undefined || error === null) return null;
  if (error instanceof Error) {
    const stack = typeof error.stack === 'string' ? error.stack.split('\n').slice(0, STACK_LINES).join('\n') : undefined;
    return { name: error.name, message: error.message, ...(stack ? { stack } : {}) };
  }
  let text: string;
  try {
    text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    text = String(error);
  }
  return { name: typeof error, message: text };
}

function errorCode(error: unknown): number | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && Number.isInteger(code) ? code : null;
}
