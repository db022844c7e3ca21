import type { PoolClient } from 'pg';
import { keyScope, PLANNED_COLUMNS, STATE_COLUMNS, stateColumns, stateOf, type DeliveryKeys, type ProjectionStore, type StateColumns, type StoredDelivery } from '../../project/apply-entry.js';
import { SINK_STATE_COLUMNS, type SinkStateRow } from '../../project/sink-state.js';
import { forgetKeySql, forgetStatements, restoreStatements } from '../../project/forget.js';
import type { Entry, TruncationSnapshot } from '../types.js';
import { storableText } from '../text.js';

/** One statement to run, in order, in the append's transaction. */
interface Op {
  text: string;
  values: unknown[];
}

/** SQL written with `?` placeholders (the engine-independent statements of `project/forget.ts`, `log/truncate.ts`) as PostgreSQL numbers them: `$1`, `$2`… */
export const numbered = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${(n += 1)}`);
};

const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
const PLANNED_N = PLANNED_COLUMNS.split(', ').length;
const STATE_N = STATE_COLUMNS.split(', ').length;
const SET_STATE = STATE_COLUMNS.split(', ').map((c, i) => `${c} = $${i + 1}`).join(', ');

const SQL = {
  countEvent: `INSERT INTO p_events_by_type (event_type, n) VALUES ($1, 1) ON CONFLICT (event_type) DO UPDATE SET n = p_events_by_type.n + 1`,
  upsertCall: `INSERT INTO p_calls (call_id, org_id, last_event_type, last_event_seq, events) VALUES ($1, $2, $3, $4, 1)
    ON CONFLICT (call_id) DO UPDATE SET last_event_type = excluded.last_event_type, last_event_seq = excluded.last_event_seq, events = p_calls.events + 1`,
  insertDelivery: `INSERT INTO p_deliveries (${PLANNED_COLUMNS}, ${STATE_COLUMNS}) VALUES (${placeholders(PLANNED_N + STATE_N)})`,
  putDelivery: `UPDATE p_deliveries SET ${SET_STATE} WHERE delivery_id = $${STATE_N + 1}`,
  addCallEntry: `INSERT INTO p_call_entries (seq, call_id, event_seq) VALUES ($1, $2, $3)`,
  setKeyState: `INSERT INTO p_key_state (sink, order_key, key_scope, result) VALUES ($1, $2, $3, $4)
    ON CONFLICT (sink, order_key, key_scope) DO UPDATE SET result = excluded.result`,
  sinkSuccess: `INSERT INTO p_sink_health (sink, last_success_at, consecutive_failures) VALUES ($1, $2, 0)
    ON CONFLICT (sink) DO UPDATE SET last_success_at = excluded.last_success_at, consecutive_failures = 0`,
  sinkFailure: `INSERT INTO p_sink_health (sink, last_error, last_error_at, consecutive_failures) VALUES ($1, $2, $3, 1)
    ON CONFLICT (sink) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at,
      consecutive_failures = p_sink_health.consecutive_failures + 1`,
  putSinkState: `INSERT INTO p_sink_state (${SINK_STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (sink) DO UPDATE SET paused_at = excluded.paused_at, paused_reason = excluded.paused_reason,
      paused_code = excluded.paused_code, stale_at = excluded.stale_at, stale_oldest_at = excluded.stale_oldest_at`,
};

/** A key state's identity, as PostgreSQL stores its three columns (`storableText`), whatever the projector holds. */
const keyOf = (sink: string, orderKey: string, scope: string) => JSON.stringify([sink, orderKey, scope].map(storableText));

/**
 * The live projection store of the PostgreSQL engine. `projectInto` (the very projector SQLite
 * runs) is synchronous, and a PostgreSQL read is not: so the rows a batch of entries can read
 * (their deliveries, key states, sink states, events' calls) are fetched first, in a few
 * queries, the projector runs over them in memory, and the writes it made are then run in
 * order, in the same transaction as the entries. The append lock (see `pg-append.ts`) keeps
 * every other writer out meanwhile, so what was fetched stays true.
 */
export class ProjectionBatch implements ProjectionStore {
  private readonly ops: Op[] = [];
  private readonly deliveries = new Map<string, StoredDelivery | undefined>();
  private readonly keyStates = new Map<string, string | undefined>();
  private readonly sinkStates = new Map<string, SinkStateRow | undefined>();
  private readonly eventCalls = new Map<number, string | undefined>();

  /** Fetches what projecting `entries` (seqs assigned, in order) can read. */
  async prefetch(client: PoolClient, entries: Entry[]): Promise<void> {
    const planned = new Set<string>();
    const ids = new Set<string>();
    const eventSeqs = new Set<number>();
    const sinks = new Set<string>();
    for (const e of entries) {
      if (e.type === 'delivery.planned') {
        const d = e.data;
        planned.add(d.delivery_id);
        if (typeof d.call_id !== 'string') eventSeqs.add(d.event_seq);
      } else if (e.type === 'delivery.attempted' || e.type === 'delivery.dead' || e.type === 'delivery.retried') {
        if (!planned.has(e.data.delivery_id)) ids.add(e.data.delivery_id);
      } else if ('sink' in e.data && typeof e.data.sink === 'string') sinks.add(e.data.sink);
    }
    if (ids.size > 0) {
      const rows = await client.query({
        text: `SELECT ${PLANNED_COLUMNS}, ${STATE_COLUMNS} FROM p_deliveries WHERE delivery_id = ANY($1)`,
        values: [[...ids]],
        rowMode: 'array',
      });
      for (const id of ids) this.deliveries.set(id, undefined);
      for (const r of rows.rows as unknown[][]) {
        const keys: DeliveryKeys = { sink: r[7] as string, event_type: r[4] as string, order_key: r[8] as string | null, key_scope: r[9] as string, call_id: r[11] as string | null, event_seq: r[3] as number };
        this.deliveries.set(r[0] as string, { keys, state: stateOf(r.slice(PLANNED_N) as StateColumns) });
      }
    }
    if (eventSeqs.size > 0) {
      const rows = await client.query<{ seq: number; call_id: string }>(`SELECT seq, call_id FROM p_call_entries WHERE seq = ANY($1) AND event_seq = seq`, [[...eventSeqs]]);
      for (const seq of eventSeqs) this.eventCalls.set(seq, undefined);
      for (const r of rows.rows) this.eventCalls.set(r.seq, r.call_id);
    }
    if (sinks.size > 0) {
      const rows = await client.query({ text: `SELECT ${SINK_STATE_COLUMNS} FROM p_sink_state WHERE sink = ANY($1)`, values: [[...sinks]], rowMode: 'array' });
      for (const sink of sinks) this.sinkStates.set(sink, undefined);
      for (const r of rows.rows as SinkStateRow[]) this.sinkStates.set(r[0], r);
    }
    await this.prefetchKeys(client, entries);
  }

  /** The key states successful attempts of this batch may advance (deliveries planned in it included). */
  private async prefetchKeys(client: PoolClient, entries: Entry[]): Promise<void> {
    const wanted: [string, string, string][] = [];
    for (const e of entries) {
      if (e.type !== 'delivery.attempted' || e.data.outcome !== 'succeeded') continue;
      const keys = this.deliveries.get(e.data.delivery_id)?.keys ?? plannedKeys(entries, e.data.delivery_id);
      if (keys?.order_key != null) wanted.push([keys.sink, keys.order_key, keys.key_scope]);
    }
    if (wanted.length === 0) return;
    const rows = await client.query<{ sink: string; order_key: string; key_scope: string; result: string }>(
      `SELECT k.sink, k.order_key, k.key_scope, k.result FROM p_key_state k
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS w(sink, order_key, key_scope) USING (sink, order_key, key_scope)`,
      [wanted.map((w) => storableText(w[0])), wanted.map((w) => storableText(w[1])), wanted.map((w) => storableText(w[2]))],
    );
    for (const [sink, orderKey, scope] of wanted) this.keyStates.set(keyOf(sink, orderKey, scope), undefined);
    for (const r of rows.rows) this.keyStates.set(keyOf(r.sink, r.order_key, r.key_scope), r.result);
  }

  /**
   * Runs the writes the projector made, in order, as one multi-statement query (one round trip
   * to the server, whatever their number), each value quoted by the driver's `escapeLiteral`.
   */
  async flush(client: PoolClient): Promise<void> {
    if (this.ops.length === 0) return;
    const literal = (value: unknown): string =>
      value === null || value === undefined ? 'NULL' : typeof value === 'number' ? String(value) : client.escapeLiteral(storableText(String(value)));
    const text = this.ops.map((op) => op.text.replace(/\$(\d+)/g, (_, i: string) => literal(op.values[Number(i) - 1]))).join(';\n');
    this.ops.length = 0;
    await client.query(text);
  }

  /** Adds a statement to run at `flush`, after those before it (`$n` are `values[n-1]`). */
  write(text: string, values: unknown[]): void {
    this.ops.push({ text, values });
  }

  countEvent(eventType: string): void {
    this.write(SQL.countEvent, [eventType]);
  }
  upsertCall(callId: string, orgId: string, type: string, seq: number): void {
    this.write(SQL.upsertCall, [callId, orgId, type, seq]);
  }
  insertDelivery(row: Parameters<ProjectionStore['insertDelivery']>[0], state: Parameters<ProjectionStore['insertDelivery']>[1]): void {
    this.write(SQL.insertDelivery, [...row, ...stateColumns(state)]);
    const [id, , , eventSeq, eventType, , , sink, orderKey, keyScope, , callId] = row;
    this.deliveries.set(id, { keys: { sink, event_type: eventType, order_key: orderKey, key_scope: keyScope, call_id: callId, event_seq: eventSeq }, state });
  }
  delivery(id: string): StoredDelivery | undefined {
    return this.deliveries.get(id);
  }
  putDelivery(id: string, state: StoredDelivery['state']): void {
    const stored = this.deliveries.get(id);
    if (stored) this.deliveries.set(id, { keys: stored.keys, state });
    this.write(SQL.putDelivery, [...stateColumns(state), id]);
  }
  keyStateOf(sink: string, orderKey: string, keyScope: string): string | undefined {
    return this.keyStates.get(keyOf(sink, orderKey, keyScope));
  }
  setKeyState(sink: string, orderKey: string, keyScope: string, state: string): void {
    this.keyStates.set(keyOf(sink, orderKey, keyScope), state);
    this.write(SQL.setKeyState, [sink, orderKey, keyScope, state]);
  }
  sinkSuccess(sink: string, at: string): void {
    this.write(SQL.sinkSuccess, [sink, at]);
  }
  sinkFailure(sink: string, at: string, error: string | null): void {
    this.write(SQL.sinkFailure, [sink, error, at]);
  }
  addCallEntry(seq: number, callId: string, eventSeq: number): void {
    if (seq === eventSeq) this.eventCalls.set(seq, callId);
    this.write(SQL.addCallEntry, [seq, callId, eventSeq]);
  }
  callOfEvent(eventSeq: number): string | undefined {
    return this.eventCalls.get(eventSeq);
  }
  sinkState(sink: string): SinkStateRow | undefined {
    return this.sinkStates.get(sink);
  }
  putSinkState(row: SinkStateRow): void {
    this.sinkStates.set(row[0], row);
    this.write(SQL.putSinkState, [...row]);
  }
  restore(snapshot: TruncationSnapshot): void {
    for (const { sql, rows } of restoreStatements((table) => table, snapshot)) {
      const text = numbered(sql);
      for (const row of rows) this.write(text, row);
    }
    for (const row of snapshot.sink_state) this.sinkStates.set(row[0], row);
    for (const [sink, orderKey, scope, result] of snapshot.key_state) this.keyStates.set(keyOf(sink, orderKey, scope), result);
  }
  /**
   * As SQLite's. What its SQL deletes is not dropped from this batch's reads: live, a
   * `log.truncated` is appended alone, so no entry after it in the batch reads them; in a rebuild
   * that SQL deletes nothing (see the fold's `forgetBefore`) but `forgetKeys`, dropped here too.
   */
  forgetBefore(beforeSeq: number, forgetKeys: readonly [string, string, string][]): void {
    for (const sql of forgetStatements((table) => table)) this.write(sql.replaceAll('@first', '$1'), [beforeSeq]);
    for (const [sink, orderKey, scope] of forgetKeys) {
      this.write(numbered(forgetKeySql((table) => table)), [sink, orderKey, scope]);
      this.keyStates.set(keyOf(sink, orderKey, scope), undefined);
    }
  }
}

/** The keys of a delivery planned in this batch, as the projector will store them. */
function plannedKeys(entries: Entry[], id: string): DeliveryKeys | undefined {
  for (const e of entries) {
    if (e.type !== 'delivery.planned' || e.data.delivery_id !== id) continue;
    return { sink: e.data.sink, event_type: e.data.event_type, order_key: e.data.order_key, key_scope: keyScope(e.data.request), call_id: null, event_seq: e.data.event_seq };
  }
  return undefined;
}
