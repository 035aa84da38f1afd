/**
 * A table's schema, created the first time the table is used rather than when the object starts.
 * Every new Room object would otherwise create every table of the room in its constructor, and
 * that DDL is a large part of what a REST create costs beyond the unavoidable new object and write
 * (docs/performance.md); most rooms' participant and pair tables are first needed at the first join.
 *
 * Returns the `exec` a store uses for all its queries: it runs the DDL once, then the query.
 */
export function lazySchema(sql: SqlStorage, statements: readonly string[]): SqlStorage['exec'] {
  let ready = false;
  return (query, ...bindings) => {
    if (!ready) {
      for (const statement of statements) sql.exec(statement);
      ready = true;
    }
    return sql.exec(query, ...bindings);
  };
}
