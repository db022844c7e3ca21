import { copyFileSync, existsSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { spawnCheckpointer } from '../src/log/sqlite/checkpoint-spawn.js';
import { groupCommitFixture, rulesLoaded } from './helpers/group-commit-fixture.js';
import { tempDir } from './helpers/relay.js';

/**
 * `serve`'s writer does not checkpoint the WAL in its commits; a thread of its own does
 * (`log/sqlite/checkpoints.ts`), so no webhook waits for a checkpoint's copy and fsync.
 */

describe('the writer thread and the checkpoint thread', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => temp?.cleanup());
  const open = groupCommitFixture();

  it('the writer checkpoints only past the WAL size bound; what it commits still reaches the database file', async () => {
    // Given a log and serve's group commit on it
    const { path, dir, commit } = open();
    // When a few entries are committed (a WAL far below the bound the writer checkpoints at)
    await commit.append([rulesLoaded(1), rulesLoaded(2), rulesLoaded(3)]);
    // Then the writer's own connection checkpoints only once the WAL holds walSizeLimitBytes
    const pageSize = Number(await commit.debugPragma('page_size'));
    expect(await commit.debugPragma('wal_autocheckpoint')).toBe(DEFAULTS.log.walSizeLimitBytes / pageSize);
    // Then they reach the database file itself (no WAL beside a copy of it), copied by the checkpoint thread
    const copy = join(dir, 'copy.db');
    const inFile = () => {
      copyFileSync(path, copy);
      const db = new Database(copy, { readonly: true });
      try {
        return db.prepare(`SELECT count(*) AS n FROM entries WHERE type = 'rules.loaded'`).pluck().get();
      } finally {
        db.close();
      }
    };
    await vi.waitFor(() => expect(inFile()).toBe(3), { timeout: 5_000, interval: DEFAULTS.log.checkpointEveryMs });
  });

  it('a checkpoint thread that fails (no file to open) ends alone: the thread that started it goes on', async () => {
    temp = tempDir();
    const worker = spawnCheckpointer({ path: join(temp.dir, 'missing.db'), everyMs: 100 });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(1);
  });

  it('a checkpoint thread that starts after the WAL was deleted opens nothing, so no new WAL stands where the deleted one was', async () => {
    // Given a log in WAL mode, open, with its WAL as the writer's guard saw it
    temp = tempDir();
    const path = join(temp.dir, 'relay.db');
    const writer = new Database(path);
    try {
      writer.pragma('journal_mode = WAL');
      writer.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      const { dev, ino } = statSync(`${path}-wal`);
      // When the WAL is deleted before the checkpoint thread (started lazily, after the first commit) opens the file
      unlinkSync(`${path}-wal`);
      const worker = spawnCheckpointer({ path, everyMs: 10, wal: { dev, ino } });
      const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
      // Then it ends without opening a connection: no new, empty WAL, which the writer's guard
      // would take for another process's ("replaced") and so not save what the writer holds
      expect(code).toBe(0);
      expect(existsSync(`${path}-wal`)).toBe(false);
    } finally {
      writer.close();
    }
  });
});
