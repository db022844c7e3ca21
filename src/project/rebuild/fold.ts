import type { Database, Statement } from 'better-sqlite3';
import type { DeliveryState } from '../../delivery/lifecycle.js';
import {
  PLANNED_COLUMNS,
  SET_STATE,
  STATE_COLUMNS,
  stateColumns,
  stateOf,
  type DeliveryRow,
  type ProjectionStore,
  type StateColumns,
} from '../apply-entry.js';
import { SINK_STATE_COLUMNS, type SinkStateRow } from '../sink-state.js';
import { forgetCallsSql, forgetKeySql, restoreCallSql } from '../forget.js';
import { batchInsert } from './batch-insert.js';
import { FoldTable } from './fold-table.js';

/**
 * A projection store for `replay --rebuild` and `--verify`: the projector (`projectInto`, the
 * very function the live path runs) writes into bounded in-memory tables that fold the entries
 * of one row together (a delivery's plan, attempts and dead letter become one INSERT instead of
 * four statements), and rows go to the scratch tables when they age out or at `flush()`.
 *
 * Each method does in memory what its SQL twin in `sqlStore` does, and the property test
 * (live vs rebuilt, rowids included) holds the two to it. Rows are first written in the order
 * they were first created, so rowids come out as the live path made them; a row that aged out
 * and is touched again is read back and later written with an UPDATE.
 */

/** A delivery as folding keeps it: its planned columns and its life cycle's state. */
interface Delivery {
  planned: DeliveryRow;
  state: DeliveryState;
}
const EVENT_SEQ = 3, EVENT_TYPE = 4, SINK = 7, ORDER_KEY = 8, KEY_SCOPE = 9, CALL_ID = 11;
const PLANNED = PLANNED_COLUMNS.split(', ').length;
/** `p_call_entries` rows held before they are written in one batch. */
const CALL_ENTRIES_HELD = 256;
const DELIVERY_COLUMNS = PLANNED + STATE_COLUMNS.split(', ').length;

type KeyRow = [sink: string, order_key: string, key_scope: string, result: string];
type Call = [call_id: string, org_id: string, last_event_type: string, last_event_seq: number, events: number];
type Health = [sink: string, last_success_at: string | null, last_error: string | null, last_error_at: string | null, consecutive_failures: number];

export interface FoldStore extends ProjectionStore {
  /** Writes every row still in memory to the scratch tables. */
  flush(): void;
}

