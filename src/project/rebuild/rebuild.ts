import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { damagedTables, withForget } from './repair.js';
import { DEFAULTS } from '../../config/defaults.js';
import { checkDamageAside } from './damage-thread.js';
import { writeWhenFree } from '../../log/sqlite/write-wait.js';
import { buildScratch, finishedAll, projectionTables, SCRATCH, stopIfAborted, type BuildOptions, type Scratch } from './scratch.js';

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
  // the damage check reads every live projection table: on another thread, while the fold runs
  const checked = projectionTables(db);
  const last = (db.prepare('SELECT max(seq) FROM main.entries').pluck().get() as number | null) ?? 0;
  const check = last >= DEFAULTS.rebuild.checkAsideEntries ? checkDamageAside(db.name, checked) : NO_CHECK;
  let scratch: Scratch;
  try {
    scratch = await buildScratch(db, options, checked);
  } catch (error) {
    check.stop();
    throw error;
  }
  const rows: Record<string, number> = {};
  let repaired: string[];
  try {
    indexScratch(db, scratch.tables);
    const aside = await check.result;
    await yieldToLoop(); // a Ctrl-C that came while the indexes were built lands here (a settled check alone does not let it)
    stopIfAborted(options.signal); // still before the swap
    repaired = aside ?? damagedTables(db, scratch.tables);
    // The old projections hold facts only (README "Personal data"), each of which stays in the log
    // (`entries`), so zeroing their pages as they are dropped protects nothing and costs a write of
    // every page; erasure's deletes (payloads, keys) run on other connections or after this is restored.
    const secureDelete = Number(db.pragma('main.secure_delete', { simple: true }));
    db.pragma('main.secure_delete = OFF');
    try {
      // another process's write lock (a command appending) is waited for until Ctrl-C
      await writeWhenFree(db, options.signal, () =>
        withForget(db, repaired.length > 0, (forget) =>
          db.transaction(() => {
            scratch.catchUp();
            for (const table of scratch.tables) rows[table] = swap(db, table, repaired.includes(table) ? forget : undefined);
          }).immediate(),
        ),
      );
    } finally {
      db.pragma(`main.secure_delete = ${secureDelete}`);
    }
  } finally {
    check.stop();
    scratch.close();
  }
  if (repaired.length > 0) db.exec('VACUUM'); // gives back the pages the damaged tables held
  finishedAll(options, scratch);
  return { entries: scratch.entries, last_seq: scratch.lastSeq, rows, repaired, seconds: (performance.now() - started) / 1000 };
}

const NO_CHECK = { result: Promise.resolve(undefined), stop() {} };

/**
 * Gives each scratch table the secondary indexes of its live twin (same DDL, in the scratch
 * schema), before the swap's transaction. The swap then copies each table with its indexes
 * already sorted (see `swap`) instead of sorting them into the live file, where a table bigger
 * than the page cache is read back from the WAL once per index and every page reused from the
 * dropped tables is first saved to a statement journal. Catch-up's few rows keep them up to date.
 */
function indexScratch(db: Database, tables: string[]): void {
  const ddl = db.prepare(`SELECT sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY rowid`).pluck();
  for (const table of tables) {
    for (const sql of ddl.all(table) as string[]) {
      const inScratch = sql.replace(/^CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF NOT EXISTS\s+)?("?)(\w+)\2/i, `CREATE $1INDEX ${SCRATCH}."$3"`);
      // DDL of another shape is left out: the swap then builds that index row by row, as correct and slower
      if (inScratch !== sql) db.exec(inScratch);
    }
  }
}

/**
 * Replaces a live table by its rebuilt twin: dropped and created again from its own DDL (the
 * schema text stays exactly as the migrations wrote it), indexes included, then filled from the
 * scratch table, which has the same indexes (`indexScratch`): SQLite then copies the rows in
 * rowid order (so rowids match the live path's) and each index's entries in index order, with
 * no sorting and no per-row index updates (its "transfer optimisation"; it applies to an empty
 * table with the same columns, constraints and indexes). `OR FAIL`, not the default ABORT: no
 * row can conflict (the scratch table has the same constraints), and a statement that cannot
 * abort halfway needs no statement journal; an error still rolls the whole swap back.
 * A damaged table is `forget`-ed instead of dropped (dropping reads every page).
 */
function swap(db: Database, table: string, forget?: (table: string) => void): number {
  const ddl = db
    .prepare(`SELECT sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'index', rowid`)
    .pluck()
    .all(table) as string[];
  if (forget) forget(table);
  else db.exec(`DROP TABLE main."${table}"`);
  for (const sql of ddl) db.exec(sql); // unqualified names resolve to main first
  return db.prepare(`INSERT OR FAIL INTO main."${table}" SELECT * FROM ${SCRATCH}."${table}"`).run().changes;
}
