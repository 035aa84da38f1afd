import { TwilioError } from '../../core/errors';
import type { Params } from '../../core/form';

/** ISO 8601 UTC without milliseconds, as Twilio writes dates: 2015-07-30T20:00:00Z. */
export function isoDate(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The `DateCreatedAfter` / `DateCreatedBefore` filters of a list, parsed, and as given (for page URLs). */
export function readCreatedRange(params: Params): { createdAfter?: number; createdBefore?: number; filters: [string, string][] } {
  const after = params.get('DateCreatedAfter');
  const before = params.get('DateCreatedBefore');
  const filters: [string, string][] = [];
  if (after) filters.push(['DateCreatedAfter', after]);
  if (before) filters.push(['DateCreatedBefore', before]);
  return {
    createdAfter: after ? parseDateParam('DateCreatedAfter', after) : undefined,
    createdBefore: before ? parseDateParam('DateCreatedBefore', before) : undefined,
    filters,
  };
}

/** Reads a date filter: `YYYY-MM-DD` or a full ISO 8601 date-time (twilio-node sends the latter). */
export function parseDateParam(name: string, raw: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?)?$/.exec(raw);
  const ms = m ? Date.parse(m[4] === undefined ? `${raw}T00:00:00Z` : m[7] ? raw : `${raw}Z`) : NaN;
  if (!Number.isFinite(ms)) throw new TwilioError(70002, `${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time`);
  return ms;
}
