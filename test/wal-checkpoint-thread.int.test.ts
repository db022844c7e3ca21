import { copyFileSync } from 'node:fs';
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
});
