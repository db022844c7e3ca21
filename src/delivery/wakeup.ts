/**
 * One coalescing wake-up for a loop that looks for work (the router, the dispatcher): any
 * number of `wake()` calls before the next look make one look; a wake-up during a look makes
 * one more look after it, never two at once; `at(ms)` asks for a look at a time on the
 * loop's clock (the earliest asked for wins). Time comes from an injected clock, so a test
 * that moves its clock and wakes the loop sees what is due then.
 */
export class Wakeup {
  private scheduled = false;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /**
   * @param look - one look for work; it must catch its own errors (a rejection is logged by
   *   `onError` and the next wake-up looks again).
   * @param now - the loop's clock (ms since the epoch).
   */
  constructor(
    private readonly look: () => Promise<void> | void,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Look soon (after the I/O of this turn of the event loop). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /**
   * Look at `ms` on the loop's clock, or soon if that has passed. Only the earliest pending
   * request is kept; a look clears it, and the look asks again for what it still waits for.
   * The timer does not keep the process alive.
   */
  at(ms: number): void {
    if (this.stopped || ms >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = ms;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(1, ms - this.now()));
    this.timer.unref();
  }

  /** Looks no more; resolves when a look in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private run(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timerAt = Infinity;
    this.running = Promise.resolve()
      .then(() => this.look())
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }
}

/**
 * `wake`, called at most once per `lingerMs` however often the result is called: the first call
 * schedules it `lingerMs` later (a real timer, unreferenced), and calls meanwhile join it. This
 * is how a commit wakes routing and delivery (`DEFAULTS.pipeline.wakeLingerMs`): at a steady
 * 200 events/s every commit woke them, and each look read the log's tail, planned one event and
 * committed its plans alone; waiting a few ms lets one look take several events, as it does
 * under a flood. 0 calls `wake` at once, every time.
 */
export function lingering(wake: () => void, lingerMs: number): () => void {
  if (lingerMs <= 0) return wake;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      wake();
    }, lingerMs);
    timer.unref();
  };
}
