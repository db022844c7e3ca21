import type { Activity, ProjectionReader } from '../project/reader.js';

const MINUTE = 60_000;
/** The chart's span, in minutes: the last 24 h, the current minute last. */
const CHART_MINUTES = 24 * 60;
/** A minute is final (its counts never change again) this long after it ended: `at` is stamped when an entry is appended. */
const SETTLE_MS = 10_000;
/** Minutes counted per step of the warm-up, one step per turn of the event loop. */
const WARM_STEP = 60;

/**
 * The overview's chart (README "Console"): events received and delivery attempts per minute
 * over the last 24 h. A minute's counts are read once (`ProjectionReader.activity`) and kept
 * once the minute is final, so a page asks the log for the minutes since the last page only.
 * `warm()` fills the day in steps of an hour at start, off the path of any request, so the
 * first overview after a start does not wait for 1,440 minutes of a large log.
 */
export class ChartCounts {
  private readonly final = new Map<number, [events: number, attempts: number]>();

  constructor(
    private readonly projections: ProjectionReader,
    private readonly now: () => number,
  ) {}

  /** The last 24 h, per minute, oldest first (`minutes` in epoch seconds). */
  async activity(): Promise<Activity> {
    const last = Math.floor(this.now() / MINUTE) * MINUTE;
    const first = last - (CHART_MINUTES - 1) * MINUTE;
    for (const map of [this.final, this.open]) for (const minute of map.keys()) if (minute < first) map.delete(minute);
    let run: number | null = null;
    for (let m = first; m <= last + MINUTE; m += MINUTE) {
      const missing = m <= last && !this.final.has(m);
      if (missing && run === null) run = m;
      if (!missing && run !== null) {
        await this.read(run, (m - run) / MINUTE);
        run = null;
      }
    }
    const out: Activity = { minutes: [], events: [], attempts: [] };
    for (let m = first; m <= last; m += MINUTE) {
      const [events, attempts] = this.final.get(m) ?? this.open.get(m) ?? [0, 0];
      out.minutes.push(m / 1000);
      out.events.push(events);
      out.attempts.push(attempts);
    }
    return out;
  }

  /** Counts the day before now in hour steps, one per turn of the event loop, until done or `stop()`; never rejects. */
  async warm(): Promise<void> {
    const last = Math.floor(this.now() / MINUTE) * MINUTE;
    for (let m = last - (CHART_MINUTES - 1) * MINUTE; m < last && !this.stopped; m += WARM_STEP * MINUTE) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.stopped) return;
      try {
        await this.read(m, Math.min(WARM_STEP, (last - m) / MINUTE));
      } catch {
        return; // the log is closing: pages will read what they need
      }
    }
  }

  /** Ends a warm-up under way (the relay stops). */
  stop(): void {
    this.stopped = true;
  }

  private stopped = false;

  /** Minutes not final yet, from the last read (the current minute and the one before). */
  private open = new Map<number, [number, number]>();

  private async read(from: number, count: number): Promise<void> {
    const activity = await this.projections.activity(new Date(from).toISOString(), count);
    const settled = this.now() - SETTLE_MS;
    activity.minutes.forEach((seconds, i) => {
      const minute = seconds * 1000;
      const counts: [number, number] = [activity.events[i]!, activity.attempts[i]!];
      if (minute + MINUTE <= settled) this.final.set(minute, counts);
      else this.open.set(minute, counts);
    });
    for (const minute of this.open.keys()) if (this.final.has(minute)) this.open.delete(minute);
  }
}
