import type { Database } from 'better-sqlite3';
import { damagedTables, withForget } from './repair.js';
import { buildScratch, SCRATCH, type BuildOptions } from './scratch.js';

export interface RebuildResult {
  /** Entries projected (the whole log, through `last_seq`). */
  entries: number;
  last_seq: number;
  /** Rows per projection table after the swap. */
  rows: Record<string, number>;
  /** Projection tables that had a damaged page and were replaced whole (see `repair.ts`). */
  repaired: string[];
  seconds: number;
}

/**
 * Recomputes every projection from seq 1 into fresh tables and swaps them in, in one
 * transaction: a reader sees the old projections or the new ones, never a mix. Entries
 * appended while the rebuild ran are projected inside that transaction too, so the result
 * matches the log exactly at the commit.
 *
 * `p_checkpoints` is kept as it is: the router's position cannot be derived from the log
 * (an event that matched no rule leaves no entry), and resetting it would route every past
 * event again.
 *
 * A projection table with a damaged page (SQLite's `quick_check` says so) is replaced without
 * being read, then the file is vacuumed (see `repair.ts`): the log is the truth, so a damaged
 * derived table costs a rebuild, not a restore. A damaged log (`entries`) fails the build.
 *
 * The caller makes sure `serve` is not running (see `serve-lock.ts`): a dispatcher holding
 * rows of the old tables would not notice the swap mid-pass.
 */
export async function rebuildProjections(db: Database, options: BuildOptions = {}): Promise<RebuildResult> {
  const started = performance.now();
  const scratch = await buildScratch(db, options);
  const rows: Record<string, number> = {};
  const repaired = damagedTables(db, scratch.tables);
  // The old projections hold facts only (README "Personal data"), each of which stays in the log
  // (`entries`), so zeroing their pages as they are dropped protects nothing and costs a write of
  // every page; erasure's deletes (payloads, keys) run on other connections or after this is restored.
  const secureDelete = Number(db.pragma('main.secure_delete', { simple: true }));
  db.pragma('main.secure_delete = OFF');
  try {
    withForget(db, repaired.length > 0, (forget) =>
      db.transaction(() => {
        scratch.catchUp();
        for (const table of scratch.tables) rows[table] = swap(db, table, repaired.includes(table) ? forget : undefined);
      }).immediate(),
    );
  } finally {
    db.pragma(`main.secure_delete = ${secureDelete}`);
    scratch.close();
  }
  if (repaired.length > 0) db.exec('VACUUM'); // gives back the pages the damaged tables held
  return { entries: scratch.entries, last_seq: scratch.lastSeq, rows, repaired, seconds: (performance.now() - started) / 1000 };
}

/**
 * Replaces a live table by its rebuilt twin: dropped and created again from its own DDL (the
 * schema text stays exactly as the migrations wrote it), filled in log order (so even rowids
 * match), and only then indexed, which is cheaper than keeping the indexes up to date row by row.
 * A damaged table is `forget`-ed instead of dropped (dropping reads every page).
 */
function swap(db: Database, table: string, forget?: (table: string) => void): number {
  const ddl = db
    .prepare(`SELECT type, sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'index', rowid`)
    .all(table) as { type: 'table' | 'index'; sql: string }[];
  if (forget) forget(table);
  else db.exec(`DROP TABLE main."${table}"`);
  for (const { sql } of ddl.filter((d) => d.type === 'table')) db.exec(sql); // unqualified names resolve to main first
  const rows = db.prepare(`INSERT INTO main."${table}" SELECT * FROM ${SCRATCH}."${table}"`).run().changes;
  for (const { sql } of ddl.filter((d) => d.type === 'index')) db.exec(sql);
  return rows;
}
