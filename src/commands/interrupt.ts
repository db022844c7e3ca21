import { UserError, WriteInterruptedError } from '../errors.js';
import type { Store } from '../log/store.js';
import { openExistingStore, type Globals } from './globals.js';

/** What `interruptible` gives a long command. */
export interface Interruption {
  /** Aborted at the first SIGINT (Ctrl-C) or SIGTERM; the work stops at its next safe point. */
  signal: AbortSignal;
  /**
   * Whether a stop was asked for, once the signals that came while the thread was blocked
   * (opening the log waits for a lock synchronously) have been handled: they are read in the
   * event loop's next poll phase, after this turn's promises (and, from a poll callback, after
   * the next immediate), so reading `signal.aborted` at once, or after one `setImmediate`, can
   * miss them. Resolves after two immediates: one poll phase has passed.
   */
  requested(): Promise<boolean>;
  /**
   * The work is over: a signal no longer aborts anything. The first one after it is let pass, so
   * the command's result (a table piped to a slow reader, the error line main prints after the
   * `finally`, the log's close) is written whole and the exit code is the result's; a second one
   * ends the process at once (exit 130 for SIGINT, 143 for SIGTERM), for a close that hangs.
   * Call it in a `finally`.
   */
  done(): void;
  /** The signals are Node's again from now (exit 130/143, nothing said): for work a signal may end outright. */
  giveBack(): void;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during a long command (`replay --rebuild`, `--verify`, a backfill,
 * `migrate`) aborts `signal` instead of ending the process: the work stops at a safe point, the
 * command clears its bar (`Progress.stop`: the line saying where it stopped, the terminal
 * restored), says what state things are in, releases its locks and exits 1. A second signal
 * meanwhile changes nothing: the stop is under way.
 */
export function interruptible(): Interruption {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    requested: async () => {
      // a signal is read from libuv's pipe in the loop's poll phase; one immediate can run before
      // the next poll (when this turn is itself a poll callback): the second runs after one
      for (let hop = 0; hop < 2; hop++) await new Promise((resolve) => setImmediate(resolve));
      return controller.signal.aborted;
    },
    done: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      letOneSignalPass();
    },
    giveBack: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

let passing = false;
/**
 * From now until the process ends, the first SIGINT or SIGTERM is let pass and a second one ends
 * the process with its signal's exit code (128 + 2 or 15). Installed once a process: signal
 * listeners keep no event loop alive, so the process still ends when its work does.
 */
function letOneSignalPass(): void {
  if (passing) return;
  passing = true;
  let seen = false;
  const late = (signal: NodeJS.Signals) => {
    if (seen) process.exit(signal === 'SIGINT' ? 130 : 143);
    seen = true;
  };
  process.on('SIGINT', late);
  process.on('SIGTERM', late);
}

/** What `openInterruptible` gives: the signals taken (`stop`, the caller calls `stop.done()`), and the log. */
export interface InterruptibleLog {
  stop: Interruption;
  store: Store;
}

/**
 * Takes Ctrl-C (`interruptible`) from the first instant, then opens the existing log at
 * `g.dbPath` (`openExistingStore`): a Ctrl-C or SIGTERM while it opens (it waits for a lock, a
 * migration) no longer ends the process with Node's default (exit 130, nothing said). The caller
 * asks `stop.requested()` once it holds what its finally releases (a lock), so that its message
 * says what state things are in, and calls `stop.done()`. The log is opened with `stop.signal` as
 * its `interrupt`: on SQLite, a write of the store waiting for another process's write lock (or
 * not begun) once it aborts throws `WriteInterruptedError`, nothing of it made. Opening errors are
 * rethrown, the signals given back.
 */
export async function openInterruptible(g: Pick<Globals, 'dbPath' | 'masterKeys'>): Promise<InterruptibleLog> {
  const stop = interruptible();
  try {
    return { stop, store: await openExistingStore(g.dbPath, g.masterKeys, stop.signal) };
  } catch (error) {
    stop.done();
    throw error;
  }
}

/**
 * For a short command that writes (`erase`, `retry`, `resume`), whose writes are one transaction:
 * `openInterruptible`, then `work` on the log, which is closed after. Ctrl-C or SIGTERM ends it
 * with a `UserError` (exit 1, code `interrupted`) when it came while the log opened
 * (`COMMAND: interrupted while the log opened; nothing was changed`), or before the write began,
 * which on SQLite is most often while it waited for another process's write lock (`serve`
 * mid-commit, another command): `COMMAND: interrupted while it waited for another process's write
 * lock on the log; nothing was changed` (`WriteInterruptedError.when`). Once the write has begun,
 * a signal changes nothing: the command is short, and finishes. On a store whose writes do not
 * heed the interrupt (`Store.writesHeedInterrupt` false: PostgreSQL, whose waits are the
 * server's, which rolls back what the process it loses had not committed) the signals are given
 * back once the log is open (Node's default). Resolves with what `work` does; rethrows its other errors.
 */
export async function writeUnlessInterrupted<T>(g: Pick<Globals, 'dbPath' | 'masterKeys'>, command: string, work: (store: Store) => Promise<T>): Promise<T> {
  const { stop, store } = await openInterruptible(g);
  try {
    if (await stop.requested()) throw new UserError(`${command}: interrupted while the log opened; nothing was changed`, 'interrupted');
    if (!store.writesHeedInterrupt) stop.giveBack();
    return await work(store);
  } catch (error) {
    if (error instanceof WriteInterruptedError) throw new UserError(`${command}: interrupted ${error.when}; nothing was changed`, 'interrupted');
    throw error;
  } finally {
    stop.done();
    await store.close();
  }
}
