import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAIL_SCAN_ENTRIES, typesQuery } from '../src/log/sqlite/read-types.js';
import { FACT_COLUMNS } from '../src/log/sqlite/sealed.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { Entry, NewEntry } from '../src/log/types.js';
import { receivedEntry } from './helpers/entries.js';

/**
 * A read of several exact types (the router's and the due index's looks) scans a short tail by
 * seq and reads a long range by type (log/sqlite/read-types.ts): both answer what a filter over
 * every entry answers.
 */
const TYPES = ['event.received', 'delivery.planned', 'delivery.attempted', 'sink.paused'] as const;
let dir: string;
let log: SqliteLog;
let all: Entry[];

function entryOf(type: (typeof TYPES)[number], i: number): NewEntry {
  if (type === 'event.received') return receivedEntry({ event_id: `evt_rt_${i}`, call_id: `call_rt_${i}` });
  if (type === 'sink.paused') return { type, data: { sink: 'hook', code: 'invalid_auth', reason: `r${i}`, delivery_id: `d${i}` } } as NewEntry;
  if (type === 'delivery.planned') {
    return { type, data: { delivery_id: `d${i}`, event_id: `evt_rt_${i}`, event_seq: 1, event_type: 'call.completed', call_id: 'call_rt', rule_id: 'r', action_index: 0, sink: 'hook', request: { body: {} }, order_key: null, rules_hash: 'h' } };
  }
  return { type, data: { delivery_id: `d${i}`, attempt: 1, outcome: 'succeeded', duration_ms: 1, error: null, retry_at: null, result: null } };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'husky-read-types-'));
  // entries an hour apart at most, mostly events and attempts, sink.paused rare: long ranges and short tails alike
  let minute = 0;
  log = new SqliteLog(join(dir, 'relay.db'), { now: () => new Date(Date.UTC(2026, 5, 1) + minute++ * 1000) });
  const kinds = fc.sample(fc.constantFrom<(typeof TYPES)[number]>('event.received', 'event.received', 'delivery.planned', 'delivery.attempted', 'delivery.attempted', 'sink.paused'), { numRuns: TAIL_SCAN_ENTRIES * 2, seed: 7 });
  for (let i = 0; i < kinds.length; i += 1000) log.append(kinds.slice(i, i + 1000).map((k, j) => entryOf(k, i + j)));
  all = log.read(0, { facts: true });
});
afterAll(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('read of several types', () => {
  it('answers as a filter over every entry would, for short tails and long ranges, with limits and times', () => {
    const last = all.length;
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: last - 50, max: last }), fc.integer({ min: 0, max: last })),
        fc.subarray([...TYPES], { minLength: 2 }),
        fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: last }), { nil: undefined }),
        (afterSeq, types, limit, sinceSeq) => {
          const since = sinceSeq === undefined ? undefined : all[Math.max(0, sinceSeq - 1)]!.at;
          const expected = all.filter((e) => e.seq > afterSeq && types.includes(e.type as never) && (since === undefined || e.at >= since)).slice(0, limit ?? Infinity);
          const got = log.read(afterSeq, { types, facts: true, ...(limit !== undefined && { limit }), ...(since !== undefined && { since }) });
          expect(got.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
        },
      ),
      { numRuns: 300, seed: 13 },
    );
  });

  it('scans a short tail by seq and reads a long range by type, as the query plans say', () => {
    const plan = (ahead: number) => {
      const { sql, params } = typesQuery({ afterSeq: 0, types: ['delivery.planned', 'sink.paused'], options: { limit: 10 }, columns: FACT_COLUMNS, joins: '', ahead });
      return (log.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
    };
    expect(plan(TAIL_SCAN_ENTRIES)).toBe('SEARCH e USING INTEGER PRIMARY KEY (rowid>?)');
    expect(plan(TAIL_SCAN_ENTRIES + 1)).toContain('SEARCH entries USING COVERING INDEX entries_type_seq (type=? AND seq>?)');
  });
});
