import type { SinkCommonOptions } from '../sinks/types.js';
import { TokenBucket } from './token-bucket.js';

/** What a sink's traffic has done so far: kept across rules reloads, never rebuilt. */
export interface SinkState {
  /** Attempts started and not yet recorded: never picked again meanwhile. */
  inFlight: Map<string, Promise<void>>;
  /** Attempts waiting on the sink: what `concurrency` limits (recording them is not). */
  sending: number;
  /** After a 429 the whole sink waits, not just the delivery that got it. */
  pausedUntil: number;
  rateLimitedInARow: number;
  /** The token bucket, and the `rate_limit` it was made for (a changed limit makes a new one). */
  bucket: TokenBucket | null;
  bucketFor: string;
}

export function newSinkState(): SinkState {
  return { inFlight: new Map(), sending: 0, pausedUntil: 0, rateLimitedInARow: 0, bucket: null, bucketFor: '' };
}

/** A new token bucket when the sink's `rate_limit` changed (or none without one); else the one it has. */
export function fitRateLimit(state: SinkState, rate: SinkCommonOptions['rate_limit'], now: number): void {
  const bucketFor = JSON.stringify(rate ?? null);
  if (bucketFor === state.bucketFor) return;
  state.bucket = rate ? new TokenBucket(rate.per_second, rate.burst ?? Math.max(1, rate.per_second), now) : null;
  state.bucketFor = bucketFor;
}
