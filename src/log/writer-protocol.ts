import type { Checkpoint } from './log.js';
import type { NewEntry } from './types.js';

/** What the writer worker is started with (`workerData`). */
export interface WriterInit {
  path: string;
  busyTimeoutMs?: number;
}

/** A failure as it crosses the thread boundary: the SQLite `code` must survive it. */
export interface WriterError {
  name: string;
  message: string;
  code?: string;
}

export type WriterRequest =
  /**
   * One transaction holding every group; `at` is the timestamp the main thread's clock gave it.
   * The groups travel flattened (one object less to clone per group): `entries` in order,
   * `counts[g]` how many of them group `g` has, `checkpoints` the groups that advance one.
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

export type WriterReply =
  /** One seq per entry, in order, all groups flattened; 0 for a duplicate. */
  | { id: number; ok: true; seqs: number[] }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WriterError };

export function toWriterError(error: unknown): WriterError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}
