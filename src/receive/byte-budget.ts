/**
 * A budget of bytes shared by concurrent requests. `take` either reserves bytes or says no; a
 * reservation is given back once, by the function `take` returned. One reservation always fits
 * when nothing else holds any, so a limit below one request's size cannot refuse everything.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` and returns how to give them back, or null when they do not fit. */
  take(bytes: number): (() => void) | null {
    if (this.used > 0 && this.used + bytes > this.limit) return null;
    this.used += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
    };
  }
}
