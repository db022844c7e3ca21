import type { Checkpoint, CommitGroup } from '../seam.js';
import type { NewEntry } from '../types.js';

/** What the writer worker is started with (`workerData`). */
export interface WriterInit {
  path: string;
  busyTimeoutMs?: number;
  /** `HUSKY_RELAY_MASTER_KEY` as set; unset: the `master-key` file beside the database. */
  masterKeys?: string;
  /**
   * One Int32 shared by both threads: `WRITER_IDLE` while the writer waits for work, else
   * `WRITER_BUSY`. An append made while the writer is idle is posted at once instead of at the
   * end of the loop turn, so a long turn (a burst of requests) does not leave the writer idle.
   */
  state: SharedArrayBuffer;
  /**
   * `WatchedWal`'s memory: the writer publishes there the WAL file its guard watches, and a
   * writer started again after the first was lost opens the log on that file only.
   */
  wal?: SharedArrayBuffer;
}

export const WRITER_IDLE = 0;
export const WRITER_BUSY = 1;

/** A failure as it crosses the thread boundary: the SQLite `code` must survive it. */
export interface WriterError {
  name: string;
  message: string;
  code?: string;
}

export type WriterRequest =
  /**
   * Entries to commit; `at` is the timestamp the main thread's clock gave them. The groups
   * travel flattened (one object less to clone per group): `entries` in order, `counts[g]` how
   * many of them group `g` has, `checkpoints` the groups that advance one. The writer merges
   * every commit request waiting in its port into one transaction (group commit).
   */
  | {
      id: number;
      kind: 'commit';
      at: string;
      entries: NewEntry[];
      counts: number[];
      checkpoints: { group: number; checkpoint: Checkpoint }[];
    }
  /** Test hook: `PRAGMA …` on the writer's own connection (pragmas are per connection). */
  | { id: number; kind: 'pragma'; pragma: string }
  /**
   * Could a commit succeed now? (`/readyz`) The writer checks its WAL file, takes the write lock
   * and writes (then rolls back), so a read-only file or connection shows, and reads every table
   * and index at both ends, so a damaged page shows (`findDamage`). Waits behind other
   * processes' locks on the writer thread, never on the event loop.
   */
  | { id: number; kind: 'probe' }
  | { id: number; kind: 'close' };

/** A request before the main thread numbers it. */
export type WriterCall = WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never;

/**
 * `WriterError.code` of a group the writer left out because of its own entries (they could not
 * be serialized or projected: nested too deep, say), never because of the storage. Retrying
 * the same entries cannot succeed; the main thread answers them `EntryRejectedError`.
 */
export const ENTRY_REJECTED = 'entry_rejected';

/**
 * `WriterError.code` when the WAL file the writer's connection writes to is no longer the one
 * at `<db>-wal` (deleted or replaced while `serve` runs): a commit there would not survive a
 * crash, so none is made until `serve` restarts.
 */
export const WAL_LOST = 'wal_lost';

/** The answer to every commit request one transaction held: all of them succeeded, or none. */
export type CommitReply =
  /**
   * `seqs`: one per entry, in the order of `ids` and their entries; 0 for a duplicate. `ms`: the
   * transaction's time. `failed`: groups (numbered across all the requests of `ids`, in order)
   * that were left out, each with why; their entries have seq 0 in `seqs` and are not stored.
   * Only an entry the writer cannot serialize or project puts a group here (`ENTRY_REJECTED`),
   * or a storage failure met while committing the others one by one after that.
   */
  | { kind: 'committed'; ids: number[]; ok: true; seqs: number[]; ms: number; failed?: { group: number; error: WriterError }[] }
  | { kind: 'committed'; ids: number[]; ok: false; error: WriterError };

/** The answer to a pragma, probe or close request. */
export type CallReply = { kind: 'answered'; id: number; ok: true; value: unknown } | { kind: 'answered'; id: number; ok: false; error: WriterError };

export type WriterReply = CommitReply | CallReply;

export function toWriterError(error: unknown): WriterError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

/** What the writer thread tells every attached channel after each commit, whoever appended. */
export interface AppendedNotice {
  kind: 'appended';
  /** The highest seq the commit wrote. */
  lastSeq: number;
}

/** A commit request's groups, back from their flattened form (see `WriterRequest`), added to `into`; returns `into`. */
export function toGroups({ entries, counts, checkpoints }: Extract<WriterRequest, { kind: 'commit' }>, into: CommitGroup[]): CommitGroup[] {
  const first = into.length;
  let offset = 0;
  for (const count of counts) {
    into.push({ entries: entries.slice(offset, offset + count) });
    offset += count;
  }
  for (const { group, checkpoint } of checkpoints) into[first + group]!.checkpoint = checkpoint;
  return into;
}
