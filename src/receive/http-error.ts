/** An answer of the webhook route (README "HTTP"): a status and the JSON body's `error` code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(code);
    this.name = 'HttpError';
  }

  get body(): Record<string, unknown> {
    return this.details === undefined ? { error: this.code } : { error: this.code, details: this.details };
  }
}
