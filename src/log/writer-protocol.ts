import type { Checkpoint } from './log.js';
import type { NewEntry } from './types.js';

/** The most entries one transaction takes; a longer queue commits in several. */
export const MAX_COMMIT_ENTRIES = 2000;

/** What the writer worker is started with (`workerData`). */
export interface WriterInit {
  path: string;
  busyTimeoutMs?: number;
  /**
   * One Int32 shared by both threads: `WRITER_IDLE` while the writer waits for work, else
   * `WRITER_BUSY`. An append made while the writer is idle is posted at once instead of at the
   * end of the loop turn, so a long turn (a burst of requests) does not leave the writer idle.
   */
  state: SharedArrayBuffer;
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
  /** Can the writer take the write lock now? (`/readyz`) Waits behind other processes' locks, not the event loop. */
  | { id: number; kind: 'probe' }
  | { id: number; kind: 'close' };

/** A request before the main thread numbers it. */
export type WriterCall = WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never;

/** The answer to every commit request one transaction held: all of them succeeded, or none. */
export type CommitReply =
  /** `seqs`: one per entry, in the order of `ids` and their entries; 0 for a duplicate. `ms`: the transaction's time. */
  | { kind: 'committed'; ids: number[]; ok: true; seqs: number[]; ms: number }
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
