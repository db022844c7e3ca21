import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import type { ProgressReport } from '../src/project/rebuild/scratch.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { tempDir } from './helpers/relay.js';
import { smallEvents } from './helpers/entries.js';

/** A log of `n` small events, appended in one transaction. */
function logOf(dbPath: string, n: number): SqliteLog {
  const log = new SqliteLog(dbPath);
  log.append(smallEvents(n));
  return log;
}

/**
 * QA (new-user pass): a rebuild reported progress (and looked for Ctrl-C) only every 20,000
 * entries, so a log under 20,000 showed no bar until the end; and it reported the full count
 * before the swap, so one interrupted then said `stopped at 100 %`.
 */
describe('replay --rebuild and --verify: progress reports', () => {
  let temp: ReturnType<typeof tempDir>;
  let log: SqliteLog;
  beforeEach(() => {
    temp = tempDir('husky-rebuild-progress-');
    log = logOf(join(temp.dir, 'relay.db'), 5_000);
  });
  afterEach(() => {
    log.close();
    temp.cleanup();
  });

  it.each([
    ['rebuild', rebuildProjections],
    ['verify', verifyProjections],
  ] as const)('%s of 5,000 entries: a report before the end; the full count only once, last, when the work is done', async (_, run) => {
    const reports: ProgressReport[] = [];
    await run(log.db, { onProgress: (p) => reports.push(p) });
    expect(reports[0]).toEqual({ done: 1_000, total: 5_000 });
    expect(reports.at(-1)).toEqual({ done: 5_000, total: 5_000 });
    expect(reports.filter((r) => r.done >= r.total)).toHaveLength(1);
  });

  it('Ctrl-C at the first report: stops there, well short of the end, and the last report is not the full count', async () => {
    const controller = new AbortController();
    const reports: ProgressReport[] = [];
    const onProgress = (p: ProgressReport) => {
      reports.push(p);
      controller.abort();
    };
    await expect(rebuildProjections(log.db, { onProgress, signal: controller.signal })).rejects.toThrow('rebuild interrupted');
    expect(reports).toEqual([{ done: 1_000, total: 5_000 }]);
  });
});
