import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database, { type Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';
import { createPrivateFile } from '../../log/private-files.js';
import { dbFileOf } from '../../log/db-files.js';
import type { Entry } from '../../log/types.js';
import { ENTRY_JSON, openLogPages, parseEntry } from './log-pages.js';
import { misshapenEntry } from './projection-failure.js';
import { checkedProjector } from './checked-projector.js';
import type { ApplyEntry } from '../apply-entry.js';
import { foldStore } from './fold.js';
import { DEFAULTS } from '../../config/defaults.js';

export const SCRATCH = 'scratch';

/** How far a long piece of work is: `done` of `total`, in one unit (entries; a backfill's, seqs), so done = total at the end. */
export interface ProgressReport {
  /** Entries projected (copied; a backfill: the last seq read) so far. */
  done: number;
  /** The entries there are when the work started (a backfill: the last seq); the log may grow meanwhile. */
  total: number;
}

export interface BuildOptions {
  onProgress?: (progress: ProgressReport) => void;
  /**
   * Stops the build within about 0.1 s (Ctrl-C), before anything is swapped or compared; the scratch
   * database is removed. A rebuild's swap waiting for another process's write lock stops waiting too
   * (`WriteInterruptedError`, see `writeWhenFree`): the projections stay as they were.
   */
  signal?: AbortSignal;
}

/** The projections rebuilt from the log into an attached scratch database. */
export interface Scratch {
  /** The projection tables it holds (every `p_*` table but the checkpoints). */
  tables: string[];
  /** Entries projected, through `lastSeq`. */
  entries: number;
  lastSeq: number;
  /**
   * Projects what was appended since the build read the log. Call it inside the transaction
   * that then swaps or compares, so nothing can be appended in between.
   */
  catchUp(): number;
  /** Detaches and deletes the scratch database. */
  close(): void;
}

/**
 * Projection tables: every `p_*` table except `p_checkpoints`. The router's checkpoint is not
 * a function of the log (an event that matched no rule leaves no entry behind), so a rebuild
 * keeps the live checkpoint rows as they are.
 */
export function projectionTables(db: Db): string[] {
  const rows = db
    .prepare(`SELECT name FROM main.sqlite_master WHERE type = 'table' AND name GLOB 'p_*' AND name <> 'p_checkpoints' ORDER BY name`)
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}

/**
 * Replays the whole log, from seq 1, through the same projector the live path uses, into
 * fresh `p_*` tables of a scratch database beside the live one (`<db>.rebuild-<pid>.tmp`,
 * mode 0600, attached as `scratch`; scratch files of builds that died are removed first). The log is streamed from a second, read-only connection (one
 * snapshot, never materialised; on a thread of its own for a big log, `log-pages.ts`); the scratch file needs no journal on disk and no fsync: if
 * anything goes wrong it is thrown away. `tables`: the projection tables to build (the rebuild
 * passes the list its damage check was given, so both speak of the same tables). (Default:
 * `projectionTables(db)`)
 */
export async function buildScratch(db: Db, options: BuildOptions = {}, tables = projectionTables(db)): Promise<Scratch> {
  const path = scratchPath(db.name, process.pid);
  const remove = () => rmSync(path, { force: true });
  remove();
  removeOrphanScratch(db.name);
  createPrivateFile(path); // 0600: it holds what the projections hold
  db.prepare(`ATTACH DATABASE ? AS ${SCRATCH}`).run(path);
  let attached = true;
  const close = () => {
    if (attached && db.open) {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.exec(`DETACH DATABASE ${SCRATCH}`);
    }
    attached = false;
    remove();
  };
  try {
    // held from the first write until DETACH (not only per transaction): while it is held the
    // file is in use, and once its process is gone anyone may remove it (removeOrphanScratch)
    db.pragma(`${SCRATCH}.locking_mode = EXCLUSIVE`);
    db.pragma(`${SCRATCH}.page_size = 16384`); // before any table: fewer, larger pages for the b-trees the rebuild fills
    // MEMORY, not OFF: better-sqlite3 opens connections in SQLite's defensive mode, which
    // refuses OFF without a word (the file then gets a -journal, which a kill leaves behind)
    db.pragma(`${SCRATCH}.journal_mode = MEMORY`);
    db.pragma(`${SCRATCH}.synchronous = OFF`);
    db.pragma(`${SCRATCH}.cache_size = -8192`); // 8 MiB: more buys nothing measurable, and counts in RSS
    createTables(db, tables);
    const store = foldStore(db, SCRATCH);
    const project = checkedProjector(store);
    const { entries, lastSeq } = await streamInto(db, project, store.flush, options);
    const readAfter = db.prepare(`SELECT seq, ${ENTRY_JSON} FROM main.entries WHERE seq > ? ORDER BY seq LIMIT ${DEFAULTS.rebuild.batch}`).raw();
    const scratch: Scratch = {
      tables,
      entries,
      lastSeq,
      catchUp() {
        let n = 0;
        for (;;) {
          const rows = readAfter.all(scratch.lastSeq) as [seq: number, entry: string][];
          for (const row of rows) project(parseEntry(row[0], row[1]));
          n += rows.length;
          if (rows.length > 0) scratch.lastSeq = rows[rows.length - 1]![0];
          if (rows.length < DEFAULTS.rebuild.batch) break;
        }
        store.flush();
        scratch.entries += n;
        return n;
      },
      close,
    };
    return scratch;
  } catch (error) {
    close();
    throw misshapenEntry(error);
  }
}

/**
 * The scratch database of the process `pid` beside the live database file of `dbPath`
 * (`dbFileOf`: symlinks followed), so a rebuild through any link, or serve's start through any
 * other, finds the one a killed run left.
 */
export const scratchPath = (dbPath: string, pid: number): string => `${dbFileOf(dbPath)}.rebuild-${pid}.tmp`;

/**
 * Removes the scratch databases beside the database file of `dbPath` (symlinks followed) that no process uses any more (a rebuild or
 * verify killed with SIGKILL, or on a machine that lost power). In use means locked: a build
 * holds its scratch file's lock until it ends, and the kernel drops the lock with its process,
 * so a pid that was reused cannot keep a file alive. Returns the files removed.
 */
export function removeOrphanScratch(dbPath: string, logger?: Logger): string[] {
  const file = dbFileOf(dbPath);
  const prefix = `${basename(file)}.rebuild-`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length, -'.tmp'.length)) : NaN;
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const path = join(dirname(file), name);
    if (inUse(path)) continue;
    rmSync(path, { force: true });
    rmSync(`${path}-journal`, { force: true }); // left by builds before journal_mode was MEMORY
    removed.push(path);
    logger?.info({ path }, 'removed the scratch database of a rebuild that did not finish');
  }
  return removed;
}

