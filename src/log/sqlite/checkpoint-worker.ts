import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { passiveCheckpoint, scheduleCheckpoints } from './checkpoints.js';

/** What the writer thread starts the checkpoint thread with (`checkpoint-worker`). */
export interface CheckpointInit {
  /** The database file (it exists: the writer opened and migrated it first). */
  path: string;
  /** Between two checkpoints, ms (`DEFAULTS.log.checkpointEveryMs`). */
  everyMs: number;
}

/**
 * The checkpoint thread of `serve` on SQLite, started by the writer thread (see `checkpoints.ts`):
 * a `query_only` connection of its own (it checkpoints, it can never write an entry) that runs
 * a PASSIVE checkpoint every `everyMs`, so the writer's commits never copy the WAL into the
 * database file themselves. `synchronous = FULL`: the WAL is synced before it is copied and the
 * database file after, so a checkpoint never loses what a commit made durable.
 */
const init = workerData as CheckpointInit;
const db = new Database(init.path, { fileMustExist: true });
db.pragma('query_only = ON');
db.pragma('synchronous = FULL');
const schedule = scheduleCheckpoints(() => passiveCheckpoint(db), init.everyMs);
parentPort?.once('close', () => {
  schedule.stop();
  db.close();
});
