import { openStore } from '../../src/log/store.js';
import type { NewEntry } from '../../src/log/types.js';
import { sweepAndTruncate } from '../../src/privacy/retention.js';

const HOUR = 3_600_000;

/** The `n`-th call's one event: `evt_N` of `call_N`, a `call.completed` of org_1 at `at`. */
function event(n: number, at: string): NewEntry {
  const body = JSON.stringify({ event_id: `evt_${n}`, event_type: 'call.completed', data: { call_id: `call_${n}` } });
  return { type: 'event.received', data: { event_id: `evt_${n}`, event_type: 'call.completed', org_id: 'org_1', created_at: at, received_at: at, call_id: `call_${n}`, body } };
}

/**
 * Writes at `dbPath` (a new SQLite log; its master key beside it) a log retention truncated
 * (README "Retention"): five calls `call_1`…`call_5`, one event each (`evt_N`, seq N), an hour
 * apart from 2026-06-01T10:00Z, then a sweep with a retention of one hour after the last. It
 * erases calls 1–4 and removes the entries of 1–3: the log starts at entry 4. Resolves with what
 * the sweep reported (`{ erased: 4, removed: 3 }`).
 */
export async function writeTruncatedLog(dbPath: string): Promise<{ erased: number; removed: number }> {
  let now = Date.parse('2026-06-01T10:00:00Z');
  const store = await openStore(dbPath, { now: () => new Date(now) });
  try {
    for (let n = 1; n <= 5; n += 1) {
      await store.writer.append([event(n, new Date(now).toISOString())]);
      now += HOUR;
    }
    return await sweepAndTruncate(store.privacy, new Date(now), HOUR);
  } finally {
    await store.close();
  }
}

/**
 * Writes at `dbPath` a log retention truncated without removing any call's entry (README
 * "Retention"): two `rules.loaded` entries (seq 1-2, as serve writes at start) at 2026-06-01T10:00Z,
 * then `evt_3` of `call_3` three hours later, and a sweep with a retention of one hour at that
 * moment: the call is kept, the two entries before it go, and the log starts at entry 3. Resolves
 * with what the sweep reported (`{ erased: 0, removed: 2 }`).
 */
export async function writeLogTruncatedBeforeCalls(dbPath: string): Promise<{ erased: number; removed: number }> {
  let now = Date.parse('2026-06-01T10:00:00Z');
  const store = await openStore(dbPath, { now: () => new Date(now) });
  try {
    for (const hash of ['a', 'b']) await store.writer.append([{ type: 'rules.loaded', data: { rules_hash: hash.repeat(64), path: 'rules.yaml' } }]);
    now += 3 * HOUR;
    await store.writer.append([event(3, new Date(now).toISOString())]);
    return await sweepAndTruncate(store.privacy, new Date(now), HOUR);
  } finally {
    await store.close();
  }
}
