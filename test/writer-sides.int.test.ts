import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { groupCommitFixture, rulesLoaded } from './helpers/group-commit-fixture.js';

/**
 * The writer never puts the main thread's requests (webhooks waiting for their 200) and the
 * pipeline's in one transaction: a webhook's commit is as small as it can be, and does not wait
 * for the pipeline's entries to be sealed and projected. Seen from the log: a transaction stamps
 * all its entries with the clock of its newest request, so each side's entries keep their own
 * thread's clock however the requests arrived.
 */
const MAIN_AT = '2026-06-01T10:00:00.000Z';
const PIPELINE_AT = '2026-06-01T11:00:00.000Z';

describe("the writer's transactions hold one side's requests", () => {
  const open = groupCommitFixture();

  it("requests of both sides waiting together are committed apart, each side's in order", async () => {
    const { path, commit, pipeline: piped } = open({ now: () => new Date(MAIN_AT), pipelineNow: () => new Date(PIPELINE_AT) });
    const pipeline = piped!;
    // Given a writer busy with a large commit of the main thread's
    const busy = commit.append(Array.from({ length: 1500 }, (_, i) => rulesLoaded(i)));
    // When both sides append while it runs, interleaved
    const appends = [commit.append([rulesLoaded(2000)]), pipeline.append([rulesLoaded(3000)]), commit.append([rulesLoaded(2001)]), pipeline.append([rulesLoaded(3001)])];
    await Promise.all([busy, ...appends]);
    // Then every entry carries its own side's clock: no transaction mixed the two
    const log = new SqliteLog(path);
    try {
      const rows = log.db.prepare(`SELECT at, json_extract(data, '$.path') AS path FROM entries WHERE seq > 1500 ORDER BY seq`).all() as { at: string; path: string }[];
      const side = (p: string) => (p.startsWith('r3') ? PIPELINE_AT : MAIN_AT);
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(row.at).toBe(side(row.path));
      // and each side's appends are in the log in the order made
      const main = rows.filter((r) => r.at === MAIN_AT).map((r) => r.path);
      const piped = rows.filter((r) => r.at === PIPELINE_AT).map((r) => r.path);
      expect(main).toEqual(['r2000.yaml', 'r2001.yaml']);
      expect(piped).toEqual(['r3000.yaml', 'r3001.yaml']);
    } finally {
      log.close();
    }
  });
});
