import { existsSync, fstatSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogUnavailableError } from '../src/errors.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { WalSync, walPathOf } from '../src/log/sqlite/wal-sync.js';
import type { Appended } from '../src/log/seam.js';
import { groupCommitFixture, rulesLoaded } from './helpers/group-commit-fixture.js';

/**
 * `serve`'s writer commits without an fsync (`synchronous=NORMAL`), and the main thread answers
 * its callers (a webhook's 200) only after a flush of the WAL that began after their commit was
 * written (`log/sqlite/commit-durability.ts`, `wal-sync.ts`). The pipeline thread's commits are
 * not flushed on their own. Flushes here are held and released by the test, and counted.
 */
const NORMAL = 1;

/** A `SyncFile` whose flushes wait for the test: each call is recorded with the file it names. */
function heldFlushes() {
  const calls: { fd: number; release: () => void; fail: (error: Error) => void }[] = [];
  const syncFile = (fd: number) => new Promise<void>((release, fail) => calls.push({ fd, release, fail }));
  return { calls, syncFile };
}

/** Whether `promise` has settled, after the writer and this thread have had time to talk. */
async function settled(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  for (let i = 0; i < turns && !done; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return done;
}

/** Waits until `calls` has `n` entries (the commit reached the flush). */
async function flushes(calls: unknown[], n: number): Promise<void> {
  while (calls.length < n) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('how a commit reaches the disk', () => {
  const fixture = groupCommitFixture();
  const open = (syncFile: (fd: number) => Promise<void>, pipelineNow?: () => Date) =>
    fixture({ walSync: (wal) => new WalSync(wal, syncFile), ...(pipelineNow && { pipelineNow }) });

  it("a caller of the main thread is answered only after a flush of the WAL file that began after its commit; the pipeline's commits are not flushed", async () => {
    // Given serve's group commit, with its flushes held, and a pipeline channel attached to its writer
    const { calls, syncFile } = heldFlushes();
    const { path, commit, pipeline } = open(syncFile, () => new Date());
    // When the main thread appends (a webhook)
    const first = commit.append([rulesLoaded(1)]);
    await flushes(calls, 1);
    // Then it is not answered while the flush runs, and the flush names the WAL the writer wrote
    expect(await settled(first)).toBe(false);
    const wal = statSync(`${path}-wal`);
    expect(fstatSync(calls[0]!.fd).ino).toBe(wal.ino);
    calls[0]!.release();
    expect(await first).toEqual([{ seq: 1, duplicate: false }]);
    // When the pipeline alone commits, it is answered with no flush at all
    expect(await pipeline!.append([rulesLoaded(2), rulesLoaded(3)])).toEqual([
      { seq: 2, duplicate: false },
      { seq: 3, duplicate: false },
    ]);
    expect(calls).toHaveLength(1);
    // and the writer's connection commits without an fsync of its own
    expect(await commit.debugPragma('synchronous')).toBe(NORMAL);
    const log = new SqliteLog(path);
    try {
      expect(log.db.prepare(`SELECT json_extract(data, '$.path') FROM entries ORDER BY seq`).pluck().all()).toEqual(['r1.yaml', 'r2.yaml', 'r3.yaml']);
    } finally {
      log.close();
    }
  });

  it('commits written while a flush runs wait for the next one, and share it', async () => {
    const { calls, syncFile } = heldFlushes();
    const { commit } = open(syncFile);
    // Given a flush under way for a first webhook
    const first = commit.append([rulesLoaded(1)]);
    await flushes(calls, 1);
    // When three more commit while it runs
    const more = [2, 3, 4].map((n) => commit.append([rulesLoaded(n)]));
    // (each is committed by the writer meanwhile: it answers a pragma after what was posted before it; none is answered)
    await new Promise((resolve) => setImmediate(resolve));
    await commit.debugPragma('synchronous');
    expect(await settled(Promise.race(more))).toBe(false);
    // Then the running flush answers only the first
    calls[0]!.release();
    expect(await first).toEqual([{ seq: 1, duplicate: false }]);
    expect(await settled(Promise.race(more))).toBe(false);
    // and one flush begun after it answers the three
    await flushes(calls, 2);
    calls[1]!.release();
    const appended = (await Promise.all(more)).flat() as Appended[];
    expect(appended.map((a) => a.seq)).toEqual([2, 3, 4]);
    expect(calls).toHaveLength(2);
  });

  it('a flush that fails fails its callers (503; their entry is written, so a retry is a duplicate) and every webhook after it until serve restarts, which /readyz says', async () => {
    const { calls, syncFile } = heldFlushes();
    const { path, commit } = open(syncFile);
    const first = commit.append([rulesLoaded(1)]);
    await flushes(calls, 1);
    calls[0]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const error = await first.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(LogUnavailableError);
    expect((error as Error).message).toMatch(/the WAL could not be flushed to disk \(EIO: i\/o error, fdatasync\); restart serve/);
    expect(commit.failure()).toMatch(/could not be flushed to disk .*restart serve/);
    // after a failed fsync no later flush can vouch for what came before it: nothing more is taken, nor flushed
    await expect(commit.append([rulesLoaded(2)])).rejects.toThrow(/restart serve/);
    expect(calls).toHaveLength(1);
    expect(commit.failure()).toMatch(/restart serve/);
    const log = new SqliteLog(path);
    try {
      expect(log.db.prepare(`SELECT json_extract(data, '$.path') FROM entries`).pluck().all()).toEqual(['r1.yaml']);
    } finally {
      log.close();
    }
  });

  it('flushes the WAL SQLite writes when the database path is a symlink (SQLite keeps its WAL beside the real file)', async () => {
    const { path: real, dir } = fixture();
    const link = join(dir, 'link.db');
    symlinkSync(real, link);
    const seen: number[] = [];
    const linked = new GroupCommit(link, {}, () => {}, new WalSync(walPathOf(link), async (fd) => void seen.push(fstatSync(fd).ino)));
    try {
      expect(await linked.append([rulesLoaded(9)])).toEqual([{ seq: 1, duplicate: false }]);
      expect(seen).toEqual([statSync(`${real}-wal`).ino]);
      expect(existsSync(`${link}-wal`)).toBe(false);
    } finally {
      await linked.close();
    }
  });
});
