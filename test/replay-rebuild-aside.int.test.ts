import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { checkDamageAside } from '../src/project/rebuild/damage-thread.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { projectionTables } from '../src/project/rebuild/scratch.js';
import { damagedDatabase, damageMiddleLeaf } from './helpers/damage.js';
import { tempDir } from './helpers/relay.js';
import { appendSteps, sampleSteps, snapshot, steppingClock, stepWithCardsArb, stepWithOpsArb } from './helpers/replay-scenario.js';

// A rebuild reads the log a page of rows at a time and, on a big log, reads it on a thread of its
// own and checks the live tables for damage on another while it folds. Here a page is 3 rows and
// every log counts as big, so small logs take all the paths.
const rebuild = DEFAULTS.rebuild as { readRows: number; checkAsideEntries: number; readAsideEntries: number };
const kept = { ...rebuild };

describe('replay --rebuild reading the log in pages, with the damage check on a thread of its own', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => Object.assign(rebuild, { readRows: 3, checkAsideEntries: 0, readAsideEntries: 0 }));
  afterAll(() => Object.assign(rebuild, kept));
  beforeEach(() => {
    temp = tempDir('husky-aside-');
  });
  afterEach(() => temp.cleanup());

  it('rebuilt projections equal the live ones byte for byte, and progress ends at the last entry', async () => {
    const logs = fc.array(fc.oneof(stepWithCardsArb, stepWithOpsArb), { minLength: 1, maxLength: 60 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(logs, async (steps) => {
        // Given a log written the way the relay writes it
        const log = new SqliteLog(join(temp.dir, `aside-${run++}.db`), { now: steppingClock() });
        try {
          appendSteps(log, steps);
          const live = snapshot(log.db);
          const last = (log.db.prepare('SELECT max(seq) FROM entries').pluck().get() as number | null) ?? 0;
          // When it is rebuilt in pages of 3 entries
          const reports: { done: number; total: number }[] = [];
          const result = await rebuildProjections(log.db, { onProgress: (p) => reports.push(p) });
          // Then every p_* row (rowids included) is as the live path made it, each entry projected once
          expect(snapshot(log.db)).toEqual(live);
          expect(result).toMatchObject({ entries: last, last_seq: last, repaired: [] });
          expect(reports.at(-1)).toEqual({ done: last, total: last });
          // And every index holds exactly its table's rows (they were copied, not built, at the swap)
          expect(log.db.pragma('integrity_check', { simple: true })).toBe('ok');
          for (const [table, n] of Object.entries(result.rows)) expect(log.db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get()).toBe(n);
        } finally {
          log.close();
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it('the thread finds a damaged table as the rebuild always did, and the rebuild repairs it', async () => {
    // Given a database whose p_deliveries has a damaged page, and one that is whole
    const damaged = join(temp.dir, 'damaged.db');
    damagedDatabase(damaged, 'p_deliveries');
    const whole = join(temp.dir, 'whole.db');
    new SqliteLog(whole).close();
    const log = new SqliteLog(damaged);
    try {
      const tables = projectionTables(log.db);
      // When each is checked on a thread of its own
      // Then the damaged table is named, and nothing for the whole file
      expect(await checkDamageAside(damaged, tables).result).toEqual(['p_deliveries']);
      expect(await checkDamageAside(whole, tables).result).toEqual([]);
      // And when the damaged one is rebuilt, that table is replaced from the log and reads again
      const result = await rebuildProjections(log.db);
      expect(result.repaired).toEqual(['p_deliveries']);
      expect(log.db.pragma('quick_check', { simple: true })).toBe('ok');
    } finally {
      log.close();
    }
  }, 60_000);

  it('a log damaged in the middle fails the rebuild from the reading thread as on the rebuild\'s own, SQLite\'s error as it was, and nothing changes', async () => {
    // Given a log of a few hundred entries whose entries table has a damaged leaf page in the middle
    const dbPath = join(temp.dir, 'damaged-log.db');
    const writer = new SqliteLog(dbPath, { now: steppingClock() });
    appendSteps(writer, sampleSteps(stepWithOpsArb, 200, 11));
    writer.close();
    damageMiddleLeaf(dbPath, 'entries');
    const log = new SqliteLog(dbPath);
    // (the projections only: the snapshot of a whole relay reads the log too)
    const projections = () => projectionTables(log.db).map((t) => log.db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw().all());
    try {
      const before = projections();
      // When it is rebuilt with the log read on a thread of its own, and on the rebuild's thread
      const aside = await rebuildProjections(log.db).catch((error: unknown) => error as Error & { code?: string });
      Object.assign(rebuild, { readAsideEntries: Number.MAX_SAFE_INTEGER });
      const inline = await rebuildProjections(log.db)
        .catch((error: unknown) => error as Error & { code?: string })
        .finally(() => Object.assign(rebuild, { readAsideEntries: 0 }));
      // Then both fail with SQLite's own error (which names the damage), and nothing changed
      expect(inline).toMatchObject({ code: expect.stringMatching(/^SQLITE_CORRUPT/) });
      expect(aside).toBeInstanceOf(Error);
      expect({ message: (aside as Error).message, code: (aside as { code?: string }).code }).toEqual({ message: (inline as Error).message, code: (inline as { code?: string }).code });
      expect(projections()).toEqual(before);
      expect(existsSync(`${dbPath}.rebuild-${process.pid}.tmp`)).toBe(false);
    } finally {
      log.close();
    }
  }, 60_000);

  it('a Ctrl-C that lands after the last batch, while the indexes are built and the check finishes, still stops before the swap', async () => {
    // Given a log
    const dbPath = join(temp.dir, 'late-abort.db');
    const log = new SqliteLog(dbPath, { now: steppingClock() });
    try {
      appendSteps(log, sampleSteps(stepWithOpsArb, 40, 7));
      const before = snapshot(log.db);
      // When Ctrl-C comes just after the last entry was folded: the signal reads aborted from its
      // second look on (a log this small is looked at once when the fold ends, then before the swap;
      // the full count is reported only after the swap, so no report can time it)
      let looks = 0;
      const signal = { get aborted() { return ++looks > 1; }, reason: undefined } as unknown as AbortSignal;
      const result = rebuildProjections(log.db, { signal });
      // Then it fails as an interrupted rebuild, and nothing changed
      await expect(result).rejects.toThrow(/interrupted/);
      expect(snapshot(log.db)).toEqual(before);
      expect(existsSync(`${dbPath}.rebuild-${process.pid}.tmp`)).toBe(false);
    } finally {
      log.close();
    }
  }, 60_000);

  it('a thread that cannot tell answers undefined (the rebuild then checks on its own connection), and a stopped one too', async () => {
    // Given no database at the path, and a check of a whole database stopped before it answered
    // (the thread cannot reply before this turn of the event loop ends; unstopped it answers [])
    const missing = checkDamageAside(join(temp.dir, 'missing.db'), ['p_calls']);
    const whole = join(temp.dir, 'whole.db');
    new SqliteLog(whole).close();
    const stopped = checkDamageAside(whole, ['p_calls']);
    stopped.stop();
    // Then neither rejects, and neither claims an answer
    expect(await missing.result).toBeUndefined();
    expect(await stopped.result).toBeUndefined();
  }, 60_000);
});
