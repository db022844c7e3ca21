import { setImmediate as hop } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { WriteInterruptedError } from '../../errors.js';
import { codeOf } from '../../os-errors.js';

/**
 * How long one slice of a command's wait for another process's write lock is (ms): Ctrl-C is
 * heard between two. Short against the 5 s busy timeout; long against a try (microseconds).
 * (Here, not in `DEFAULTS`: nothing to tune, and `defaults.ts` is at its size.)
 */
const SLICE_MS = 50;

/**
 * Runs `write`, one write transaction of `db` (a better-sqlite3 `.immediate()` transaction: when
 * it throws, nothing of it stays), so that Ctrl-C can end a wait for another process's write lock.
 *
 * SQLite waits for a lock inside the call (the connection's busy timeout), holding the thread: a
 * signal's handler cannot run until the wait ends. With a `signal`, the wait is cut into slices of
 * `SLICE_MS` (50 ms), and before each the event loop reads the signals that came; once
 * `signal` is aborted (before the first try, or between two) it throws `WriteInterruptedError`
 * and `write` is not tried (again). A lock still held after the connection's whole busy timeout
 * (`PRAGMA busy_timeout`, ms) fails as before, with SQLite's `SQLITE_BUSY`; any other error is
 * thrown as it is. Without a `signal` (`serve`'s threads, tests), `write` runs as it would alone.
 */
export async function writeWhenFree<T>(db: Database, signal: AbortSignal | undefined, write: () => T): Promise<T> {
  if (!signal) return write();
  const patience = db.pragma('busy_timeout', { simple: true }) as number;
  const started = performance.now();
  for (let waited = false; ; waited = true) {
    // a signal that came while the thread was held (a long read before, the last slice) is read in
    // the loop's poll phase: the second immediate runs after one (see `Interruption.requested`)
    await hop();
    await hop();
    if (signal.aborted) throw new WriteInterruptedError(waited);
    const left = Math.max(0, Math.ceil(patience - (performance.now() - started)));
    db.pragma(`busy_timeout = ${Math.min(SLICE_MS, left)}`);
    try {
      return write();
    } catch (error) {
      // SQLITE_BUSY out of an immediate transaction: its BEGIN found the lock taken, nothing was done
      if (!codeOf(error)?.startsWith('SQLITE_BUSY') || left <= SLICE_MS) throw error;
    } finally {
      db.pragma(`busy_timeout = ${patience}`);
    }
  }
}
