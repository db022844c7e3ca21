import { describe, expect, it } from 'vitest';
import { describeMoment } from '../src/commands/call.js';
import { summarize } from '../src/commands/log.js';
import type { Entry } from '../src/log/types.js';

/**
 * `log` and `call` print an attempt rewritten as JSON of another shape (README "Faults") as its
 * fields read, as every other field of theirs is (`cellText`): its `retry_at` printed as
 * `[object Object]`, and so did a stale spell's clearing its `oldest_pending_at`.
 */
describe("an attempt whose retry_at was rewritten as JSON of another shape", () => {
  it.each([
    { retry_at: {}, shown: '{}' },
    { retry_at: { at: '2026-06-01' }, shown: '{"at":"2026-06-01"}' },
    { retry_at: ['2026-06-01'], shown: '["2026-06-01"]' },
    { retry_at: 5, shown: '5' },
  ])('$shown: log and call show it as its JSON', ({ retry_at, shown }) => {
    const data = { delivery_id: 'd1', attempt: 1, outcome: 'failed', duration_ms: 5, error: null, retry_at, result: null };
    const entry = { seq: 3, at: '2026-06-01T10:00:00.000Z', type: 'delivery.attempted', data } as unknown as Entry;
    expect(summarize(entry)).toBe(`d1 #1 failed 5ms retry at ${shown}`);
    const moment = { seq: 3, at: entry.at, kind: 'attempt', ...data, paused: false } as unknown as Parameters<typeof describeMoment>[0];
    expect(describeMoment(moment)).toEqual(['attempt 1 failed', `5 ms; next attempt at ${shown}`]);
  });
});

describe('a pending.cleared whose oldest_pending_at was rewritten as JSON of another shape', () => {
  it.each([
    { oldest: {}, shown: '{}' },
    { oldest: ['2026-06-01'], shown: '["2026-06-01"]' },
    { oldest: 7, shown: '7' },
  ])('$shown: log shows it as its JSON', ({ oldest, shown }) => {
    const entry = { seq: 9, at: '2026-06-01T10:00:00.000Z', type: 'pending.cleared', data: { sink: 'hook', oldest_pending_at: oldest, count: 1 } } as unknown as Entry;
    expect(summarize(entry)).toBe(`hook 1 open, oldest waiting since ${shown}`);
  });
});

describe('a log.truncated whose counts were rewritten as JSON of another shape', () => {
  it.each([
    { data: {}, line: 'entries before - removed (- entries, - calls)' },
    { data: { before_seq: 4, entries: null, calls: '2' }, line: 'entries before 4 removed (- entries, 2 calls)' },
    { data: { before_seq: 4, entries: { n: 3 }, calls: [1] }, line: 'entries before 4 removed ({"n":3} entries, [1] calls)' },
  ])('$line', ({ data, line }) => {
    const entry = { seq: 12, at: '2026-06-01T10:00:00.000Z', type: 'log.truncated', data } as unknown as Entry;
    expect(summarize(entry)).toBe(line);
  });
});
