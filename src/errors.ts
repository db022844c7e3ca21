/**
 * Typed errors. `UserError` is something the user can fix (exit 1, message shown as is);
import { DEFAULTS } from './config/defaults.js';
 * anything else is ours (exit 2).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code = 'user_error',
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The log could not be written: disk full, read-only, locked. Answers 503 `log_unavailable`. */
export class LogUnavailableError extends Error {
  readonly code = 'log_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogUnavailableError';
  }
}

/**
 * The console's reads cannot be answered now: the read thread has `DEFAULTS.console.maxQueuedReads`
 * reads outstanding, a read ran past `DEFAULTS.console.readTimeoutMs`, or the thread died and
 * is being started again. Answers 503 `reads_unavailable` with `Retry-After: retryAfterSeconds`
 * (README "Console"). Webhooks are not affected: they never read through that thread.
 */
export class ReadsUnavailableError extends Error {
  readonly code = 'reads_unavailable';
  constructor(
    message: string,
    /** What the 503 tells the client to wait before asking again, in seconds. */
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'ReadsUnavailableError';
  }
}

/**
 * The log refused these entries themselves, not the storage: their data cannot be written
 * (it cannot cross to the writer thread, or is nested past `DEFAULTS.http.maxJsonDepth`). Retrying the same
 * entries can never succeed, so a caller must not retry them as it would a `LogUnavailableError`:
 * the router records the event's deliveries as dead with the reason instead.
 */
export class EntryRejectedError extends Error {
  readonly code = 'entry_rejected';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EntryRejectedError';
  }
}

/**
 * A direct write to the log given up at Ctrl-C or SIGTERM (the `interrupt` signal of
 * `OpenStoreOptions`), before its transaction began: nothing of it was written. `waited`: it
 * had been waiting for another process's write lock (`serve` mid-commit, another command);
 * false: the signal came before it tried. Commands turn it into their one line (code `interrupted`).
 */
export class WriteInterruptedError extends Error {
  readonly code = 'interrupted';
  constructor(readonly waited: boolean) {
    super(`interrupted ${waited ? 'while waiting for the write lock' : 'before the write'}`);
    this.name = 'WriteInterruptedError';
  }

  /** When it was interrupted, as a command's line says it: `while it waited for another process's write lock on the log`. */
  get when(): string {
    return this.waited ? "while it waited for another process's write lock on the log" : 'before it wrote to the log';
  }
}
