import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { truncateWal } from '../src/log/sqlite/checkpoints.js';
import { tempDir } from './helpers/relay.js';

/**
 * Erasure empties the WAL (README "Personal data"). Under `serve` the checkpoint thread may be
 * copying the WAL at that very moment: the TRUNCATE checkpoint is then tried again briefly. A
 * reader that holds on past the busy timeout is not waited for twice: erasure says so instead.
 */
describe('truncateWal', () => {
  it('tries again while the checkpoint lock is taken (an answer at once), and succeeds once it is free', async () => {
    const answers = [{ busy: 1 }, 'SQLITE_BUSY', { busy: 1 }, { busy: 0 }];
    let asked = 0;
    const db = {
      pragma: () => {
        const answer = answers[asked++];
        if (answer === 'SQLITE_BUSY') throw new Error('database is locked');
        return [{ ...(answer as object), log: 0, checkpointed: 0 }];
      },
    };
    expect(await truncateWal(db as never, { waitMs: 1, now: () => 0 })).toBe(true);
    expect(asked).toBe(4);
  });

  it('does not try again after waiting out a reader, and says the WAL was not emptied', async () => {
    // Given a real WAL and a reader holding a snapshot (busy timeout 50 ms)
    const temp = tempDir();
    const path = join(temp.dir, 'wal.db');
    const db = new Database(path, { timeout: 50 });
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x BLOB); INSERT INTO t VALUES (randomblob(100000))');
    const reader = new Database(path, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM t').get();
    db.exec('INSERT INTO t VALUES (randomblob(100000))');
    // When a truncation is asked, on a clock where each try takes 200 ms (the busy wait)
    let clock = 0;
    let tries = 0;
    const counted = { pragma: (sql: string) => (tries++, (clock += 200), db.pragma(sql)) };
    // Then it is tried once, fails, and the WAL still holds the pages
    expect(await truncateWal(counted as never, { now: () => clock })).toBe(false);
    expect(tries).toBe(1);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    // And once the reader lets go, it empties the WAL
    reader.exec('COMMIT');
    expect(await truncateWal(db)).toBe(true);
    expect(statSync(`${path}-wal`).size).toBe(0);
    reader.close();
    db.close();
    temp.cleanup();
  });
});
