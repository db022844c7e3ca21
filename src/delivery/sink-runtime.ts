import type { Sink, SinkCommonOptions, RetryPolicy } from '../sinks/types.js';
import { TokenBucket } from './token-bucket.js';

/**
 * One sink's traffic as the dispatcher runs it: how many attempts it may have in flight
 * (`concurrency`), its token bucket (`rate_limit`), and the pause a 429 puts the whole sink in
 * (README "Delivery"). Kept by sink name across rules reloads, so a reload neither forgets a rate
 * limit's pause nor resets what is in flight; the sender and the policy are what a reload
 * replaces.
 */
export class SinkRuntime {
  /** The sender of the current rules; null while the sink is disabled or no longer declared. */
  sink: Sink | null = null;
  policy!: RetryPolicy;
  concurrency = 1;
  /** Attempts started and not yet recorded: never started again meanwhile. */
  readonly inFlight = new Map<string, Promise<void>>();
  /** Attempts waiting on the sink: what `concurrency` limits (recording them is not). */
  sending = 0;
  /** After a 429 the whole sink waits, not just the delivery that got it (ms, dispatcher clock). */
  pausedUntil = 0;
  /** Rate-limited answers in a row: without a `Retry-After` each doubles the wait. */
  rateLimitedInARow = 0;
  private bucket: TokenBucket | null = null;
  private bucketFor = '';

  constructor(readonly name: string) {}

  /** The sink as the current rules declare it; a changed `rate_limit` starts a new bucket. */
  configure(sink: Sink | null, options: SinkCommonOptions, policy: RetryPolicy, concurrency: number, now: number): void {
    this.sink = sink;
    this.policy = policy;
    this.concurrency = concurrency;
    const rate = options.rate_limit;
    const bucketFor = JSON.stringify(rate ?? null);
    if (bucketFor === this.bucketFor) return;
    this.bucket = rate ? new TokenBucket(rate.per_second, rate.burst ?? Math.max(1, rate.per_second), now) : null;
    this.bucketFor = bucketFor;
  }

  /** Whether another attempt may start now: enabled, not paused, a slot free. (The bucket is asked by `takeToken`.) */
  canStart(now: number): boolean {
    return this.sink !== null && this.pausedUntil <= now && this.sending < this.concurrency;
  }

  /** Takes a token of the rate limit for an attempt starting now; false when none is left. */
  takeToken(now: number): boolean {
    return this.bucket === null || this.bucket.tryTake(now);
  }

  /** When this sink can start something again, if it waits on its pause or its bucket (ms); else null. */
  readyAt(now: number): number | null {
    if (this.pausedUntil > now) return this.pausedUntil;
    const wait = this.bucket?.waitMs(now) ?? 0;
    return wait > 0 ? now + wait : null;
  }

  /** Counts an attempt's answer: a 429 extends the run of 429s (returned), anything else ends it. */
  countRateLimited(rateLimited: boolean): number {
    this.rateLimitedInARow = rateLimited ? this.rateLimitedInARow + 1 : 0;
    return this.rateLimitedInARow;
  }
}
