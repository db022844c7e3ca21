import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PrivacyLog } from '../src/log/seam.js';
import { startRetention } from '../src/privacy/retention.js';

/**
 * README "Retention": the first sweep runs a window (at most an hour) after `serve` starts, not
 * at once: after an outage, the events a sender held back land first, so a call that was in
 * progress is not erased as quiet only because the relay could not receive its events.
 */
afterEach(() => vi.useRealTimers());

/**
 * Retention started at 2026-06-01 12:00:00 (on the test's clock, moved with the fake timers by `after`) over a log
 * that has nothing to erase; `after` answers each sweep's cut-off ("last seen before"), in order.
 */
function startedAtNoon(windowMs: number) {
  const asked: string[] = [];
  const privacy = {
    callsLastSeenBefore: async (before: string) => {
      asked.push(before);
      return [];
    },
    truncate: async () => null,
  } as unknown as PrivacyLog;
  const clock = { now: Date.parse('2026-06-01T12:00:00Z') };
  const retention = startRetention({ privacy, windowMs, now: () => new Date(clock.now), logger: pino({ level: 'silent' }) });
  /** Moves the relay's clock and the timers together by `ms`; then every cut-off asked so far. */
  const after = async (ms: number) => {
    clock.now += ms;
    await vi.advanceTimersByTimeAsync(ms);
    return [...asked];
  };
  return { after, retention };
}

describe('serve --retention after a start', () => {
  it('sweeps one period after start, then every period; never at once', async () => {
    vi.useFakeTimers();
    // Given a relay started at 12:00:00 with a 5 s window
    const { after, retention } = startedAtNoon(5000);
    // When 4.9 s go by: no sweep yet
    expect(await after(4900)).toEqual([]);
    // Then at 5 s the first sweep erases what was last seen before 12:00:00, and at 10 s the next
    expect(await after(100)).toEqual(['2026-06-01T12:00:00.000Z']);
    expect(await after(5000)).toEqual(['2026-06-01T12:00:00.000Z', '2026-06-01T12:00:05.000Z']);
    await retention.stop();
  });
});

describe('serve --retention 90d', () => {
  it('sweeps every hour, not once per window (SPEC §12 "at least hourly")', async () => {
    // (a 90-day interval is past setInterval's 2^31-1 ms: node would fire it every 1 ms; the hour is the cap)
    vi.useFakeTimers();
    // Given a relay started at 12:00:00 with a 90-day window
    const { after, retention } = startedAtNoon(90 * 86_400_000);
    // When a second, then 59:59.999 go by: no sweep yet
    expect(await after(1_000)).toEqual([]);
    expect(await after(3_598_999)).toEqual([]);
    // Then at 13:00 the first sweep erases what was last seen 90 days before, and at 14:00 the next
    expect(await after(1)).toEqual(['2026-03-03T13:00:00.000Z']);
    expect(await after(3_600_000)).toEqual(['2026-03-03T13:00:00.000Z', '2026-03-03T14:00:00.000Z']);
    await retention.stop();
  });
});
