/** What `interruptible` gives a long command. */
export interface Interruption {
  /** Aborted at the first SIGINT (Ctrl-C) or SIGTERM; the work stops at its next safe point. */
  signal: AbortSignal;
  /**
   * Whether a stop was asked for, once the signals that came while the thread was blocked
   * (opening the log waits for a lock synchronously) have been handled: they run after this
   * turn's promises, so reading `signal.aborted` at once can miss them.
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
      await new Promise((resolve) => setImmediate(resolve));
      return controller.signal.aborted;
    },
    done: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
