import { UserError } from '../errors.js';
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
  /** The signals are no longer handled here (call it in a `finally`). */
  done(): void;
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
    },
  };
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
 * says what state things are in, and calls `stop.done()`. Opening errors are rethrown, the
 * signals given back.
 */
export async function openInterruptible(g: Pick<Globals, 'dbPath' | 'masterKeys'>): Promise<InterruptibleLog> {
  const stop = interruptible();
  try {
    return { stop, store: await openExistingStore(g.dbPath, g.masterKeys) };
  } catch (error) {
    stop.done();
    throw error;
  }
}

/**
 * For a short command that writes (`erase`, `retry`, `resume`): `openInterruptible`, and when a
 * stop was asked for while the log opened, the log closed and a `UserError` (exit 1, code
 * `interrupted`): `COMMAND: interrupted while the log opened; nothing was changed`. Otherwise the
 * signals are given back (Node's default from then on) and the log returned; the caller closes it.
 */
export async function openUnlessInterrupted(g: Pick<Globals, 'dbPath' | 'masterKeys'>, command: string): Promise<Store> {
  const { stop, store } = await openInterruptible(g);
  const requested = await stop.requested().finally(() => stop.done());
  if (!requested) return store;
  await store.close();
  throw new UserError(`${command}: interrupted while the log opened; nothing was changed`, 'interrupted');
}
