import { TwilioError } from '../../core/errors';
import type { Params } from '../../core/form';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface Paging {
  pageSize: number;
  page: number;
  /** Decoded PageToken: the last row of the previous page. */
  after?: { dateCreated: number; sid: string };
}

/** Reads Twilio's `PageSize`, `Page` and `PageToken`. */
export function readPaging(params: Params): Paging {
  const pageSize = intParam(params, 'PageSize', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const page = intParam(params, 'Page', 0, 0, 1_000_000);
  const token = params.get('PageToken');
  return { pageSize, page, after: token ? decodePageToken(token) : undefined };
}

function intParam(params: Params, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new TwilioError(70002, `${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

/** Where an item sits in its list: the keys a PageToken carries. */
export interface Cursor {
  dateCreated: number;
  sid: string;
}

/**
 * Splits rows fetched with one extra (pageSize + 1) into the page to serve and the token of the
 * page after it (null when this is the last page).
 */
export function splitPage<T>(rows: readonly T[], paging: Paging, cursorOf: (row: T) => Cursor): { page: T[]; nextToken: string | null } {
  const page = rows.slice(0, paging.pageSize);
  const last = page[page.length - 1];
  const nextToken = rows.length > paging.pageSize && last ? encodePageToken(cursorOf(last).dateCreated, cursorOf(last).sid) : null;
  return { page, nextToken };
}

/** PageToken: "PA" + base64url("<dateCreated>:<sid>") of the last row served. */
export function encodePageToken(dateCreated: number, sid: string): string {
  return 'PA' + btoa(`${dateCreated}:${sid}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodePageToken(token: string): { dateCreated: number; sid: string } {
  const bad = new TwilioError(70002, 'PageToken is invalid');
  if (!/^PA[A-Za-z0-9_-]{1,200}$/.test(token)) throw bad;
  let text: string;
  try {
    text = atob(token.slice(2).replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw bad;
  }
  const m = /^(\d{1,15}):([A-Za-z]{2}[0-9a-f]{32})$/.exec(text);
  if (!m) throw bad;
  return { dateCreated: Number(m[1]), sid: m[2]! };
}

/**
 * Twilio's list envelope. URLs are absolute on this server: twilio-node follows
 * `meta.next_page_url` verbatim.
 */
export function pageEnvelope<T>(opts: {
  key: string;
  items: T[];
  /** Absolute URL of the list without a query, e.g. https://host/v1/Rooms. */
  listUrl: string;
  /** Filters to repeat in every page URL, in order. */
  filters: [string, string][];
  paging: Paging;
  /** Cursor of the page after this one, or null on the last page. */
  nextToken: string | null;
}): Record<string, unknown> {
  const { key, items, listUrl, filters, paging, nextToken } = opts;
  const url = (page: number, token?: string): string => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(paging.pageSize));
    q.set('Page', String(page));
    if (token) q.set('PageToken', token);
    return `${listUrl}?${q.toString()}`;
  };
  return {
    [key]: items,
    meta: {
      page: paging.page,
      page_size: paging.pageSize,
      first_page_url: url(0),
      previous_page_url: paging.page > 0 ? url(paging.page - 1) : null,
      url: url(paging.page, paging.after ? encodePageToken(paging.after.dateCreated, paging.after.sid) : undefined),
      next_page_url: nextToken ? url(paging.page + 1, nextToken) : null,
      key,
    },
  };
}
