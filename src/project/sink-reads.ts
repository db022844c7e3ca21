import type { Database, Statement } from 'better-sqlite3';
import { OPEN_SQL, REDRIVABLE_DEAD_SQL } from '../delivery/lifecycle.js';
import { SINK_STATE_COLUMNS, type SinkStateRow } from './sink-state.js';

/** A sink's operator state (README "When a rule fails at run time"), as `p_sink_state` has it. */
export interface SinkOperatorState {
  /** Paused for its credentials: since when (`at` of its `sink.paused`), why, and the refused code; null when not paused. */
  paused: { at: string; reason: string; code: string } | null;
  /** Stale: since when (`at` of its `pending.stale`) and the oldest open delivery then; null when not stale. */
  stale: { at: string; oldest_pending_at: string } | null;
}

/**
 * The open delivery of a sink that has waited longest: the earliest `open_since` of those pending
 * or retrying, which is when it was planned or, if re-driven since, last re-driven (ISO).
 */
export interface OldestOpen {
  delivery_id: string;
  open_since: string;
}

/**
 * What an open delivery waits since (README "Stale work"): its plan, or its latest re-drive. The
 * expression both `p_deliveries_open_since` indexes are made on (migrations: SQLite 5, PostgreSQL 3).
 */
const OPEN_SINCE = 'coalesce(redriven_at, planned_at)';

/** `OldestOpen` of a sink (`?`/`$1`), by the `p_deliveries_open_since` index on both engines. */
export const OLDEST_OPEN_SQL = (sink: string) =>
  `SELECT delivery_id, ${OPEN_SINCE} AS open_since FROM p_deliveries WHERE sink = ${sink} AND status IN ${OPEN_SQL}
   ORDER BY ${OPEN_SINCE} LIMIT 1`;

/**
 * When the open delivery that has waited longest waits since, over every sink, as `at` (null
 * when none): `status` and the oldest-pending gauge. A seek on `p_deliveries_open_since_all`;
 * SQLite's planner, which has no statistics, is told so (`INDEXED BY`), or it reads every open
 * delivery through the status index (28 ms on 1M entries).
 */
export const OLDEST_ANY_SQL = (engine: 'sqlite' | 'postgres') =>
  `SELECT min(${OPEN_SINCE}) AS at FROM p_deliveries ${engine === 'sqlite' ? 'INDEXED BY p_deliveries_open_since_all ' : ''}WHERE status IN ${OPEN_SQL}`;

/**
 * A sink's dead letters, counted apart (README "Erasure"): those a person can re-drive
 * (`REDRIVABLE_DEAD_SQL`), and those of an erased call (`closedByErasure`: closed by the erasure,
 * or dead before or since it), which nothing re-drives.
 */
export interface DeadLetters {
  redrivable: number;
  erased: number;
}

/** `DeadLetters` of each sink that has any, rows `{sink, redrivable: 1|0, n}` (both engines): only dead rows are read. */
export const DEAD_LETTERS_SQL = `SELECT sink, redrivable, count(*) AS n FROM
  (SELECT sink, CASE WHEN ${REDRIVABLE_DEAD_SQL} THEN 1 ELSE 0 END AS redrivable FROM p_deliveries WHERE status = 'dead') dead
  GROUP BY sink, redrivable`;

/** `DEAD_LETTERS_SQL`'s rows as `DeadLetters` by sink name (a sink without dead letters is absent). */
export function deadLettersOf(rows: readonly { sink: string; redrivable: number; n: number }[]): Record<string, DeadLetters> {
  const bySink: Record<string, DeadLetters> = {};
  for (const row of rows) {
    const counts = (bySink[row.sink] ??= { redrivable: 0, erased: 0 });
    counts[Number(row.redrivable) === 1 ? 'redrivable' : 'erased'] += Number(row.n);
  }
  return bySink;
}

export function operatorStateOf(row: SinkStateRow): SinkOperatorState {
  const [, pausedAt, reason, code, staleAt, oldest] = row;
  return {
    paused: pausedAt === null ? null : { at: pausedAt, reason: reason ?? '', code: code ?? '' },
    stale: staleAt === null ? null : { at: staleAt, oldest_pending_at: oldest ?? '' },
  };
}

/**
 * The reads of sinks' operator state and backlog: what the dispatcher loads at start (paused
 * sinks), what the stale watch looks at (each sink's oldest open delivery, through the partial
 * index of open deliveries: one index seek, whatever the backlog), and what `resume` checks.
 */
export class SinkReads {
  private readonly states: Statement;
  private readonly oldest: Statement;
  private readonly count: Statement;
  private readonly dead: Statement;

  constructor(db: Database) {
    this.states = db.prepare(`SELECT ${SINK_STATE_COLUMNS} FROM p_sink_state ORDER BY sink`).raw();
    // the same WHERE as the partial index `p_deliveries_open`, so that index answers it
    this.oldest = db.prepare(OLDEST_OPEN_SQL('?'));
    this.count = db.prepare(`SELECT count(*) FROM p_deliveries WHERE sink = ? AND status IN ${OPEN_SQL}`).pluck();
    this.dead = db.prepare(DEAD_LETTERS_SQL);
  }

  /** Each sink's dead letters, re-drivable and closed by an erasure (see `DeadLetters`). */
  deadLetters(): Record<string, DeadLetters> {
    return deadLettersOf(this.dead.all() as { sink: string; redrivable: number; n: number }[]);
  }

  /** Every sink with an operator state row, by name (sinks never paused nor stale have none). */
  sinkStates(): Record<string, SinkOperatorState> {
    return Object.fromEntries((this.states.all() as SinkStateRow[]).map((row) => [row[0], operatorStateOf(row)]));
  }

  oldestOpen(sink: string): OldestOpen | null {
    return (this.oldest.get(sink) as OldestOpen | undefined) ?? null;
  }

  openCount(sink: string): number {
    return this.count.get(sink) as number;
  }
}
