import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { ROUTER_CHECKPOINT } from '../src/route/router.js';
import { tempDir } from './helpers/relay.js';
import { appendSteps, sampleSteps, snapshot, stepArb, steppingClock, stepWithCardsArb, stepWithOpsArb } from './helpers/replay-scenario.js';
import { statusReport } from '../src/project/queries.js';
import type { NewEntry } from '../src/log/types.js';

describe('replay --rebuild: the projections are a pure function of the log', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir('husky-replay-');
  });
  afterEach(() => temp.cleanup());

  it('rebuilt projections equal the live ones byte for byte, for any mix of events, plans (with and without call_id), attempts, dead letters, re-drives and live cards', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepWithCardsArb, { minLength: 1, maxLength: 80 }), async (steps) => {
        // Given a log written the way the relay writes it (projections in the same transactions)
        const dbPath = join(temp.dir, `prop-${run++}.db`);
        const log = new SqliteLog(dbPath, { now: steppingClock() });
        try {
          appendSteps(log, steps);
          log.append([], { name: ROUTER_CHECKPOINT, seq: log.lastSeq() });
          const before = snapshot(log.db);

          // When the projections are verified, then rebuilt from seq 1
          const verified = await verifyProjections(log.db);
          const rebuilt = await rebuildProjections(log.db);

          // Then the check finds nothing, and status, deliveries and every p_* row are unchanged
          expect(verified.differences).toEqual([]);
          expect(verified.identical).toBe(true);
          expect(rebuilt.entries).toBe(log.lastSeq());
          const after = snapshot(log.db);
          expect(after.status).toBe(before.status);
          expect(after.deliveries).toBe(before.deliveries);
          expect(after.calls).toBe(before.calls);
          expect(after.tables).toEqual(before.tables);
          // (the router's checkpoint is not derived from the log: it is kept as it was)
          expect(log.checkpoint(ROUTER_CHECKPOINT)).toBe(log.lastSeq());
        } finally {
          log.close();
        }
      }),
      { numRuns: 60 },
    );
    // no scratch database is left behind
    expect(readdirSync(temp.dir).filter((f) => f.includes('rebuild'))).toEqual([]);
  });

  it('the same with pauses, resumes, stale and cleared spells, refused attempts and alerts in the mix (README "When a rule fails at run time")', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepWithOpsArb, { minLength: 1, maxLength: 80 }), async (steps) => {
        // Given a log written the way the relay writes it, operator events included
        const log = new SqliteLog(join(temp.dir, `ops-${run++}.db`), { now: steppingClock() });
        try {
          appendSteps(log, steps);
          const before = snapshot(log.db);
          // When verified, then rebuilt
          const verified = await verifyProjections(log.db);
          await rebuildProjections(log.db);
          // Then nothing differs: paused and stale sinks, status --json, every p_* row
          expect(verified.differences).toEqual([]);
          const after = snapshot(log.db);
          expect(after.status).toBe(before.status);
          expect(after.tables).toEqual(before.tables);
        } finally {
          log.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a pause is the first sink.paused until a sink.resumed; a stale spell the first pending.stale until a pending.cleared', () => {
    // Given a log with pauses and spells out of turn
    const log = new SqliteLog(join(temp.dir, 'ops-order.db'), { now: steppingClock() });
    const paused = (reason: string): NewEntry => ({ type: 'sink.paused', data: { sink: 'slack', reason, code: 'token_revoked', delivery_id: 'd' } });
    log.append([{ type: 'sink.resumed', data: { sink: 'slack', reason: 'stray', code: 'resume' } }, paused('first'), paused('second')]);
    log.append([{ type: 'pending.stale', data: { sink: 'hook', oldest_pending_at: '2026-06-01T08:00:00.000Z', count: 2, delivery_id: 'd', pending_after: '15m' } }]);
    // Then status shows the first pause and the spell
    const first = statusReport(log.db, null).sinks;
    expect(first['slack']).toMatchObject({ paused: true, paused_reason: 'first', stale_since: null });
    expect(first['hook']).toMatchObject({ paused: false, stale_since: expect.any(String) });
    // When resumed and cleared
    log.append([{ type: 'sink.resumed', data: { sink: 'slack', reason: 'fixed', code: 'reload' } }, { type: 'pending.cleared', data: { sink: 'hook', oldest_pending_at: null, count: 0 } }]);
    // Then
    expect(statusReport(log.db, null).sinks['slack']).toMatchObject({ paused: false, paused_reason: null, paused_at: null });
    expect(statusReport(log.db, null).sinks['hook']).toMatchObject({ stale_since: null });
    log.close();
  });

  it('repairs projections that drifted from the log, and --verify names the rows first', async () => {
    // Given a log with deliveries in every state, and projections someone tampered with
    const log = new SqliteLog(join(temp.dir, 'drift.db'), { now: steppingClock() });
    appendSteps(
      log,
      sampleSteps(stepArb, 60, 7),
    );
    const good = snapshot(log.db);
    const victim = log.db.prepare(`SELECT delivery_id FROM p_deliveries ORDER BY seq LIMIT 1`).pluck().get() as string;
    log.db.prepare(`UPDATE p_deliveries SET status = 'dead', attempts = 99 WHERE delivery_id = ?`).run(victim);
    log.db.prepare(`INSERT INTO p_events_by_type (event_type, n) VALUES ('call.phantom', 3)`).run();

    // When verified
    const verified = await verifyProjections(log.db);

    // Then each difference is reported with its key and the live and rebuilt values
    expect(verified.identical).toBe(false);
    expect(verified.count).toBe(2);
    expect(verified.differences).toContainEqual(
      expect.objectContaining({ table: 'p_deliveries', kind: 'differs', key: { delivery_id: victim } }),
    );
    expect(verified.differences).toContainEqual({
      table: 'p_events_by_type',
      kind: 'only_live',
      key: { event_type: 'call.phantom' },
      row: { event_type: 'call.phantom', n: 3 },
    });
    const differs = verified.differences.find((d) => d.kind === 'differs');
    expect(differs?.kind === 'differs' && differs.columns.map((c) => c.column).sort()).toEqual(['attempts', 'status']);

    // And a rebuild puts back exactly what the log says
    await rebuildProjections(log.db);
    expect(snapshot(log.db)).toEqual(good);
    expect((await verifyProjections(log.db)).identical).toBe(true);
    log.close();
  });

  it('entries appended by another process while the rebuild runs are in the result', async () => {
    // Given a log, and a second writer (another CLI command) that appends during the rebuild
    const dbPath = join(temp.dir, 'busy.db');
    const log = new SqliteLog(dbPath, { now: steppingClock() });
    const steps = sampleSteps(stepArb, 200, 11);
    appendSteps(log, steps);
    const other = new SqliteLog(dbPath, { now: steppingClock(Date.parse('2026-07-01T00:00:00Z')) });

    // When the other writer appends between the rebuild's progress reports
    let appended = false;
    await rebuildProjections(log.db, {
      onProgress: () => {
        if (appended) return;
        appended = true;
        appendSteps(other, steps.slice(0, 50), 'late');
      },
    });

    // Then the projections match a rebuild of the whole log, late entries included
    expect(appended).toBe(true);
    const after = snapshot(log.db);
    const check = await verifyProjections(log.db);
    expect(check.identical).toBe(true);
    expect(JSON.parse(after.status).last_seq).toBe(other.lastSeq());
    other.close();
    log.close();
  });

  it('an interrupted rebuild leaves the projections as they were and no scratch file', async () => {
    // Given a log
    const dbPath = join(temp.dir, 'abort.db');
    const log = new SqliteLog(dbPath, { now: steppingClock() });
    appendSteps(log, sampleSteps(stepArb, 100, 3));
    const before = snapshot(log.db);

    // When the rebuild is interrupted (Ctrl-C) before it swaps
    const controller = new AbortController();
    controller.abort();
    const result = rebuildProjections(log.db, { signal: controller.signal, onProgress: () => {} });

    // Then it fails, and nothing changed
    await expect(result).rejects.toThrow(/interrupted/);
    expect(snapshot(log.db)).toEqual(before);
    expect(existsSync(`${dbPath}.rebuild-${process.pid}.tmp`)).toBe(false);
    log.close();
  });
});
