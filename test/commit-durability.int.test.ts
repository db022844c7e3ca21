import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { WriterClient } from '../src/log/sqlite/writer-client.js';
import type { NewEntry } from '../src/log/types.js';
import { tempDir } from './helpers/relay.js';

/**
 * `serve`'s writer fsyncs a commit that holds anything of the main thread's (a webhook about to
 * be answered 200), and does not fsync one holding only the pipeline thread's entries
 * (`log/sqlite/commit-durability.ts`): SQLite's `synchronous`, as the writer's connection has it
 * after each commit, says which.
 */
const rulesLoaded = (n: number): NewEntry => ({ type: 'rules.loaded', data: { path: `r${n}.yaml`, hash: `h${n}`, reason: 'test' } }) as unknown as NewEntry;
const FULL = 2;
const NORMAL = 1;

describe('how the writer syncs a commit', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  let commit: GroupCommit | undefined;
  let channel: MessageChannel | undefined;
  afterEach(async () => {
    channel?.port1.close();
    await commit?.close();
    temp?.cleanup();
  });

  it("the main thread's commits are FULL, the pipeline's alone NORMAL; both are in the log in order", async () => {
    // Given serve's group commit, and a pipeline channel attached to its writer
    temp = tempDir();
    const path = join(temp.dir, 'relay.db');
    new SqliteLog(path).close();
    commit = new GroupCommit(path);
    channel = new MessageChannel();
    const pipeline = new WriterClient(channel.port1, commit.connect(channel.port2));
    // When the main thread commits (a webhook), then the pipeline alone, then the main thread again
    const first = await commit.append([rulesLoaded(1)]);
    expect(await commit.debugPragma('synchronous')).toBe(FULL);
    const second = await pipeline.append([rulesLoaded(2), rulesLoaded(3)]);
    expect(await commit.debugPragma('synchronous')).toBe(NORMAL);
    const third = await commit.append([rulesLoaded(4)]);
    expect(await commit.debugPragma('synchronous')).toBe(FULL);
    // Then every entry is in the log, in the order committed
    const seqs = [...first, ...second, ...third].map((a) => a.seq);
    expect(seqs).toEqual([1, 2, 3, 4]);
    const log = new SqliteLog(path);
    try {
      expect(log.db.prepare(`SELECT json_extract(data, '$.path') FROM entries ORDER BY seq`).pluck().all()).toEqual(['r1.yaml', 'r2.yaml', 'r3.yaml', 'r4.yaml']);
    } finally {
      log.close();
    }
  });
});
