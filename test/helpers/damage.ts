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
  damagePage(dbPath, (db) => (db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = ?`).pluck().get(table) as number | undefined) ?? fail(`no table or index ${table}`));
}

/**
 * Overwrites with garbage the leaf page of `table` in the middle of its leaves (by SQLite's
 * `dbstat`), as `damageRootPage` does: a read of the whole table fails there, one of its ends does not.
 */
export function damageMiddleLeaf(dbPath: string, table: string): void {
  damagePage(dbPath, (db) => {
    const leaves = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path`).pluck().all(table) as number[];
    return leaves[Math.floor(leaves.length / 2)] ?? fail(`no leaf page of ${table}`);
  });
}

function damagePage(dbPath: string, pageOf: (db: Database.Database) => number): void {
  const db = new Database(dbPath);
  const page = pageOf(db);
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(dbPath, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

const fail = (message: string): never => {
  throw new Error(message);
};

/**
 * A log at `dbPath` of `events` `call.completed` events (ids `e0`, `e1`, …, calls `c0`, `c1`, …:
 * seqs 1, 2, …), each with a body HuskyVoice could have sent, not routed yet.
 */
export function eventsLog(dbPath: string, events: number): void {
  const log = new SqliteLog(dbPath);
  for (let i = 0; i < events; i += 1) {
    const body = JSON.stringify({ event_id: `e${i}`, event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i}` } });
    log.append([{ type: 'event.received', data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body } }]);
  }
  log.close();
}

/**
 * Overwrites the stored data of entry `seq` of the closed log at `dbPath` with `data` (by
 * default text that is not JSON), as a disk that flipped bytes inside a sound page, or a hand
 * edit, would leave it. The log refuses this itself (the append-only trigger, the `json_valid`
 * check on `data`): both are lifted for the one UPDATE, and the trigger put back as it was.
 */
export function damageEntryData(dbPath: string, seq: number, data = '{not json'): void {
  const db = new Database(dbPath);
  try {
    const trigger = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'entries_no_update'`).pluck().get() as string | undefined;
    db.pragma('ignore_check_constraints = ON');
    db.transaction(() => {
      if (trigger) db.exec('DROP TRIGGER entries_no_update');
      if (db.prepare(`UPDATE entries SET data = ? WHERE seq = ?`).run(data, seq).changes !== 1) fail(`no entry ${seq}`);
      if (trigger) db.exec(trigger);
    })();
  } finally {
    db.close();
  }
}

/** Flips one byte of the sealed payload of entry `seq` of the closed log at `dbPath`: it no longer decrypts (payloads have no trigger). */
export function damagePayload(dbPath: string, seq: number): void {
  const db = new Database(dbPath);
  try {
    const flip = `UPDATE payloads SET sealed = cast(substr(sealed, 1, 40) || CASE substr(sealed, 41, 1) WHEN x'00' THEN x'01' ELSE x'00' END || substr(sealed, 42) AS BLOB) WHERE seq = ?`;
    if (db.prepare(flip).run(seq).changes !== 1) fail(`no payload of entry ${seq}`);
  } finally {
    db.close();
  }
}
