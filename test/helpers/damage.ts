import { closeSync, openSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';

/**
 * A husky-relay database at `dbPath` with `events` events (calls `c0`, `c1`, …) and the root page
 * of `table` (a table or an index) overwritten with garbage on disk, as a failing disk or a
 * stray write would leave it.
 */
export function damagedDatabase(dbPath: string, table: string, events = 3): void {
  const log = new SqliteLog(dbPath);
  for (let i = 0; i < events; i += 1) {
    log.append([
      {
        type: 'event.received',
        data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body: '{}' },
      },
    ]);
  }
  log.close();
  damageRootPage(dbPath, table);
}

/**
 * Overwrites the root page of `table` (a table or an index) of the closed database at `dbPath`
 * with garbage on disk. The WAL is checkpointed first, so the damage is what SQLite reads.
 */
export function damageRootPage(dbPath: string, table: string): void {
  const db = new Database(dbPath);
  const row = db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = ?`).get(table) as { rootpage: number } | undefined;
  if (!row) throw new Error(`no table or index ${table}`);
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(dbPath, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (row.rootpage - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}
