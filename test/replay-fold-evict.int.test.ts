import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { tempDir } from './helpers/relay.js';
import { appendSteps, snapshot, stepWithCardsArb, stepWithOpsArb, steppingClock } from './helpers/replay-scenario.js';

// The rebuild folds rows in memory and writes the oldest to SQLite when a table holds too many,
// reading them back when a later entry touches them. Real logs need thousands of rows for that;
// here each table holds 3 rows and writes 2 at a time, so every small log takes those paths.
const rebuild = DEFAULTS.rebuild as { foldRows: number; foldEvict: number };
const kept = { ...rebuild };

describe('replay --rebuild with rows written out of memory and read back as it goes', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => Object.assign(rebuild, { foldRows: 3, foldEvict: 2 }));
  afterAll(() => Object.assign(rebuild, kept));
  beforeEach(() => {
    temp = tempDir('husky-fold-');
  });
  afterEach(() => temp.cleanup());

  /** Verifies, then rebuilds, the projections of a log of `steps`: what verify found, and the snapshots around the rebuild. */
  async function verifyThenRebuild(steps: Parameters<typeof appendSteps>[1], name: string) {
    const log = new SqliteLog(join(temp.dir, `${name}.db`), { now: steppingClock() });
    try {
      appendSteps(log, steps);
      const live = snapshot(log.db);
      const { differences } = await verifyProjections(log.db);
      await rebuildProjections(log.db);
      return { differences, live, rebuilt: snapshot(log.db) };
    } finally {
      log.close();
    }
  }

  it('rebuilt projections equal the live ones byte for byte, for any mix of events, plans, attempts, cards and operator events', async () => {
    // (logs of 40 steps and more: shorter ones seldom touch a row after it was written out)
    const logs = fc.array(fc.oneof(stepWithCardsArb, stepWithOpsArb), { minLength: 40, maxLength: 120 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(logs, async (steps) => {
        // Given a log written the way the relay writes it, when verified and rebuilt with tiny folding tables
        const { differences, live, rebuilt } = await verifyThenRebuild(steps, `evict-${run++}`);
        // Then nothing differs: every p_* row (rowids included), status and deliveries
        expect(differences).toEqual([]);
        expect(rebuilt).toEqual(live);
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
