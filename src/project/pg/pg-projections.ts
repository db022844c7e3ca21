import type { Pool, PoolClient } from 'pg';
import { ERASED, OPEN_SQL } from '../../delivery/lifecycle.js';
import { assembleCall, type DeliveryStateRow, type EntryRow } from '../call-story.js';
import type { AttemptContext, OpenDelivery } from '../dispatch-reads.js';
import { assembleStatus, COLUMN_OF, DELIVERY_READ_COLUMNS, deliveryReadOf, type DeliveryFilter, type DeliveryRead, type DeliveryRow, type StatusRows } from '../queries.js';
import type { ProjectionReader } from '../reader.js';
import { pgConsoleReads } from './pg-console-reads.js';
import { DEAD_LETTERS_SQL, deadLettersOf, OLDEST_ANY_SQL, OLDEST_OPEN_SQL, operatorStateOf, type SinkOperatorState } from '../sink-reads.js';
import { SINK_STATE_COLUMNS, type SinkStateRow } from '../sink-state.js';
import { UNROUTED_SQL, type Unrouted } from '../gauges.js';
import { PG_ENTRY_COLUMNS, PG_ENTRY_JOINS, type PgSealer } from '../../log/pg/pg-sealed.js';
import { damagedPlanRequest, notPlannedRequest } from '../../route/not-planned.js';
import type { EntryOf } from '../../log/seam.js';
import { entryData } from '../../log/damaged-entry.js';

const OPEN_COLUMNS = 'delivery_id, seq, sink, order_key, next_attempt_at';

