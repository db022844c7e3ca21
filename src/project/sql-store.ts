import type { Database, Statement } from 'better-sqlite3';
import { DELIVERY_VALUES, PLANNED_COLUMNS, projectInto, SET_STATE, STATE_COLUMNS, stateColumns, stateOf, type ApplyEntry, type ProjectionStore, type StateColumns } from './apply-entry.js';
import { forgetKeySql, forgetStatements, restoreStatements } from './forget.js';
import { SINK_STATE_COLUMNS, type SinkStateRow } from './sink-state.js';

/**
 * The live projection store of the SQLite engine: each write the projector (`apply-entry.ts`)
 * makes is one prepared statement, run at once in the append's transaction.
 */

/**
 * `schema` names the attached database whose `p_*` tables to write: `main` (the default) live,
 * a scratch database in `replay --rebuild` and `--verify`. The SQL is otherwise the same.
 */
export function projector(db: Database, schema = 'main'): ApplyEntry {
  return projectInto(sqlStore(db, schema));
}

/** The SQL of each write, prepared once, positional parameters. */
export function sqlStatements(db: Database, schema: string) {
  const t = (table: string) => `${schema}.${table}`;
  const prepare = (sql: string): Statement<unknown[]> => db.prepare(sql);
  return {
    countEvent: prepare(
      `INSERT INTO ${t('p_events_by_type')} (event_type, n) VALUES (?, 1)
       ON CONFLICT (event_type) DO UPDATE SET n = n + 1`,
    ),
    upsertCall: prepare(
      `INSERT INTO ${t('p_calls')} (call_id, org_id, last_event_type, last_event_seq, events)
       VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (call_id) DO UPDATE SET last_event_type = excluded.last_event_type,
         last_event_seq = excluded.last_event_seq, events = events + 1`,
    ),
    insertDelivery: prepare(`INSERT INTO ${t('p_deliveries')} (${PLANNED_COLUMNS}, ${STATE_COLUMNS}) ${DELIVERY_VALUES}`),
    delivery: prepare(
      `SELECT sink, event_type, order_key, key_scope, call_id, event_seq, ${STATE_COLUMNS} FROM ${t('p_deliveries')} WHERE delivery_id = ?`,
    ).raw(),
    putDelivery: prepare(`UPDATE ${t('p_deliveries')} ${SET_STATE} WHERE delivery_id = ?`),
    addCallEntry: prepare(`INSERT INTO ${t('p_call_entries')} (seq, call_id, event_seq) VALUES (?, ?, ?)`),
    // the event's own row: its event_seq is its seq
    callOfEvent: prepare(`SELECT call_id FROM ${t('p_call_entries')} WHERE seq = ? AND event_seq = seq`).pluck(),
    keyStateOf: prepare(`SELECT result FROM ${t('p_key_state')} WHERE sink = ? AND order_key = ? AND key_scope = ?`).pluck(),
    setKeyState: prepare(
      `INSERT INTO ${t('p_key_state')} (sink, order_key, key_scope, result) VALUES (?, ?, ?, ?)
       ON CONFLICT (sink, order_key, key_scope) DO UPDATE SET result = excluded.result`,
    ),
    sinkSuccess: prepare(
      `INSERT INTO ${t('p_sink_health')} (sink, last_success_at, consecutive_failures) VALUES (?, ?, 0)
       ON CONFLICT (sink) DO UPDATE SET last_success_at = excluded.last_success_at, consecutive_failures = 0`,
    ),
    sinkFailure: prepare(
      `INSERT INTO ${t('p_sink_health')} (sink, last_error, last_error_at, consecutive_failures) VALUES (?, ?, ?, 1)
       ON CONFLICT (sink) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at,
         consecutive_failures = consecutive_failures + 1`,
    ),
    sinkState: prepare(`SELECT ${SINK_STATE_COLUMNS} FROM ${t('p_sink_state')} WHERE sink = ?`).raw(),
    putSinkState: prepare(
      `INSERT INTO ${t('p_sink_state')} (${SINK_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (sink) DO UPDATE SET paused_at = excluded.paused_at, paused_reason = excluded.paused_reason,
         paused_code = excluded.paused_code, stale_at = excluded.stale_at, stale_oldest_at = excluded.stale_oldest_at`,
    ),
  };
}

/** The live store: each write is its statement, straight away. */
export function sqlStore(db: Database, schema = 'main'): ProjectionStore {
  const s = sqlStatements(db, schema);
  const t = (table: string) => `${schema}.${table}`;
  return {
    countEvent: (eventType) => void s.countEvent.run(eventType),
    upsertCall: (callId, orgId, type, seq) => void s.upsertCall.run(callId, orgId, type, seq),
    insertDelivery: (row, state) => void s.insertDelivery.run([...row, ...stateColumns(state)]),
    delivery: (id) => {
      const r = s.delivery.get(id) as [string, string, string | null, string, string | null, number, ...StateColumns] | undefined;
      return r && {
        keys: { sink: r[0], event_type: r[1], order_key: r[2], key_scope: r[3], call_id: r[4], event_seq: r[5] },
        state: stateOf(r.slice(6) as StateColumns),
      };
    },
    putDelivery: (id, state) => void s.putDelivery.run(...stateColumns(state), id),
    keyStateOf: (sink, orderKey, keyScope) => s.keyStateOf.get(sink, orderKey, keyScope) as string | undefined,
    setKeyState: (sink, orderKey, keyScope, state) => void s.setKeyState.run(sink, orderKey, keyScope, state),
    sinkSuccess: (sink, at) => void s.sinkSuccess.run(sink, at),
    sinkFailure: (sink, at, error) => void s.sinkFailure.run(sink, error, at),
    addCallEntry: (seq, callId, eventSeq) => void s.addCallEntry.run(seq, callId, eventSeq),
    callOfEvent: (eventSeq) => s.callOfEvent.get(eventSeq) as string | undefined,
    sinkState: (sink) => s.sinkState.get(sink) as SinkStateRow | undefined,
    putSinkState: (row) => void s.putSinkState.run(row),
    restore: (snapshot) => {
      for (const { sql, rows } of restoreStatements(t, snapshot)) {
        const upsert = db.prepare(sql);
        for (const row of rows) upsert.run(...row);
      }
    },
    forgetBefore: (beforeSeq, forgetKeys) => {
      for (const sql of forgetStatements(t)) db.prepare(sql).run({ first: beforeSeq });
      const forgetKey = db.prepare(forgetKeySql(t));
      for (const key of forgetKeys) forgetKey.run(...key);
    },
  };
}
