/**
 * The relay's clock, injectable so that backoff, `Retry-After`, rate limits and timestamps are
 * tested without sleeping. Routing and delivery run on a thread of their own, so a test's clock
 * must reach that thread: a `SharedClock` keeps its time in shared memory, and the thread reads
 * the same cell the test moves.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock whose time is set by hand and shared between threads: a Float64 in a
 * SharedArrayBuffer. `SharedClock.attach(buffer)` on another thread reads the same time.
 */
export class SharedClock implements Clock {
  private readonly cell: Float64Array;

  /** A new clock at `startMs` (ms since the epoch). */
  constructor(startMs: number);
  /** A clock over the shared cell of another (see `buffer`). */
  constructor(startMs: number, buffer: SharedArrayBuffer);
  constructor(startMs: number, buffer?: SharedArrayBuffer) {
    this.cell = new Float64Array(buffer ?? new SharedArrayBuffer(8));
    if (!buffer) this.cell[0] = startMs;
  }

  /** The same clock on another thread (its time is the buffer's). */
  static attach(buffer: SharedArrayBuffer): SharedClock {
    return new SharedClock(0, buffer);
  }

  /** The memory to hand to another thread. */
  get buffer(): SharedArrayBuffer {
    return this.cell.buffer as SharedArrayBuffer;
  }

  readonly now = (): number => this.cell[0]!;

  /** Moves the time by `ms` (may be negative), for every thread that reads this clock. */
  advance(ms: number): void {
    this.cell[0] = this.cell[0]! + ms;
  }

  /** Sets the time. */
  set(ms: number): void {
    this.cell[0] = ms;
  }
}