export function foldStore(db: Database, schema: string): FoldStore {
  const t = (table: string) => `${schema}.${table}`;
  const prepare = (sql: string): Statement<unknown[]> => db.prepare(sql);
  const insertInto = (into: string, columns: number, onConflict?: string) => batchInsert(db, t(into), columns, onConflict);
  const loader = (sql: string) => {
    const statement = prepare(sql).raw();
    return <R>(key: unknown) => statement.get(key) as R | undefined;
  };

  const events = new FoldTable<[string, number]>(
    loader(`SELECT event_type, n FROM ${t('p_events_by_type')} WHERE event_type = ?`),
    insertInto('p_events_by_type (event_type, n)', 2),
    (row) => void updateEvents.run(row[1], row[0]),
  );
  const updateEvents = prepare(`UPDATE ${t('p_events_by_type')} SET n = ? WHERE event_type = ?`);
  // A call that aged out is not read back: the row in memory then holds what came since, and
  // goes to SQLite as the same upsert the live path makes (the events since are added). New
  // rows are still first written in order.
  const calls = new FoldTable<Call>(
    () => undefined,
    insertInto(
      'p_calls (call_id, org_id, last_event_type, last_event_seq, events)',
      5,
      `ON CONFLICT (call_id) DO UPDATE SET last_event_type = excluded.last_event_type,
         last_event_seq = excluded.last_event_seq, events = events + excluded.events`,
    ),
    () => {},
  );
  const loadDelivery = prepare(`SELECT ${PLANNED_COLUMNS}, ${STATE_COLUMNS} FROM ${t('p_deliveries')} WHERE delivery_id = ?`).raw();
  const insertDeliveries = insertInto(`p_deliveries (${PLANNED_COLUMNS}, ${STATE_COLUMNS})`, DELIVERY_COLUMNS);
  const deliveries = new FoldTable<Delivery>(
    (id) => {
      const row = loadDelivery.get(id) as unknown[] | undefined;
      return row && { planned: row.slice(0, PLANNED) as DeliveryRow, state: stateOf(row.slice(PLANNED) as StateColumns) };
    },
    (ds) => insertDeliveries(ds.map((d) => [...d.planned, ...stateColumns(d.state)])),
    (d) => void updateDelivery.run(...stateColumns(d.state), d.planned[0]),
  );
  const updateDelivery = prepare(`UPDATE ${t('p_deliveries')} ${SET_STATE} WHERE delivery_id = ?`);
  // insert-only, keyed by seq (its rowid): held back and written in batches, read back by seq
  const insertCallEntries = insertInto('p_call_entries (seq, call_id, event_seq)', 3);
  const callEntries: [number, string, number][] = [];
  const writeCallEntries = () => {
    insertCallEntries(callEntries);
    callEntries.length = 0;
  };
  const callOfEvent = prepare(`SELECT call_id FROM ${t('p_call_entries')} WHERE seq = ? AND event_seq = seq`).pluck();
  // A key is read back when it aged out: a later delivery of the key may change its state.
  const loadKey = prepare(`SELECT sink, order_key, key_scope, result FROM ${t('p_key_state')} WHERE sink = ? AND order_key = ? AND key_scope = ?`).raw();
  const keyState = new FoldTable<KeyRow>(
    (key) => loadKey.get(...(JSON.parse(key as string) as string[])) as KeyRow | undefined,
    insertInto('p_key_state (sink, order_key, key_scope, result)', 4),
    (row) => void updateKey.run(row[3], row[0], row[1], row[2]),
  );
  const updateKey = prepare(`UPDATE ${t('p_key_state')} SET result = ? WHERE sink = ? AND order_key = ? AND key_scope = ?`);
  const health = new FoldTable<Health>(
    loader(`SELECT sink, last_success_at, last_error, last_error_at, consecutive_failures FROM ${t('p_sink_health')} WHERE sink = ?`),
    insertInto('p_sink_health (sink, last_success_at, last_error, last_error_at, consecutive_failures)', 5),
    (row) => void updateHealth.run(row[1], row[2], row[3], row[4], row[0]),
  );
  const updateHealth = prepare(
    `UPDATE ${t('p_sink_health')} SET last_success_at = ?, last_error = ?, last_error_at = ?, consecutive_failures = ? WHERE sink = ?`,
  );
  const sinkStates = new FoldTable<SinkStateRow>(
    loader(`SELECT ${SINK_STATE_COLUMNS} FROM ${t('p_sink_state')} WHERE sink = ?`),
    insertInto(`p_sink_state (${SINK_STATE_COLUMNS})`, 6),
    (row) => void updateSinkState.run(...row.slice(1), row[0]),
  );
  const updateSinkState = prepare(
    `UPDATE ${t('p_sink_state')} SET paused_at = ?, paused_reason = ?, paused_code = ?, stale_at = ?, stale_oldest_at = ? WHERE sink = ?`,
  );

  return {
    countEvent(eventType) {
      const slot = events.get(eventType);
      if (slot === undefined) return events.add(eventType, [eventType, 1]);
      slot.row[1] += 1;
      slot.dirty = true;
    },
    upsertCall(callId, orgId, type, seq) {
      const slot = calls.get(callId);
      if (slot === undefined) return calls.add(callId, [callId, orgId, type, seq, 1]);
      const row = slot.row;
      row[2] = type;
      row[3] = seq;
      row[4] += 1;
      slot.dirty = true;
    },
    insertDelivery(row, state) {
      deliveries.add(row[0], { planned: row, state });
    },
    delivery(id) {
      const slot = deliveries.get(id);
      if (slot === undefined) return undefined;
      const p = slot.row.planned;
      const keys = { sink: p[SINK], event_type: p[EVENT_TYPE], order_key: p[ORDER_KEY] ?? null, key_scope: p[KEY_SCOPE], call_id: p[CALL_ID] ?? null, event_seq: p[EVENT_SEQ] };
      return { keys, state: slot.row.state };
    },
    putDelivery(id, state) {
      const slot = deliveries.get(id);
      if (slot === undefined) return;
      slot.row.state = state;
      slot.dirty = true;
    },
    keyStateOf(sink, orderKey, keyScope) {
      return keyState.get(JSON.stringify([sink, orderKey, keyScope]))?.row[3];
    },
    setKeyState(sink, orderKey, keyScope, state) {
      const key = JSON.stringify([sink, orderKey, keyScope]);
      const slot = keyState.get(key);
      if (slot === undefined) return keyState.add(key, [sink, orderKey, keyScope, state]);
      slot.row[3] = state;
      slot.dirty = true;
    },
    sinkSuccess(sink, at) {
      const slot = health.get(sink);
      if (slot === undefined) return health.add(sink, [sink, at, null, null, 0]);
      slot.row[1] = at;
      slot.row[4] = 0;
      slot.dirty = true;
    },
    sinkFailure(sink, at, error) {
      const slot = health.get(sink);
      if (slot === undefined) return health.add(sink, [sink, null, error, at, 1]);
      slot.row[2] = error;
      slot.row[3] = at;
      slot.row[4] += 1;
      slot.dirty = true;
    },
    addCallEntry(seq, callId, eventSeq) {
      if (callEntries.push([seq, callId, eventSeq]) >= CALL_ENTRIES_HELD) writeCallEntries();
    },
    callOfEvent(eventSeq) {
      writeCallEntries();
      return callOfEvent.get(eventSeq) as string | undefined;
    },
    sinkState(sink) {
      return sinkStates.get(sink)?.row;
    },
    putSinkState(row) {
      const slot = sinkStates.get(row[0]);
      if (slot === undefined) return sinkStates.add(row[0], row);
      slot.row = row;
      slot.dirty = true;
    },
    restore(snapshot) {
      // set, as the live upserts do: each row's columns become the snapshot's
      const put = <R>(table: FoldTable<R>, key: unknown, row: R) => {
        const slot = table.get(key);
        if (slot === undefined) return table.add(key, row);
        slot.row = row;
        slot.dirty = true;
      };
      for (const row of snapshot.events_by_type) put(events, row[0], [...row] as [string, number]);
      for (const row of snapshot.sink_health) put(health, row[0], [...row] as Health);
      for (const row of snapshot.sink_state) put(sinkStates, row[0], [...row] as SinkStateRow);
      for (const row of snapshot.key_state) put(keyState, JSON.stringify(row.slice(0, 3)), [...row] as KeyRow);
      // calls fold by adding what came since a row was written (it is never read back): write them
      // all, then set the snapshot's rows in place, which later events add to
      if ((snapshot.calls ?? []).length === 0) return;
      calls.flush();
      const setCall = db.prepare(restoreCallSql(t));
      for (const row of snapshot.calls) setCall.run(...row);
    },
    // A rebuild reads the log from its first entry, which is at or after every truncation's
    // `before_seq`: it holds no delivery or call entry from before one, nor the state of a key
    // only such deliveries used; what it must forget is what an earlier truncation restored
    forgetBefore(beforeSeq, forgetKeys) {
      calls.flush();
      db.prepare(forgetCallsSql(t)).run({ first: beforeSeq });
      if (forgetKeys.length === 0) return;
      keyState.flush();
      const forgetKey = db.prepare(forgetKeySql(t));
      for (const key of forgetKeys) forgetKey.run(...key);
    },
    flush() {
      for (const table of [events, calls, deliveries, keyState, health, sinkStates]) table.flush();
      writeCallEntries();
    },
  };
}
