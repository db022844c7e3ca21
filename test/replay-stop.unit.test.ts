import { describe, expect, it } from 'vitest';
import { backfillStopped } from '../src/commands/replay-stop.js';
import type { BackfillResult, BackfillStop } from '../src/route/backfill.js';

const result: BackfillResult = { events: 700, through_seq: 1200, by_rule: {}, planned: 1400, erased: 0 };
const stop = (exact: boolean): BackfillStop => ({ after_seq: 700, next: { seq: 701, at: '2026-06-01T09:11:40.000Z' }, since_next_is_exact: exact });

describe('the line that ends a backfill Ctrl-C stopped', () => {
  it('--force: what stays planned, that another --force would deliver it twice, and the --since that plans only the rest', () => {
    expect(backfillStopped(stop(true), result, false, 'g1').message).toBe(
      "replay --force: interrupted after seq 700 of 1200; the 1,400 deliveries planned so far under generation g1 stay planned (serve's dispatcher delivers them); another --force run plans every event again under a new generation and would deliver those twice; to plan only the rest, run it again with --since 2026-06-01T09:11:40.000Z (when seq 701, the first event not replayed, was received)",
    );
  });

  it('--force where no --since leaves them out (events share an instant): says so rather than name a wrong one', () => {
    expect(backfillStopped(stop(false), result, false, 'g1').message).toMatch(/would deliver those twice; no --since leaves out exactly the events already replayed \(some were received at or after 2026-06-01T09:11:40.000Z/);
  });

  it('without --force: the same command goes on; a dry run appended nothing', () => {
    expect(backfillStopped(stop(true), result, false, undefined).message).toMatch(/^replay: interrupted after seq 700 of 1200; the 1,400 deliveries planned so far stay planned .* run the same command again to plan the rest: it plans only what is not planned yet$/);
    expect(backfillStopped(stop(true), result, true, undefined).message).toBe('replay --dry-run: interrupted after seq 700 of 1200; nothing was appended');
  });
});
