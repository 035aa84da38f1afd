import type { Paging } from './paging';
import { encodePageToken } from './paging';

/** Where an item sits in its list: the keys a PageToken carries. */
export interface Cursor {
  dateCreated: number;
  sid: string;
}

/**
 * One page of a short list held in memory (a participant's tracks), with the same `Page`,
 * `PageSize` and `PageToken` semantics as the lists SQL pages: oldest first by (dateCreated, sid);
 * a token resumes after the row it names, even if rows before it have gone since.
 */
export function pageInMemory<T>(items: readonly T[], paging: Paging, cursorOf: (item: T) => Cursor): { page: T[]; nextToken: string | null } {
  const sorted = [...items].sort((a, b) => compare(cursorOf(a), cursorOf(b)));
  const after = paging.after;
  const start = after ? sorted.findIndex((item) => compare(cursorOf(item), after) > 0) : paging.page * paging.pageSize;
  const rest = start < 0 ? [] : sorted.slice(start);
  const page = rest.slice(0, paging.pageSize);
  const last = page[page.length - 1];
  const nextToken = rest.length > paging.pageSize && last ? encodePageToken(cursorOf(last).dateCreated, cursorOf(last).sid) : null;
  return { page, nextToken };
}

function compare(a: Cursor, b: Cursor): number {
  if (a.dateCreated !== b.dateCreated) return a.dateCreated - b.dateCreated;
  return a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0;
}
