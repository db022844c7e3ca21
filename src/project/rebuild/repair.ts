import type { Database } from 'better-sqlite3';

/*
 * A projection table with a damaged page (bytes overwritten on disk) cannot be dropped: SQLite
 * reads every page of a table to free it, and stops at the damaged one. Its rows are derived
 * from the log, so a rebuild can replace it all the same: the table and its indexes are taken
 * out of the schema without reading their pages, created again, and filled from the scratch
 * build; a VACUUM afterwards gives back the pages they held (the damaged one among them).
 */

const isCorrupt = (error: unknown) => /^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown }).code));

/**
 * The tables among `tables` (projection tables of `main`) that SQLite's `quick_check` finds
 * damaged, or that it cannot even check. Reads each table and its indexes once: O(rows).
 */
export function damagedTables(db: Database, tables: string[]): string[] {
  return tables.filter((table) => {
    try {
      const rows = db.pragma(`main.quick_check("${table.replace(/"/g, '""')}")`) as { quick_check: string }[];
      return !(rows.length === 1 && rows[0]!.quick_check === 'ok');
    } catch (error) {
      if (isCorrupt(error)) return true;
      throw error;
    }
  });
}

/**
 * Runs `inTransaction` with `forget(table)` available: it removes a table and its indexes from
 * `main`'s schema without reading their pages (`writable_schema`, which better-sqlite3's
 * defensive mode allows only in unsafe mode, for this call alone), so that the same DDL can
 * create them again. The schema version is raised so that every connection reads the schema
 * anew. Unsafe mode is on only when `needed`. The caller VACUUMs afterwards: until then the pages the table held are in the file but
 * belong to nothing.
 */
export function withForget<T>(db: Database, needed: boolean, inTransaction: (forget: (table: string) => void) => T): T {
  const forget = (table: string) => {
    const version = Number(db.pragma('main.schema_version', { simple: true }));
    db.pragma('writable_schema = ON');
    try {
      db.prepare(`DELETE FROM main.sqlite_master WHERE tbl_name = ?`).run(table);
      db.pragma(`main.schema_version = ${version + 1}`);
    } finally {
      db.pragma('writable_schema = OFF');
    }
  };
  if (!needed) return inTransaction(forget);
  db.unsafeMode(true);
  try {
    return inTransaction(forget);
  } finally {
    db.unsafeMode(false);
  }
}
