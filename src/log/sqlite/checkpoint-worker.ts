import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { passiveCheckpoint, scheduleCheckpoints } from './checkpoints.js';
import { isSameWal, walPathOf, type WalIdentity } from './wal-guard.js';

/** What the writer thread starts the checkpoint thread with (`checkpoint-worker`). */
export interface CheckpointInit {
  /** The database file (it exists: the writer opened and migrated it first). */
  path: string;
  /** Between two checkpoints, ms (`DEFAULTS.log.checkpointEveryMs`). */
  everyMs: number;
  /**
   * The WAL the writer's connection writes to, as its guard saw it. If the file at `<db>-wal` is
   * no longer that one when this thread starts (deleted or replaced meanwhile), the thread
   * opens nothing and ends: its connection would make a new WAL beside the database, which the
   * writer's guard would then take for another process's and not save what the writer holds.
   * The writer's backstop checkpoint keeps its own WAL bounded meanwhile. Absent: not checked.
   */
  wal?: WalIdentity;
}

/**
 * The checkpoint thread of `serve` on SQLite, started by the writer thread (see `checkpoints.ts`):
 * a `query_only` connection of its own (it checkpoints, it can never write an entry) that runs
 * a PASSIVE checkpoint every `everyMs`, so the writer's commits never copy the WAL into the
 * database file themselves. `synchronous = FULL`: the WAL is synced before it is copied and the
 * database file after, so a checkpoint never loses what a commit made durable.
 */
const init = workerData as CheckpointInit;
if (init.wal === undefined || isSameWal(walPathOf(init.path), init.wal)) {
  const db = new Database(init.path, { fileMustExist: true });
  db.pragma('query_only = ON');
  db.pragma('synchronous = FULL');
  const schedule = scheduleCheckpoints(() => passiveCheckpoint(db), init.everyMs);
  parentPort?.once('close', () => {
    schedule.stop();
    db.close();
  });
}
