import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide as decideFor, type DecideContext } from '../src/delivery/lifecycle.js';
import type { AttemptOutcome } from '../src/sinks/types.js';

/** What an attempt knew before the life-cycle module: the context and the failures counted so far. */
type AttemptFacts = DecideContext & { failuresBefore: number };
const decide = (outcome: AttemptOutcome, f: AttemptFacts) => decideFor(outcome, { round_failures: f.failuresBefore }, f);
import { backoffMs, rateLimitedWaitMs } from '../src/delivery/backoff.js';
import { TokenBucket } from '../src/delivery/token-bucket.js';
import type { RetryPolicy } from '../src/sinks/types.js';
import { DEFAULTS } from '../src/config/defaults.js';

/** README "Rules file" defaults: 12 attempts, 10 s doubling, at most 1 h. */
const DEFAULT_POLICY: RetryPolicy = { max_attempts: 12, initial_delay_ms: 10_000, max_delay_ms: 3_600_000 };
const NOW = Date.parse('2026-06-01T12:00:00Z');
const S = 1000;

describe('backoff (README "Delivery"): min(max_delay, initial × 2^(n−1)) with jitter, never below Retry-After', () => {
  it('without jitter waits 10 s, 20 s, 40 s … and never more than 1 h, over the 11 retries of 12 attempts', () => {
    // Given the default policy and a random value in the middle (jitter factor exactly 1)
    // When
    const waits = Array.from({ length: 11 }, (_, i) => backoffMs(i + 1, DEFAULT_POLICY, 0.5) / S);
    // Then
    expect(waits).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
    // a delivery that keeps failing is given up after 3 h 25 min 10 s of waiting in all
    expect(waits.reduce((a, b) => a + b)).toBe(12_310);
  });

  it('spreads each wait by ±20 % and caps the jittered wait at max_delay', () => {
    // Given the extremes of the random value
    const low = (n: number) => backoffMs(n, DEFAULT_POLICY, 0);
    const high = (n: number) => Math.round(backoffMs(n, DEFAULT_POLICY, 0.999_999) / S) * S; // whole seconds
    // Then
    expect(DEFAULTS.delivery.jitter).toBe(0.2);
    expect(low(1)).toBe(8 * S);
    expect(high(1)).toBe(12 * S);
    expect(low(4)).toBe(64 * S);
    expect(high(4)).toBe(96 * S);
    expect(high(9)).toBe(3072 * S); // 2560 s + 20 %: still under the hour
    expect(low(10)).toBe(2880 * S); // capped base (1 h) − 20 %
    expect(high(10)).toBe(3600 * S); // never above max_delay
    expect(high(50)).toBe(3600 * S);
  });

  it('never waits less than a Retry-After, even one beyond max_delay', () => {
    expect(backoffMs(1, DEFAULT_POLICY, 0.5, 60 * S)).toBe(60 * S);
    expect(backoffMs(3, DEFAULT_POLICY, 0.5, 5 * S)).toBe(40 * S);
    expect(backoffMs(12, DEFAULT_POLICY, 0.999, 7200 * S)).toBe(7200 * S);
  });

  it('holds for any failure count, random value, policy and Retry-After', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
        (failures, random, initial, factor, retryAfter) => {
          const policy = { max_attempts: 12, initial_delay_ms: initial, max_delay_ms: initial * factor };
          const wait = backoffMs(failures, policy, random, retryAfter);
          const base = Math.min(policy.max_delay_ms, initial * 2 ** (failures - 1));
          expect(wait).toBeGreaterThanOrEqual(Math.min(Math.floor(base * 0.8), retryAfter ?? Infinity));
          expect(wait).toBeGreaterThanOrEqual(retryAfter ?? 0);
          expect(wait).toBeLessThanOrEqual(Math.max(policy.max_delay_ms, retryAfter ?? 0));
        },
      ),
    );
  });

  it('a rate limit without Retry-After waits 1 s, doubling per 429 in a row, up to 1 min', () => {
    expect([1, 2, 3, 7, 20].map((n) => rateLimitedWaitMs(n, undefined))).toEqual([1000, 2000, 4000, 60_000, 60_000]);
    expect(rateLimitedWaitMs(5, 2500)).toBe(2500);
  });
});

function facts(over: Partial<AttemptFacts> = {}): AttemptFacts {
  return {
    deliveryId: 'dlv_1',
    attempt: 1,
    failuresBefore: 0,
    rateLimitedInARow: 0,
    durationMs: 12.4,
    policy: DEFAULT_POLICY,
    now: NOW,
    random: 0.5,
    sink: { name: 'hook', paused: false, probe: false },
    ...over,
  };
}

