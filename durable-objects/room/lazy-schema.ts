/**
 * A table's schema, created the first time the table is written rather than when the object starts.
 *
 * Two reasons. Every new Room object would otherwise create every table of the room in its
 * constructor, and that DDL is a large part of what a REST create costs beyond the unavoidable new
 * object and write (docs/performance.md). And a stranger must leave nothing behind: a socket that
 * opens, sends garbage or a bad token, and goes, wakes the object of whatever name it picked; a
 * read there must not create tables, or a loop over random names would persist an object per name
 * (docs/robustness.md, "Nothing stored for strangers").
 *
 * So before the tables exist, a statement that can only see rows (SELECT, WITH, UPDATE, DELETE)
 * answers no rows and creates nothing; aggregates too, which is why callers read `toArray()[0]`
 * and treat no row as empty. The first statement that adds rows creates the tables, then runs.
 *
 * Returns the `exec` a store uses for all its queries.
 */
export function lazySchema(sql: SqlStorage, statements: readonly string[]): SqlStorage['exec'] {
  const tables = statements.flatMap((s) => /CREATE TABLE IF NOT EXISTS (\w+)/i.exec(s)?.[1] ?? []);
  let ready = false;
  const create = () => {
    for (const statement of statements) sql.exec(statement);
    ready = true;
  };
  return ((query: string, ...bindings: unknown[]) => {
    if (!ready) {
      if (!READ.test(query)) create();
      else if (allExist(sql, tables)) ready = true;
      else return sql.exec('SELECT 1 WHERE 0');
    }
    return sql.exec(query, ...bindings);
  }) as SqlStorage['exec'];
}

/** Statements that change nothing in a table with no rows. */
const READ = /^\s*(SELECT|WITH|UPDATE|DELETE)\b/i;

function allExist(sql: SqlStorage, tables: string[]): boolean {
  if (!tables.length) return true;
  const found = sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (${tables.map(() => '?').join(',')})`, ...tables)
    .one().n;
  return found === tables.length;
}
