import type { Database } from 'better-sqlite3';
import { dedupeKey } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';

/** The sinks and rules the log's deliveries name, each sorted: what a filter may name besides the rules in force. */
export interface LogNames {
  sinks: string[];
  rules: string[];
}

/**
 * The distinct values of an indexed column, one index seek each (a skip scan): as cheap on a
 * 1,000,000-delivery log as on an empty one, when the values are few (sinks, rules).
 */
function distinct(db: Database, column: 'sink' | 'rule_id'): string[] {
  return db
    .prepare(
      `WITH RECURSIVE v(x) AS (
         SELECT min(${column}) FROM p_deliveries
         UNION ALL SELECT (SELECT min(${column}) FROM p_deliveries WHERE ${column} > x) FROM v WHERE x IS NOT NULL
       ) SELECT x FROM v WHERE x IS NOT NULL`,
    )
    .pluck()
    .all() as string[];
}

/** The sinks and rules that the log's deliveries name (`p_deliveries`), each sorted. */
export function logNames(db: Database): LogNames {
  return { sinks: distinct(db, 'sink'), rules: distinct(db, 'rule_id') };
}

/** Whether the log holds an event of this call. */
export function hasCall(db: Database, callId: string): boolean {
  return db.prepare(`SELECT 1 FROM p_calls WHERE call_id = ?`).get(callId) !== undefined;
}

/** Whether the log holds this event (by its dedupe key, `event:<event_id>`: one index seek). */
export function hasEvent(db: Database, eventId: string): boolean {
  const key = dedupeKey({ type: 'event.received', data: { event_id: eventId } } as NewEntry);
  return db.prepare(`SELECT 1 FROM entries WHERE dedupe_key = ?`).get(key) !== undefined;
}
