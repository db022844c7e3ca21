import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterEach } from 'vitest';
import { GroupCommit } from '../../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';
import { WriterClient } from '../../src/log/sqlite/writer-client.js';
import type { NewEntry } from '../../src/log/types.js';
import { tempDir } from './relay.js';

/** The `n`-th `rules.loaded` entry: the smallest entry a test can append and find again by its `path`, `r<n>.yaml`. */
export const rulesLoaded = (n: number): NewEntry => ({ type: 'rules.loaded', data: { path: `r${n}.yaml`, hash: `h${n}`, reason: 'test' } }) as unknown as NewEntry;

export interface GroupCommitOptions {
  /** The main thread's clock, stamped on its commits. */
  now?: () => Date;
  /** Attach a pipeline channel (`WriterClient`) with this clock. */
  pipelineNow?: () => Date;
}

export interface OpenGroupCommit {
  /** The database file, in a temp dir of its own. */
  path: string;
  dir: string;
  /** `serve`'s group commit on it (the main thread's side). */
  commit: GroupCommit;
  /** The pipeline thread's side, when `pipelineNow` was given. */
  pipeline: WriterClient | undefined;
}

/**
 * `serve`'s group commit on a fresh log, opened by the returned function (once per test) and
 * closed after each test with its pipeline channel and temp dir. Call at the top of a `describe`.
 */
export function groupCommitFixture(): (options?: GroupCommitOptions) => OpenGroupCommit {
  let opened: { temp: ReturnType<typeof tempDir>; commit: GroupCommit; channel?: MessageChannel } | undefined;
  afterEach(async () => {
    opened?.channel?.port1.close();
    await opened?.commit.close();
    opened?.temp.cleanup();
    opened = undefined;
  });
  return (options = {}) => {
    const temp = tempDir();
    const path = join(temp.dir, 'relay.db');
    new SqliteLog(path).close();
    const commit = new GroupCommit(path, options.now ? { now: options.now } : {});
    const channel = options.pipelineNow ? new MessageChannel() : undefined;
    const pipeline = channel ? new WriterClient(channel.port1, commit.connect(channel.port2), options.pipelineNow) : undefined;
    opened = { temp, commit, channel };
    return { path, dir: temp.dir, commit, pipeline };
  };
}
