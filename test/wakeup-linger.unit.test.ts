import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lingering } from '../src/delivery/wakeup.js';

/**
 * A commit wakes routing and delivery through `lingering` (`DEFAULTS.pipeline.wakeLingerMs`):
 * however many commits land within the linger, one look follows, the linger after the first.
 */
describe('lingering wake-ups', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('many calls within the linger make one wake-up, lingerMs after the first; a later call makes another', () => {
    const wake = vi.fn();
    const onCommit = lingering(wake, 20);
    onCommit();
    vi.advanceTimersByTime(5);
    onCommit();
    onCommit();
    vi.advanceTimersByTime(14);
    expect(wake).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1); // 20 ms after the first call
    expect(wake).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(100);
    expect(wake).toHaveBeenCalledTimes(1); // nothing more was committed: no more looks
    onCommit();
    vi.advanceTimersByTime(20);
    expect(wake).toHaveBeenCalledTimes(2);
  });

  it('a linger of 0 wakes at once, on every call', () => {
    const wake = vi.fn();
    const onCommit = lingering(wake, 0);
    onCommit();
    onCommit();
    expect(wake).toHaveBeenCalledTimes(2);
  });
});
