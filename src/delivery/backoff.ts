import type { RetryPolicy } from '../sinks/types.js';
import { DEFAULTS } from '../config/defaults.js';

/**
 * The wait before the next attempt after the `failures`-th counted failure (1-based):
 * `min(max_delay, initial_delay × 2^(failures−1))`, jittered, and never below what the
 * sink was told by a `Retry-After`. Pure: randomness comes in as a number in [0, 1).
 */
export function backoffMs(failures: number, policy: RetryPolicy, random: number, retryAfterMs = 0): number {
  const base = Math.min(policy.max_delay_ms, policy.initial_delay_ms * 2 ** Math.max(0, failures - 1));
  const jittered = Math.min(policy.max_delay_ms, base * (1 - DEFAULTS.delivery.jitter + 2 * DEFAULTS.delivery.jitter * random));
  return Math.round(Math.max(jittered, retryAfterMs));
}

/**
 * The wait after a rate-limited attempt (ms): its Retry-After, or without one this long
 * (`DEFAULTS.delivery.rateLimitFirstWaitMs`, doubling per 429 in a row, up to
 * `rateLimitMaxWaitMs`). A Retry-After that asks for no wait (`0`, an HTTP date already past:
 * a receiver whose clock is behind) counts as none given; taken at its word it made the next
 * attempt at once, 429 after 429, hundreds a second, none of them counted.
 */
export function rateLimitedWaitMs(consecutive: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined && retryAfterMs > 0) return retryAfterMs;
  return Math.min(DEFAULTS.delivery.rateLimitMaxWaitMs, DEFAULTS.delivery.rateLimitFirstWaitMs * 2 ** Math.max(0, consecutive - 1));
}