/** Runs `work` on one connection in a REPEATABLE READ, read-only transaction: one snapshot for several reads. */
async function snapshot<T>(pool: Pool, work: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function sinkStates(q: Pool | PoolClient): Promise<Record<string, SinkOperatorState>> {
  const rows = await q.query({ text: `SELECT ${SINK_STATE_COLUMNS} FROM p_sink_state ORDER BY sink`, values: [], rowMode: 'array' });
  return Object.fromEntries((rows.rows as SinkStateRow[]).map((row) => [row[0], operatorStateOf(row)]));
}

/**
 * The projection reads (`ProjectionReader`) of a PostgreSQL log: the queries of the SQLite
 * reads (project/queries.ts, call-story.ts, dispatch-reads.ts, sink-reads.ts) in PostgreSQL's
 * dialect, assembled by the same functions, so both engines answer alike.
 */
export function pgProjections(pool: Pool, sealer: PgSealer): ProjectionReader {
  return {
    ...pgConsoleReads(pool, sealer),
    status: (rules) =>
      snapshot(pool, async (c) => {
        const rows: StatusRows = {
          byType: (await c.query(`SELECT event_type, n FROM p_events_by_type ORDER BY event_type COLLATE "C"`)).rows,
          counts: (await c.query(`SELECT sink, status, count(*) AS n FROM p_deliveries GROUP BY sink, status ORDER BY sink COLLATE "C"`)).rows,
          health: (await c.query(`SELECT * FROM p_sink_health`)).rows,
          oldestPendingAt: (await c.query(OLDEST_ANY_SQL('postgres'))).rows[0].at,
          lastSeq: (await c.query(`SELECT coalesce(max(seq), 0) AS seq FROM entries`)).rows[0].seq,
          states: await sinkStates(c),
          chainHead: (await c.query(`SELECT hash FROM entries ORDER BY seq DESC LIMIT 1`)).rows[0]?.hash ?? null,
          unrouted: (await c.query<Unrouted>(UNROUTED_SQL)).rows[0]!,
        };
        return assembleStatus(rows, rules);
      }),
    deliveries: (filter) => listDeliveries(pool, filter),
    call: (callId) =>
      snapshot(pool, async (c) => {
        const call = (await c.query<{ org_id: string | null }>(`SELECT org_id FROM p_calls WHERE call_id = $1`, [callId])).rows[0];
        if (!call) return undefined;
        const deliveries = await c.query<DeliveryStateRow>(
          `SELECT delivery_id, event_id, rule_id, sink, status, order_key, result, dead_reason FROM p_deliveries WHERE call_id = $1 ORDER BY seq`,
          [callId],
        );
        // the facts as text, shaped in JS as the SQLite read shapes them: PostgreSQL's json
        // operators refuse a string holding \u0000, which a webhook may carry
        const rows = await c.query<EntryRow>(
          `SELECT e.seq, e.type, e.at, e.data::text AS data FROM p_call_entries r JOIN entries e ON e.seq = r.seq WHERE r.call_id = $1 ORDER BY r.seq`,
          [callId],
        );
        const entries = rows.rows.map((row) => ({ ...row, data: storyData(row) }));
        const erased = await c.query(`SELECT 1 FROM entries WHERE type = 'call.erased' AND data ->> 'call_id' = $1 LIMIT 1`, [callId]);
        return assembleCall(callId, call.org_id, deliveries.rows, entries, erased.rowCount! > 0);
      }),
    names: async () => ({
      sinks: (await pool.query<{ x: string }>(`SELECT DISTINCT sink COLLATE "C" AS x FROM p_deliveries ORDER BY 1`)).rows.map((r) => r.x),
      rules: (await pool.query<{ x: string }>(`SELECT DISTINCT rule_id COLLATE "C" AS x FROM p_deliveries ORDER BY 1`)).rows.map((r) => r.x),
    }),
    hasCall: async (callId) => (await pool.query(`SELECT 1 FROM p_calls WHERE call_id = $1`, [callId])).rowCount! > 0,
    hasEvent: async (eventId) => (await pool.query(`SELECT 1 FROM entries WHERE dedupe_key = $1`, [`event:${eventId}`])).rowCount! > 0,
    openDeliveries: () =>
      snapshot(pool, async (c) => ({
        deliveries: (await c.query<OpenDelivery>(`SELECT ${OPEN_COLUMNS} FROM p_deliveries WHERE status IN ${OPEN_SQL} ORDER BY seq`)).rows,
        throughSeq: (await c.query<{ seq: number }>(`SELECT coalesce(max(seq), 0) AS seq FROM entries`)).rows[0]!.seq,
      })),
    openDelivery: async (id) =>
      (await pool.query<OpenDelivery>(`SELECT ${OPEN_COLUMNS} FROM p_deliveries WHERE delivery_id = $1 AND status IN ${OPEN_SQL}`, [id])).rows[0],
    attemptContext: (id) => attemptContext(pool, sealer, id),
    sinkStates: () => sinkStates(pool),
    oldestOpen: async (sink) =>
      (await pool.query(OLDEST_OPEN_SQL('$1'), [sink])).rows[0] ?? null,
    openCount: async (sink) => (await pool.query<{ n: number }>(`SELECT count(*) AS n FROM p_deliveries WHERE sink = $1 AND status IN ${OPEN_SQL}`, [sink])).rows[0]!.n,
    deadLetters: async () => deadLettersOf((await pool.query<{ sink: string; redrivable: number; n: number }>(DEAD_LETTERS_SQL)).rows),
  };
}

/** `deliveries --json` rows, newest first (see `listDeliveries` of project/queries.ts). */
async function listDeliveries(pool: Pool, filter: DeliveryFilter = {}): Promise<DeliveryRead[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
    const value = filter[key];
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} = $${values.length}`);
  }
  if (filter.ids) {
    values.push(filter.ids);
    where.push(`delivery_id = ANY($${values.length})`);
  }
  const limit = filter.limit === undefined || filter.limit < 0 ? '' : `LIMIT ${Math.floor(filter.limit)}`;
  const rows = await pool.query<Omit<DeliveryRow, 'last_error'> & { last_error: string | null; call_erased: boolean }>(
    `SELECT ${DELIVERY_READ_COLUMNS} FROM p_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC ${limit}`,
    values,
  );
  return rows.rows.map(deliveryReadOf);
}

/**
 * An entry's `data` as a call's story shows it (see `assembleCall`): an event's as the array
 * `[event_id, event_type, created_at, received_at]` (its body is most of the log, and personal
 * data), a plan's without its request, any other as stored.
 */
function storyData(row: EntryRow): string | null {
  if (row.type !== 'event.received' && row.type !== 'delivery.planned') return row.data;
  const data = entryData(row);
  if (row.type === 'event.received') return JSON.stringify([data['event_id'], data['event_type'], data['created_at'], data['received_at']]);
  const { request: _request, ...rest } = data;
  return JSON.stringify(rest);
}

/** What an attempt is made from; rejects when the delivery is unknown; a damaged plan entry gives `damagedPlanRequest`'s placeholder (see `DispatchReads.attemptContext`). */
async function attemptContext(pool: Pool, sealer: PgSealer, id: string): Promise<AttemptContext> {
  const row = (
    await pool.query<{ seq: number; key_state: string | null; event_type: string; attempts: number; round_failures: number }>(
      `SELECT d.seq, k.result AS key_state, d.event_type, d.attempts, d.round_failures FROM p_deliveries d
       LEFT JOIN p_key_state k ON k.sink = d.sink AND k.order_key = d.order_key AND k.key_scope = d.key_scope
       WHERE d.delivery_id = $1`,
      [id],
    )
  ).rows[0];
  if (!row) throw new Error(`no delivery ${id} in the projections`);
  // the plan's request, opened in JS (PostgreSQL's `->` refuses a json string holding \u0000)
  let request: Record<string, unknown>;
  try {
    const [plan] = (await sealer.entries(pool, `SELECT ${PG_ENTRY_COLUMNS} FROM entries e ${PG_ENTRY_JOINS} WHERE e.seq = $1`, [row.seq])) as EntryOf<'delivery.planned'>[];
    // an erased call's delivery is never sent: it fails at once, as a plan that could not be made
    request = plan && plan.data.request['erased'] !== true ? plan.data.request : notPlannedRequest(ERASED);
  } catch (error) {
    request = damagedPlanRequest(error); // its entry cannot be read back: the same, with the damage as its reason
  }
  return {
    request,
    keyState: row.key_state === null ? null : (JSON.parse(row.key_state) as Record<string, unknown>),
    event_type: row.event_type,
    attempts: row.attempts,
    round_failures: row.round_failures,
  };
}
