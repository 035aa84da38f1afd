import type { Cursor, Paging } from './paging';
import { splitPage } from './paging';

/**
 * One page of a short list held in memory (a participant's tracks), with the same `Page`,
 * `PageSize` and `PageToken` semantics as the lists SQL pages: oldest first by (dateCreated, sid);
 * a token resumes after the row it names, even if rows before it have gone since.
 */
export function pageInMemory<T>(items: readonly T[], paging: Paging, cursorOf: (item: T) => Cursor): { page: T[]; nextToken: string | null } {
  const sorted = [...items].sort((a, b) => compare(cursorOf(a), cursorOf(b)));
  const after = paging.after;
  const start = after ? sorted.findIndex((item) => compare(cursorOf(item), after) > 0) : paging.page * paging.pageSize;
  return splitPage(start < 0 ? [] : sorted.slice(start), paging, cursorOf);
}

function compare(a: Cursor, b: Cursor): number {
  if (a.dateCreated !== b.dateCreated) return a.dateCreated - b.dateCreated;
  return a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0;
}