function inUse(path: string): boolean {
  let probe: Db | undefined;
  try {
    probe = new Database(path, { timeout: 0, fileMustExist: true });
    probe.pragma('journal_mode = MEMORY'); // reads the file: fails while another process holds it
    probe.exec('BEGIN EXCLUSIVE');
    return false;
  } catch (error) {
    return String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY');
  } finally {
    probe?.close();
  }
}

/** The live DDL of each table, created again in the scratch schema (no secondary indexes: not needed to project). */
function createTables(db: Db, tables: string[]): void {
  const ddl = db.prepare(`SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?`);
  for (const name of tables) {
    const { sql } = ddl.get(name) as { sql: string };
    db.exec(sql.replace(/^CREATE TABLE\s+(?:IF NOT EXISTS\s+)?("?)(\w+)\1/i, `CREATE TABLE ${SCRATCH}."$2"`));
  }
}

async function streamInto(db: Db, project: ApplyEntry, flush: () => void, options: BuildOptions) {
  const estimate = (db.prepare('SELECT max(seq) FROM main.entries').pluck().get() as number | null) ?? 0;
  const pages = await openLogPages(db.name, estimate);
  try {
    const total = pages.total;
    // the entries to project, what `done` counts: the log has no gap, but starts later once retention removed its oldest
    const first = (db.prepare('SELECT min(seq) FROM main.entries').pluck().get() as number | null) ?? 1;
    const toProject = Math.max(0, total - first + 1);
    let done = 0;
    let reportAt = 0; // performance.now() of the next report: the first comes after the first TICK entries
    db.exec('BEGIN');
    try {
      for (let entries = await pages.next(); entries !== undefined; entries = await pages.next()) {
        for (const entry of entries) {
          project(entry);
          // one modulo per entry, as before; the clock is read once per TICK entries
          if (++done % TICK !== 0) continue;
          if (done % DEFAULTS.rebuild.batch === 0) {
            db.exec('COMMIT');
            db.exec('BEGIN');
          }
          if (performance.now() < reportAt) continue;
          // never the full count here: the bar ends full only once the caller's work is done (`finishedAll`)
          if (done < toProject) options.onProgress?.({ done, total: toProject });
          await yieldToLoop(); // let a progress bar draw and Ctrl-C land
          stopIfAborted(options.signal);
          reportAt = performance.now() + REPORT_MS;
        }
      }
      flush();
      db.exec('COMMIT');
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
    }
    stopIfAborted(options.signal);
    return { entries: done, lastSeq: total };
  } finally {
    pages.close();
  }
}

/** Entries between two looks at the clock while building: a report (and a chance for Ctrl-C to land) is due every REPORT_MS. */
const TICK = 1_000;
/** How often a build reports progress and checks for Ctrl-C, in ms. */
const REPORT_MS = 100;

/**
 * The last report of a build (`done` = `total` = the entries projected), which the caller sends
 * once its whole work is done (the swap, the comparison): a bar stopped before then never shows 100 %.
 */
export function finishedAll(options: BuildOptions, scratch: Scratch): void {
  options.onProgress?.({ done: scratch.entries, total: scratch.entries });
}

/** Throws `rebuild interrupted` (the signal's reason as its cause) once `signal` is aborted. */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('rebuild interrupted', { cause: signal.reason });
}