describe('decide: what an attempt means for the delivery', () => {
  it('success records the attempt with what the sink returned, and nothing else', () => {
    // When
    const entries = decide({ outcome: 'succeeded', result: { channel: 'C1', ts: '1.2' } }, facts());
    // Then
    expect(entries).toEqual([
      {
        type: 'delivery.attempted',
        data: { delivery_id: 'dlv_1', attempt: 1, outcome: 'succeeded', duration_ms: 12, error: null, retry_at: null, result: { channel: 'C1', ts: '1.2' } },
      },
    ]);
  });

  it('rate limited waits the Retry-After and is never dead, however many failures came before', () => {
    // Given a delivery one counted failure away from dead
    const error = { kind: 'rate_limited' as const, code: 'http_429', message: 'HTTP 429', status: 429 };
    // When
    const entries = decide({ outcome: 'failed', error, retry_after_ms: 30 * S }, facts({ failuresBefore: 11, attempt: 40, rateLimitedInARow: 3 }));
    // Then
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'delivery.attempted', data: { outcome: 'failed', attempt: 40, error, retry_at: new Date(NOW + 30 * S).toISOString() } });
  });

  it('a 429 whose Retry-After asks for no wait (0, or an HTTP date already past) waits as one without: 1 s doubling, not at once', () => {
    const error = { kind: 'rate_limited' as const, code: 'http_429', message: 'HTTP 429', status: 429 };
    // Given a receiver whose clock is behind: its Retry-After date is past, parsed as 0 ms
    // When it answers 429 a first and a third time in a row
    const first = decide({ outcome: 'failed', error, retry_after_ms: 0 }, facts({ rateLimitedInARow: 1 }));
    const third = decide({ outcome: 'failed', error, retry_after_ms: 0 }, facts({ rateLimitedInARow: 3 }));
    // Then the next attempt waits 1 s, then 4 s, as with no Retry-After (not a retry at once, hundreds a second)
    expect(first[0]).toMatchObject({ data: { retry_at: new Date(NOW + 1 * S).toISOString() } });
    expect(third[0]).toMatchObject({ data: { retry_at: new Date(NOW + 4 * S).toISOString() } });
  });

  it('transient backs off by the failure count, then is dead after max_attempts failures', () => {
    const error = { kind: 'transient' as const, code: 'http_503', message: 'HTTP 503', status: 503 };
    // When: the 3rd counted failure
    const third = decide({ outcome: 'failed', error }, facts({ failuresBefore: 2, attempt: 3 }));
    // Then: 40 s later
    expect(third).toEqual([
      { type: 'delivery.attempted', data: { delivery_id: 'dlv_1', attempt: 3, outcome: 'failed', duration_ms: 12, error, retry_at: new Date(NOW + 40 * S).toISOString(), result: null } },
    ]);
    // When: the 12th counted failure
    const last = decide({ outcome: 'failed', error }, facts({ failuresBefore: 11, attempt: 15 }));
    // Then
    expect(last).toEqual([
      { type: 'delivery.attempted', data: { delivery_id: 'dlv_1', attempt: 15, outcome: 'failed', duration_ms: 12, error, retry_at: null, result: null } },
      { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'gave up after 12 failed attempts; last: http_503: HTTP 503' } },
    ]);
  });

  it('a transient failure with a Retry-After waits at least that long', () => {
    const error = { kind: 'transient' as const, code: 'http_503', message: 'HTTP 503', status: 503 };
    const [entry] = decide({ outcome: 'failed', error, retry_after_ms: 120 * S }, facts());
    expect(entry?.type === 'delivery.attempted' && entry.data.retry_at).toBe(new Date(NOW + 120 * S).toISOString());
  });

  it('permanent is dead at once, whatever attempts are left, with the reason', () => {
    const error = { kind: 'permanent' as const, code: 'channel_not_found', message: 'Slack answered ok:false, error "channel_not_found"' };
    // When
    const entries = decide({ outcome: 'failed', error }, facts());
    // Then
    expect(entries).toEqual([
      { type: 'delivery.attempted', data: { delivery_id: 'dlv_1', attempt: 1, outcome: 'failed', duration_ms: 12, error, retry_at: null, result: null } },
      { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'channel_not_found: Slack answered ok:false, error "channel_not_found"' } },
    ]);
  });
});

describe('TokenBucket with an injected clock', () => {
  it('gives a burst at once, then one token per 1/per_second', () => {
    // Given 2 per second, burst 2
    const bucket = new TokenBucket(2, 2, NOW);
    // Then
    expect(bucket.tryTake(NOW)).toBe(true);
    expect(bucket.tryTake(NOW)).toBe(true);
    expect(bucket.tryTake(NOW)).toBe(false);
    expect(bucket.waitMs(NOW)).toBe(500);
    expect(bucket.tryTake(NOW + 499)).toBe(false);
    expect(bucket.waitMs(NOW + 499)).toBeLessThanOrEqual(2); // 1 ms, give or take float rounding
    expect(bucket.tryTake(NOW + 500)).toBe(true);
    expect(bucket.tryTake(NOW + 500)).toBe(false);
  });

  it('saves up no more than the burst however long it was idle', () => {
    const bucket = new TokenBucket(1, 3, NOW);
    for (let i = 0; i < 3; i++) bucket.tryTake(NOW);
    // When an hour passes
    const later = NOW + 3_600_000;
    // Then only three are available
    expect([1, 2, 3, 4].map(() => bucket.tryTake(later))).toEqual([true, true, true, false]);
    expect(bucket.waitMs(later)).toBe(1000);
  });

  it('never lets more than per_second × seconds + burst through over any span', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (perSecond, burst, steps) => {
          const bucket = new TokenBucket(perSecond, burst, NOW);
          let t = NOW;
          let taken = 0;
          for (const step of steps) {
            t += step;
            if (bucket.tryTake(t)) taken += 1;
          }
          expect(taken).toBeLessThanOrEqual(Math.floor(((t - NOW) / 1000) * perSecond) + burst);
        },
      ),
    );
  });
});
