/**
 * Typed errors. `UserError` is something the user can fix (exit 1, message shown as is);
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
