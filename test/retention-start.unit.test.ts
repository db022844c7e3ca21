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

describe('serve --retention after a start', () => {
  it('sweeps one period after start, then every period; never at once', async () => {
    vi.useFakeTimers();
    const asked: string[] = [];
    const privacy = {
      callsLastSeenBefore: async (before: string) => {
        asked.push(before);
        return [];
      },
      truncate: async () => null,
    } as unknown as PrivacyLog;
    // Given a relay started at 12:00:00 with a 5 s window
    const clock = { now: Date.parse('2026-06-01T12:00:00Z') };
    const retention = startRetention({ privacy, windowMs: 5000, now: () => new Date(clock.now), logger: pino({ level: 'silent' }) });
    // When 4.9 s go by: no sweep yet
    clock.now += 4900;
    await vi.advanceTimersByTimeAsync(4900);
    expect(asked).toEqual([]);
    // Then at 5 s the first sweep erases what was last seen before 12:00:00, and at 10 s the next
    clock.now += 100;
    await vi.advanceTimersByTimeAsync(100);
    expect(asked).toEqual(['2026-06-01T12:00:00.000Z']);
    clock.now += 5000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked).toEqual(['2026-06-01T12:00:00.000Z', '2026-06-01T12:00:05.000Z']);
    await retention.stop();
  });
});
