import type { Database } from 'better-sqlite3';
import { DamagedEntryError } from '../damaged-entry.js';

/*
 * Where a database file is damaged, found cheaply: every table and index of the schema is read
 * at both ends (its root page and the pages down to its first and last rows). A page
 * overwritten on disk shows there when it is a root or on those paths, which is where every
 * commit writes (entries and projections grow at their ends or near their roots). A damaged
 * page deep in the middle of a big table shows only when something reads it.
 */

/** A damaged table or index: `object` its name, `table` the table it belongs to, `message` SQLite's words. */
export interface Damage {
  object: string;
  table: string;
  message: string;
  /** false for a derived table (`p_*`, which `replay --rebuild` makes again from the log); true for the log itself and the router's checkpoints. */
  log: boolean;
}

interface SchemaObject {
  type: 'table' | 'index';
  name: string;
  tbl_name: string;
  sql: string | null;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The two reads (first row, last row) that walk an object's b-tree at both ends. */
function edgeReads(db: Database, object: SchemaObject): string[] {
  if (object.type === 'table') {
    // NOT INDEXED: a covering index holds every rowid too; this must read the table's own tree
    const base = `SELECT rowid FROM ${quote(object.name)} NOT INDEXED ORDER BY rowid`;
    return [`${base} LIMIT 1`, `${base} DESC LIMIT 1`];
  }
  const columns = (db.pragma(`index_info(${quote(object.name)})`) as { name: string | null }[]).map((c) => c.name);
  if (columns.length === 0 || columns.some((c) => c === null)) return []; // an index on expressions: not walked
  // a partial index is only usable under its own WHERE
  const where = object.sql ? /\bWHERE\b([\s\S]*)$/i.exec(object.sql)?.[1] : undefined;
  const select = `SELECT ${columns.map((c) => quote(c!)).join(', ')} FROM ${quote(object.tbl_name)} INDEXED BY ${quote(object.name)}${where ? ` WHERE ${where}` : ''}`;
  const order = (direction: string) => columns.map((c) => `${quote(c!)} ${direction}`).join(', ');
  return [`${select} ORDER BY ${order('ASC')} LIMIT 1`, `${select} ORDER BY ${order('DESC')} LIMIT 1`];
}

/**
 * The first table or index of `db` (the schema's own order) that cannot be read at its ends,
 * or null when every one can. Reads only: O(objects × tree depth) pages, milliseconds, so the
 * readiness probe runs it every time. Throws only when the schema itself cannot be read.
 */
export function findDamage(db: Database): Damage | null {
  const objects = db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND rootpage > 0 ORDER BY rowid`).all() as SchemaObject[];
  for (const object of objects) {
    try {
      for (const sql of edgeReads(db, object)) db.prepare(sql).all();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !/^SQLITE_(CORRUPT|NOTADB|IOERR)/.test(code)) throw error;
      return { object: object.name, table: object.tbl_name, message: (error as Error).message, log: !object.tbl_name.startsWith('p_') || object.tbl_name === 'p_checkpoints' };
    }
  }
  return null;
}

/**
 * What is damaged and what to do, in one line: a derived table (`p_calls`…) is rebuilt from the
 * log by `replay --rebuild`; the log itself (`entries`, or the router's `p_checkpoints`, which
 * the log cannot give back) or a place that cannot be told needs the latest backup.
 */
export function describeDamage(path: string, damage: Damage | null, message: string): string {
  if (damage && !damage.log) {
    const index = damage.object === damage.table ? '' : ` (index ${damage.object})`;
    return `${path} is damaged: the derived table ${damage.table}${index} cannot be read (${damage.message}); stop serve and run \`husky-relay replay --rebuild\` (it rebuilds the table from the log); if that fails too, restore the latest backup (README: Backups)`;
  }
  const part = damage?.table === 'entries' ? 'the log itself' : damage?.table === 'p_checkpoints' ? "the router's checkpoints" : 'the table';
  const what = !damage ? '' : `: ${part} (${damage.object === damage.table ? `table ${damage.table}` : `index ${damage.object} of ${damage.table}`}) cannot be read`;
  return `${path} is damaged${what} (${damage?.message ?? message}); stop serve and restore the latest backup (README: Backups)`;
}

/**
 * The seqs of the first `limit` (default 11) entries whose data is not a JSON object, in log
 * order, among seqs `from`…`to` (default: all): what a statement that failed with SQLite's
 * `malformed JSON`, or a page of entries that did not parse, tripped over (a damaged entry).
 * Reads every entry of the range: O(entries), on the error path only.
 */
export function damagedEntrySeqs(db: Database, limit = 11, from = Number.MIN_SAFE_INTEGER, to = Number.MAX_SAFE_INTEGER): number[] {
  const sql = `SELECT seq FROM entries WHERE seq BETWEEN ? AND ? AND CASE WHEN json_valid(data) THEN json_type(data) <> 'object' ELSE 1 END ORDER BY seq LIMIT ?`;
  return db.prepare(sql).pluck().all(from, to, limit) as number[];
}

/** Whether `error` is SQLite's `malformed JSON`: a statement's JSON function met data that is not JSON. */
export function isMalformedJson(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'SQLITE_ERROR' && /malformed JSON/i.test((error as Error).message);
}

/**
 * `error` as a `DamagedEntryError` naming the entries of `db` whose data is not JSON, when it
 * is SQLite's `malformed JSON` and such entries are found (`damagedEntrySeqs`: a full read, on
 * the error path only); else `error` as it is.
 */
export function namingDamagedEntries(error: unknown, db: Database, where?: string): unknown {
  if (!isMalformedJson(error)) return error;
  try {
    const seqs = damagedEntrySeqs(db);
    return seqs.length > 0 ? new DamagedEntryError(seqs, 'its data is not valid JSON', where) : error;
  } catch {
    return error; // the search failed too: the original says more
  }
}
