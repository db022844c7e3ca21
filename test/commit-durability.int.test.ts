import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogUnavailableError } from '../src/errors.js';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { groupCommitFixture, rulesLoaded } from './helpers/group-commit-fixture.js';

/**
 * `serve`'s writer fsyncs a commit that holds anything of the main thread's (a webhook about to
 * be answered 200), and does not fsync one holding only the pipeline thread's entries
 * (`log/sqlite/commit-durability.ts`): SQLite's `synchronous`, as the writer's connection has it
 * after each commit, says which.
 */
const FULL = 2;
const NORMAL = 1;

describe('how the writer syncs a commit', () => {
  const open = groupCommitFixture();

  it("the main thread's commits are FULL, the pipeline's alone NORMAL; both are in the log in order", async () => {
    // Given serve's group commit, and a pipeline channel attached to its writer
    const { path, commit, pipeline } = open({ pipelineNow: () => new Date() });
    // When the main thread commits (a webhook), then the pipeline, then the main thread again
    const first = await commit.append([rulesLoaded(1)]);
    expect(await commit.debugPragma('synchronous')).toBe(FULL);
    const second = await pipeline!.append([rulesLoaded(2), rulesLoaded(3)]);
    expect(await commit.debugPragma('synchronous')).toBe(NORMAL);
    const third = await commit.append([rulesLoaded(4)]);
    expect(await commit.debugPragma('synchronous')).toBe(FULL);
    // Then every entry is in the log, in the order committed
    expect([...first, ...second, ...third].map((a) => a.seq)).toEqual([1, 2, 3, 4]);
    const log = new SqliteLog(path);
    try {
      expect(log.db.prepare(`SELECT json_extract(data, '$.path') FROM entries ORDER BY seq`).pluck().all()).toEqual(['r1.yaml', 'r2.yaml', 'r3.yaml', 'r4.yaml']);
    } finally {
      log.close();
    }
  });

  it('a --db that is a symlink: the writer watches the WAL SQLite writes, beside the real file, and stops when it is deleted', async () => {
    const { path: real, dir } = open();
    const link = join(dir, 'link.db');
    symlinkSync(real, link);
    const linked = new GroupCommit(link);
    try {
      expect(await linked.append([rulesLoaded(1)])).toEqual([{ seq: 1, duplicate: false }]);
      rmSync(`${real}-wal`);
      const refused = await linked.append([rulesLoaded(2)]).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(LogUnavailableError);
      expect((refused as Error).message).toMatch(/was deleted while serve ran/);
    } finally {
      await linked.close();
    }
  });
});
