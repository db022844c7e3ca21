import type { DeliveryAttempted, NewEntry } from '../log/types.js';
import type { AttemptOutcome, RetryPolicy } from '../sinks/types.js';
import { backoffMs, rateLimitedWaitMs } from './next-attempt.js';

export interface AttemptFacts {
  deliveryId: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  /** Counted failures since planning or the last re-drive, before this attempt. */
  failuresBefore: number;
  /** Rate-limited answers in a row for this sink, this one included. */
  rateLimitedInARow: number;
  durationMs: number;
  policy: RetryPolicy;
  now: number;
  random: number;
}

/**
 * What an attempt's outcome means for the delivery (SPEC §7), as the entries to append:
 * success; rate limited (wait, not counted); transient (back off, dead after max_attempts);
 * permanent (dead at once). Pure.
 */
export function decide(outcome: AttemptOutcome, f: AttemptFacts): NewEntry[] {
  const base: Omit<DeliveryAttempted, 'outcome' | 'error' | 'retry_at' | 'result'> = {
    delivery_id: f.deliveryId,
    attempt: f.attempt,
    duration_ms: Math.round(f.durationMs),
  };
  if (outcome.outcome === 'succeeded') {
    return [{ type: 'delivery.attempted', data: { ...base, outcome: 'succeeded', error: null, retry_at: null, result: outcome.result } }];
  }
  const { error } = outcome;
  const failed = (retryAt: number | null): NewEntry => ({
    type: 'delivery.attempted',
    data: { ...base, outcome: 'failed', error, retry_at: retryAt === null ? null : new Date(retryAt).toISOString(), result: null },
  });

  if (error.kind === 'rate_limited') {
    return [failed(f.now + rateLimitedWaitMs(f.rateLimitedInARow, outcome.retry_after_ms))];
  }
  if (error.kind === 'permanent') {
    return [failed(null), { type: 'delivery.dead', data: { delivery_id: f.deliveryId, reason: `${error.code}: ${error.message}` } }];
  }
  const failures = f.failuresBefore + 1;
  if (failures >= f.policy.max_attempts) {
    return [
      failed(null),
      {
        type: 'delivery.dead',
        data: { delivery_id: f.deliveryId, reason: `gave up after ${failures} failed attempts; last: ${error.code}: ${error.message}` },
      },
    ];
  }
  return [failed(f.now + backoffMs(failures, f.policy, f.random, outcome.retry_after_ms))];
}
