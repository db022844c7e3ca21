import { parentPort, workerData } from 'node:worker_threads';
import { codeOf } from '../../os-errors.js';
import { passiveCheckpoint, scheduleCheckpoints } from './checkpoints.js';
import { openOnRunningLog } from './open-running.js';
import type { WalIdentity } from './wal-guard.js';
import { WAL_LOST } from './writer-protocol.js';

/** What the writer thread starts the checkpoint thread with (`checkpoint-worker`). */
export interface CheckpointInit {
  /** The database file (it exists: the writer opened and migrated it first). */
  path: string;
  /** Between two checkpoints, ms (`DEFAULTS.log.checkpointEveryMs`). */
  everyMs: number;
  /**
   * The WAL the writer's connection writes to, as its guard saw it. If the file at `<db>-wal` is
   * no longer that one when this thread opens its connection (deleted or replaced meanwhile),
   * the thread keeps no connection and ends (`openOnRunningLog`): its connection would make a
   * new WAL beside the database, which the writer's guard would then take for another process's
   * and not save what the writer holds. The writer's guard reports the loss at its next commit;
   * its backstop checkpoint keeps its own WAL bounded meanwhile. Absent: not checked.
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
const db = open();
if (db) {
  db.pragma('query_only = ON');
  db.pragma('synchronous = FULL');
  const schedule = scheduleCheckpoints(() => passiveCheckpoint(db), init.everyMs);
  parentPort?.once('close', () => {
    schedule.stop();
    db.close();
  });
}

/** The thread's connection; none when the writer's WAL is gone (other failures end the thread). */
function open() {
  try {
    return openOnRunningLog(init.path, init.wal, 'the checkpoint thread');
  } catch (error) {
    if (codeOf(error) !== WAL_LOST) throw error;
    return undefined;
  }
}
