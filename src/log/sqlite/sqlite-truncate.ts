import type { Database } from 'better-sqlite3';
import type { Truncation } from '../../privacy/truncation.js';
import { truncateIn, type TruncationTx } from '../truncate.js';
import type { SqliteLog } from './sqlite-log.js';

/**
 * Truncation on SQLite (README "Retention"; `log/truncate.ts`), in one `BEGIN IMMEDIATE`
 * transaction on the log's connection. `secure_delete` overwrites the removed rows' pages, and
 * freed pages are reused by new entries, so the file stops growing.
 */

/** `log/truncate.ts`'s statements on a SQLite connection (synchronous, as promises). */
export function sqliteTx(db: Database): Omit<TruncationTx, 'append'> {
  return {
    one: async (sql, ...params) => db.prepare(sql).pluck().get(...params) ?? null,
    rows: async (sql, ...params) => db.prepare(sql).raw().all(...params) as unknown[][],
    run: async (sql, ...params) => void db.prepare(sql).run(...params),
  };
}

/** `truncateIn` on SQLite. Throws what it throws, after rolling back. */
export async function truncateSqlite(log: SqliteLog, now: Date, windowMs: number): Promise<Truncation | null> {
  const db = log.db;
  const tx: TruncationTx = { ...sqliteTx(db), append: async (entry) => log.append([entry])[0]!.seq! };
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
