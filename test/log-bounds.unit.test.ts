import { describe, expect, it } from 'vitest';
import { logBoundsOf } from '../src/commands/log-bounds.js';

/** A log reader over `entries` (seq, type, data), as `logBoundsOf` reads it. */
function fakeLog(entries: { seq: number; type: string; data?: Record<string, unknown> }[]) {
  return {
    lastSeq: async () => entries.at(-1)?.seq ?? 0,
    read: async (after: number, options: { limit?: number; types?: string[] } = {}) =>
      entries.filter((e) => e.seq > after && (!options.types || options.types.includes(e.type))).slice(0, options.limit) as never,
  };
}

/** A `log.truncated` with every field a real one has (one of another shape counts as maybe having removed calls). */
const truncated = (seq: number, entries: number, calls: number) => ({
  seq,
  type: 'log.truncated',
  data: { before_seq: seq - entries, prev_hash: 'h', entries, calls, snapshot: { events_by_type: [], sink_health: [], sink_state: [], key_state: [], calls: [] } },
});

describe('logBoundsOf: whether retention may have removed calls (README "Retention")', () => {
  it('a log that starts at 1, or is empty, lost nothing', async () => {
    expect(await logBoundsOf(fakeLog([{ seq: 1, type: 'rules.loaded' }, { seq: 2, type: 'event.received' }]))).toEqual({ start: 1, end: 2, callsRemoved: false });
    expect(await logBoundsOf(fakeLog([]))).toEqual({ start: undefined, end: 0, callsRemoved: false });
  });

  it('truncations that account for every seq before the start and removed no call: none removed', async () => {
    const log = fakeLog([{ seq: 3, type: 'event.received' }, truncated(4, 2, 0), { seq: 5, type: 'event.received' }]);
    expect(await logBoundsOf(log)).toEqual({ start: 3, end: 5, callsRemoved: false });
  });

  it('a truncation that removed calls: maybe removed', async () => {
    const log = fakeLog([{ seq: 6, type: 'event.received' }, truncated(7, 2, 0), truncated(8, 3, 2)]);
    expect(await logBoundsOf(log)).toEqual({ start: 6, end: 8, callsRemoved: true });
  });

  it('truncations that do not account for every seq before the start (an earlier one was removed with them): maybe removed', async () => {
    const log = fakeLog([{ seq: 9, type: 'event.received' }, truncated(10, 3, 0)]);
    expect(await logBoundsOf(log)).toEqual({ start: 9, end: 10, callsRemoved: true });
  });
});
