/**
 * A table's schema, created the first time the table is used rather than when the object starts.
 * Every new Room object would otherwise create every table of the room in its constructor, and
 * that DDL is a large part of what a REST create costs beyond the unavoidable new object and write
 * (docs/performance.md); most rooms' participant and pair tables are first needed at the first join.
 */
export function lazySchema(sql: SqlStorage, statements: readonly string[]): () => void {
  let ready = false;
  return () => {
    if (ready) return;
    for (const statement of statements) sql.exec(statement);
    ready = true;
  };
}
