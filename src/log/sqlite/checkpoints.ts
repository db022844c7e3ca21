import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { DEFAULTS } from '../../config/defaults.js';
import { spawnCheckpointer } from './checkpoint-spawn.js';
import type { SqliteLog } from './sqlite-log.js';
import type { WalIdentity } from './wal-guard.js';

/**
 * WAL checkpoints of `serve`, taken off the writer thread (README "How it is built").
 *
 * By default SQLite checkpoints inside the COMMIT that makes the WAL reach 1000 pages: that
 * commit copies about 4 MB into the database file and fsyncs it, on the writer thread, while
 * the webhooks queued behind it wait (tens of ms; at 200 events/s that happens about twice a
 * second, and it was most of the relay's ack p99). Instead the writer's connection does not
 * checkpoint (`wal_autocheckpoint = 0`) and a connection of another thread runs a PASSIVE
 * checkpoint every `DEFAULTS.log.checkpointEveryMs`: it takes no write lock and waits for
 * nobody, so commits go on meanwhile. Once everything is copied, the writer's next transaction
 * starts the WAL over (and cuts it back to `journal_size_limit`), as it did before.
 *
 * The writer still checkpoints itself past `DEFAULTS.log.walBackstopPages` (a checkpoint thread
 * that died or fell far behind), so the WAL stays bounded whatever happens here.
 */

/** What one PASSIVE checkpoint did, as SQLite reports it (frames are pages of the WAL). */
export interface CheckpointResult {
  /** 1 when some frames could not be copied (a reader still needs them, or another checkpoint ran). */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied into the database file so far (this checkpoint and earlier ones). */
  checkpointed: number;
}

/** The timer the schedule runs on (tests inject one). */
export interface CheckpointTimers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** One PASSIVE checkpoint on `db`; null when it failed (it is tried again at the next turn). */
export function passiveCheckpoint(db: Database.Database): CheckpointResult | null {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    return result ?? null;
  } catch {
    // SQLITE_BUSY (the writer's backstop checkpoint holds the checkpoint lock), a closing file:
    // the next turn tries again, and the writer's backstop keeps the WAL bounded meanwhile
    return null;
  }
}

/**
 * Runs `checkpoint` every `everyMs` until stopped; each turn is scheduled after the previous one
 * returned, so a slow checkpoint (a busy disk) never overlaps the next. `onCheckpoint` is told
 * of each result and how long it took (ms, by `now`), for metrics and traces.
 */
export function scheduleCheckpoints(
  checkpoint: () => CheckpointResult | null,
  everyMs: number,
  options: { timers?: CheckpointTimers; now?: () => number; onCheckpoint?: (result: CheckpointResult | null, ms: number) => void } = {},
): { stop(): void } {
  const timers = options.timers ?? { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) };
  const now = options.now ?? (() => performance.now());
  let handle: unknown;
  let stopped = false;
  const turn = () => {
    if (stopped) return;
    const started = now();
    const result = checkpoint();
    options.onCheckpoint?.(result, now() - started);
    if (!stopped) handle = timers.setTimeout(turn, everyMs);
  };
  handle = timers.setTimeout(turn, everyMs);
  return {
    stop() {
      stopped = true;
      timers.clearTimeout(handle);
    },
  };
}

/**
 * Called by the writer thread after its first commit (not while `serve` starts, which stays as
 * fast as before): the writer checkpoints only once the WAL holds
 * `DEFAULTS.log.walSizeLimitBytes` (the backstop), and a checkpoint thread takes the rest.
 * Returns that thread (the writer ends it before it closes its own connection). `wal`: the WAL
 * the writer's guard watches; the thread opens nothing if that file is gone by the time it
 * starts (see `CheckpointInit.wal`).
 */
export function handOverCheckpoints(log: SqliteLog, wal?: WalIdentity): Worker {
  const pageSize = Number(log.db.pragma('page_size', { simple: true }));
  log.db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(DEFAULTS.log.walSizeLimitBytes / pageSize))}`);
  return spawnCheckpointer({ path: log.path, everyMs: DEFAULTS.log.checkpointEveryMs, wal });
}

/**
 * A TRUNCATE checkpoint (erasure: no page of what was erased may stay in the WAL file). When it
 * finds the checkpoint lock taken (`serve`'s checkpoint thread copying the WAL that moment: the
 * answer comes at once) it is tried again, up to `tries` times `waitMs` apart; when it waited
 * out the busy timeout for a reader, it is not (that reader holds on). True once the WAL was
 * copied and emptied. `now`: a clock in ms (tests inject one).
 */
export async function truncateWal(
  db: Pick<Database.Database, 'pragma'>,
  options: { tries?: number; waitMs?: number; now?: () => number } = {},
): Promise<boolean> {
  const { tries = 10, waitMs = 20, now = () => performance.now() } = options;
  for (let i = 0; i < tries; i++) {
    const started = now();
    try {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[];
      if (result?.busy === 0) return true;
    } catch {
      // SQLITE_BUSY: another checkpoint runs
    }
    if (now() - started > FAST_BUSY_MS) return false;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  return false;
}

/** A busy answer faster than this came from the checkpoint lock, not from waiting out a reader (ms). */
const FAST_BUSY_MS = 100;
