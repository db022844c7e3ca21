import type { Database } from 'better-sqlite3';
import type { LogStart } from '../../privacy/chain.js';
import type { Truncation } from '../../privacy/truncation.js';
import { truncateIn, type TruncationTx } from '../truncate.js';
import type { SqliteLog } from './sqlite-log.js';

/**
 * Truncation on SQLite (README "Retention"; `log/truncate.ts`), in one `BEGIN IMMEDIATE`
 * transaction on the log's connection. `secure_delete` overwrites the removed rows' pages, and
 * freed pages are reused by new entries, so the file stops growing.
 */

/** Where the log starts (`log_start`), or undefined when it was never truncated. */
export function logStartOf(db: Database): LogStart | undefined {
  const row = db.prepare(`SELECT seq, prev_hash FROM log_start`).get() as { seq: number; prev_hash: string } | undefined;
  return row && { seq: row.seq, prev: row.prev_hash };
}

/** `truncateIn` on SQLite. Throws what it throws, after rolling back. */
export async function truncateSqlite(log: SqliteLog, now: Date, windowMs: number): Promise<Truncation | null> {
  const db = log.db;
  const tx: TruncationTx = {
    one: async (sql, ...params) => db.prepare(sql).pluck().get(...params) ?? null,
    rows: async (sql, ...params) => db.prepare(sql).raw().all(...params) as unknown[][],
    run: async (sql, ...params) => void db.prepare(sql).run(...params),
    append: async (entry) => log.append([entry])[0]!.seq!,
  };
  db.exec('BEGIN IMMEDIATE');
  try {
    const truncation = await truncateIn(tx, now, windowMs);
    db.exec('COMMIT');
    return truncation;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
