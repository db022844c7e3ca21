import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { sweepRetention } from '../src/privacy/retention.js';
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
const roundArb = fc.record({
  steps: fc.array(stepArb, { maxLength: 25 }),
  erase: fc.subarray(CALLS, { maxLength: 3 }),
  retention: fc.boolean(),
});

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
});
