import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { sweepAndTruncate, sweepRetention } from '../src/privacy/retention.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { appendSteps, snapshot, stepArb } from './helpers/replay-scenario.js';
import { tempDir } from './helpers/relay.js';

/**
 * README "Personal data": whatever is appended, erased by hand or by retention, in whatever
 * order, the live projections are what a rebuild makes of the log, the chain is valid, and no
 * erased call keeps a payload.
 */
let temp: ReturnType<typeof tempDir>;
beforeAll(() => {
  temp = tempDir();
});
afterAll(() => temp.cleanup());

const CALLS = ['call_0', 'call_1', 'call_2', 'call_3', 'call_4', 'call_5'];
const roundFields = {
  steps: fc.array(stepArb, { maxLength: 25 }),
  erase: fc.subarray(CALLS, { maxLength: 3 }),
  retention: fc.boolean(),
};
const roundArb = fc.record(roundFields);

describe('erasure and retention keep the log whole (property)', () => {
  it('live projections equal rebuilt ones, the chain is valid, erased calls keep no payload', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(roundArb, { minLength: 1, maxLength: 4 }), async (rounds) => {
        // Given a clock that moves a second each append
        let now = Date.parse('2026-06-01T09:00:00Z');
        const log = new SqliteLog(join(temp.dir, `prop-${run++}.db`), { now: () => new Date((now += 1000)) });
        const store = SqliteStore.over(log);
        try {
          // When rounds of appends are each followed by erasures and a retention sweep (window 20 s)
          for (const [i, round] of rounds.entries()) {
            appendSteps(log, round.steps, `r${i}_`);
            if (round.erase.length > 0) await store.privacy.erase({ callIds: round.erase, reason: 'property', by: 'cli', downstream: false });
            if (round.retention) await sweepRetention(store.privacy, new Date(now), 20_000);
          }
          const before = snapshot(log.db);
          // Then a rebuild finds nothing to change
          expect((await verifyProjections(log.db)).differences).toEqual([]);
          await rebuildProjections(log.db);
          const after = snapshot(log.db);
          expect(after.status).toBe(before.status);
          expect(after.tables).toEqual(before.tables);
          // the chain holds from the first entry to the last
          expect(await store.privacy.verifyChain()).toMatchObject({ ok: true, entries: log.lastSeq() });
          // and no erased call has a payload or a key left
          const left = log.db
            .prepare(`SELECT count(*) FROM erased_calls x WHERE EXISTS (SELECT 1 FROM payloads p WHERE p.call_id = x.call_id) OR EXISTS (SELECT 1 FROM call_keys k WHERE k.call_id = x.call_id)`)
            .pluck()
            .get();
          expect(left).toBe(0);
          // every entry still reads (erased ones as [erased])
          expect((await store.log.read(0)).length).toBe(log.lastSeq());
        } finally {
          log.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 180_000);

  it('with truncation too: live projections equal rebuilt ones, and the chain is valid from where the log starts', async () => {
    let run = 0;
    let truncatedRuns = 0;
    const truncatingRound = fc.record({ ...roundFields, waitSeconds: fc.integer({ min: 0, max: 30 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(truncatingRound, { minLength: 1, maxLength: 8 }), async (rounds) => {
        // Given a clock that moves a second each append, and by a round's wait before its sweep
        let now = Date.parse('2026-06-01T09:00:00Z');
        const log = new SqliteLog(join(temp.dir, `trunc-${run++}.db`), { now: () => new Date((now += 1000)) });
        const store = SqliteStore.over(log);
        try {
          // When rounds of appends are each followed by erasures and a sweep that also truncates (window 20 s)
          let removed = 0;
          for (const [i, round] of rounds.entries()) {
            appendSteps(log, round.steps, `t${i}_`);
            if (round.erase.length > 0) await store.privacy.erase({ callIds: round.erase, reason: 'property', by: 'cli', downstream: false });
            now += round.waitSeconds * 1000;
            if (round.retention) removed += (await sweepAndTruncate(store.privacy, new Date(now), 20_000)).removed;
          }
          if (removed > 0) truncatedRuns += 1;
          const before = contents(log);
          // Then a rebuild from the entries left finds nothing to change
          expect((await verifyProjections(log.db)).differences).toEqual([]);
          await rebuildProjections(log.db);
          expect(contents(log)).toEqual(before);
          // and the chain holds from the log's first entry to its last
          const count = log.db.prepare(`SELECT count(*) FROM entries`).pluck().get() as number;
          expect(await store.privacy.verifyChain()).toMatchObject({ ok: true, entries: count });
          expect((await store.log.read(0)).length).toBe(count);
        } finally {
          log.close();
        }
      }),
      { numRuns: 40 },
    );
    // (many runs did truncate: the property is not about logs that never lost an entry)
    expect(truncatedRuns).toBeGreaterThanOrEqual(5);
  }, 180_000);
});

/** The derived state as a user sees it, and every projection row by value (a truncated log's rows are not in the order a rebuild writes them). */
function contents(log: SqliteLog) {
  const { status, deliveries, calls, tables } = snapshot(log.db);
  const rows = Object.fromEntries(Object.entries(tables).map(([t, r]) => [t, (r as Record<string, unknown>[]).map(({ _rowid, ...row }: Record<string, unknown>) => JSON.stringify(row)).sort()]));
  return { status, deliveries, calls, rows };
}

