import type { Sink, SinkCommonOptions, RetryPolicy } from '../sinks/types.js';
import { TokenBucket } from './token-bucket.js';

/** A sink paused because its credentials were refused (README "When a rule fails at run time"), as the dispatcher holds it. */
export interface CredentialPause {
  /** The refusal's error code (`token_revoked`, `unauthorized`…). */
  code: string;
  /** `code: message` of the refused attempt. */
  reason: string;
  /** When this dispatcher learnt of the pause (ISO, its clock). */
  since: string;
  /** When the next probe attempt may start (ms, dispatcher clock). */
  nextProbeAt: number;
}

/**
 * One sink's traffic as the dispatcher runs it: how many attempts it may have in flight
 * (`concurrency`), its token bucket (`rate_limit`), the pause a 429 puts the whole sink in
 * (README "Delivery"), and the pause refused credentials put it in until it is resumed (README "When a rule fails at run time"). Kept
 * by sink name across rules reloads, so a reload neither forgets a pause nor resets what is in
 * flight; the sender and the policy are what a reload replaces.
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
  /** Paused for refused credentials: only one probe attempt at a time starts, every `probeMs`. */
  pause: CredentialPause | null = null;
  /** The delivery of the paused sink's probe attempt while it is in flight, else null. */
  probing: string | null = null;
  /** The credentials of the config in force (`credentialsOf`); undefined before the first. */
  credentials: string | undefined;
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

  /**
   * Whether another attempt may start now: enabled, not waiting out a 429, a slot free; while
   * paused for its credentials, only the probe when it is due and nothing else is in flight.
   * (The bucket is asked by `takeToken`.)
   */
  canStart(now: number): boolean {
    if (this.sink === null || this.pausedUntil > now) return false;
    if (this.pause) return this.probing === null && this.sending === 0 && this.pause.nextProbeAt <= now;
    return this.sending < this.concurrency;
  }

  /** Pauses the sink for its credentials; a pause already held keeps its probe time. */
  pauseFor(code: string, reason: string, since: string, nextProbeAt: number): void {
    this.pause ??= { code, reason, since, nextProbeAt };
  }

  /** The pause ended (resumed by hand, by a reload, by a probe): attempts flow again. */
  resume(): void {
    this.pause = null;
  }

  /** The paused sink starts its probe now: the next one may start `probeMs` later. */
  startProbe(deliveryId: string, now: number, probeMs: number): void {
    if (!this.pause) return;
    this.probing = deliveryId;
    this.pause.nextProbeAt = now + probeMs;
  }

  /** Takes a token of the rate limit for an attempt starting now; false when none is left. */
  takeToken(now: number): boolean {
    return this.bucket === null || this.bucket.tryTake(now);
  }

  /** When this sink can start something again, if it waits on its pause or its bucket (ms); else null. */
  readyAt(now: number): number | null {
    if (this.pausedUntil > now) return this.pausedUntil;
    // paused: the probe's time, when it is still to come (a due probe starts with the next due delivery)
    if (this.pause) return this.probing === null && this.pause.nextProbeAt > now ? this.pause.nextProbeAt : null;
    const wait = this.bucket?.waitMs(now) ?? 0;
    return wait > 0 ? now + wait : null;
  }

  /** Counts an attempt's answer: a 429 extends the run of 429s (returned), anything else ends it. */
  countRateLimited(rateLimited: boolean): number {
    this.rateLimitedInARow = rateLimited ? this.rateLimitedInARow + 1 : 0;
    return this.rateLimitedInARow;
  }
}
