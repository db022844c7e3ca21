import type { Database, Statement } from 'better-sqlite3';
import { nextKeyState } from '../delivery/call-stage.js';
import { counts, evolve, plannedState, type DeliveryState } from '../delivery/lifecycle.js';
import type { DeliveryAttempted, Entry } from '../log/types.js';
import { storableKey } from '../log/text.js';
import { nextSinkState, SINK_STATE_COLUMNS, type SinkStateRow } from './sink-state.js';

/**
 * Projections: the derived tables (`p_*`) as a function of log entries. The same code runs
 * live, in the transaction that appends each entry, and in `replay --rebuild`, so the two
 * cannot drift. Nothing here may read the clock: only the entry.
 */
export type ApplyEntry = (entry: Entry) => void;

/**
 * The writes a projection makes. The SQL store below is what runs live; `replay --rebuild`
 * supplies one that folds the same calls in memory first (see `rebuild/fold.ts`). Every
 * decision about what to write is taken in `projectInto`, once; a delivery's own columns are
 * whatever its life cycle's `evolve` returns (`delivery/lifecycle.ts`).
 */
export interface ProjectionStore {
  countEvent(eventType: string): void;
  upsertCall(callId: string, orgId: string, type: string, seq: number): void;
  insertDelivery(row: DeliveryRow, state: DeliveryState): void;
  /** A delivery's keys and state, or undefined when there is no such delivery. */
  delivery(id: string): StoredDelivery | undefined;
  /** Stores a delivery's new state. */
  putDelivery(id: string, state: DeliveryState): void;
  /** The key state (JSON) of a sink's order key, if it has one. */
  keyStateOf(sink: string, orderKey: string, keyScope: string): string | undefined;
  /** Sets the key state, inserting it or replacing what the key had. */
  setKeyState(sink: string, orderKey: string, keyScope: string, state: string): void;
  sinkSuccess(sink: string, at: string): void;
  sinkFailure(sink: string, at: string, error: string | null): void;
  /** Notes that the entry at `seq` is about the call `callId` and its event at `eventSeq` (`p_call_entries`). */
  addCallEntry(seq: number, callId: string, eventSeq: number): void;
  /** The call of the `event.received` entry at `eventSeq`, or undefined when there is no such event. */
  callOfEvent(eventSeq: number): string | undefined;
  /** A sink's operator state (paused, stale), if it has a row. */
  sinkState(sink: string): SinkStateRow | undefined;
  /** Sets a sink's operator state, inserting its row or replacing what it had. */
  putSinkState(row: SinkStateRow): void;
}

export interface DeliveryKeys {
  sink: string;
  event_type: string;
  order_key: string | null;
  key_scope: string;
  /** The call of its event; null for a plan whose event is not in the log. */
  call_id: string | null;
  event_seq: number;
}

export interface StoredDelivery {
  keys: DeliveryKeys;
  state: DeliveryState;
}

/** A new `p_deliveries` row's planned columns, in column order. */
export type DeliveryRow = [
  delivery_id: string,
  seq: number,
  event_id: string,
  event_seq: number,
  event_type: string,
  rule_id: string,
  action_index: number,
  sink: string,
  order_key: string | null,
  key_scope: string,
  planned_at: string,
  call_id: string | null,
];
/** `DeliveryRow`'s columns, in its order. */
export const PLANNED_COLUMNS = 'delivery_id, seq, event_id, event_seq, event_type, rule_id, action_index, sink, order_key, key_scope, planned_at, call_id';

/** The state's columns of `p_deliveries`, in the order `STATE_COLUMNS` names them. */
export type StateColumns = [
  status: string,
  attempts: number,
  round_failures: number,
  last_error: string | null,
  next_attempt_at: string | null,
  result: string | null,
  dead_reason: string | null,
  redriven_at: string | null,
];
export const STATE_COLUMNS = 'status, attempts, round_failures, last_error, next_attempt_at, result, dead_reason, redriven_at';
/** `SET status = ?, attempts = ?, …`: an UPDATE of the state's columns, in `STATE_COLUMNS` order. */
export const SET_STATE = `SET ${STATE_COLUMNS.split(', ').map((c) => `${c} = ?`).join(', ')}`;
/** Placeholders of an INSERT of a whole `p_deliveries` row: planned columns, then the state's. */
export const DELIVERY_VALUES = `VALUES (${Array(PLANNED_COLUMNS.split(', ').length + STATE_COLUMNS.split(', ').length).fill('?').join(', ')})`;

export function stateColumns(s: DeliveryState): StateColumns {
  const json = (value: object | null) => (value ? JSON.stringify(value) : null);
  return [s.status, s.attempts, s.round_failures, json(s.last_error), s.next_attempt_at, json(s.result), s.dead_reason, s.redriven_at];
}

export function stateOf(c: StateColumns): DeliveryState {
  return {
    status: c[0] as DeliveryState['status'],
    attempts: c[1],
    round_failures: c[2],
    last_error: c[3] === null ? null : (JSON.parse(c[3]) as DeliveryState['last_error']),
    next_attempt_at: c[4],
    result: c[5] === null ? null : (JSON.parse(c[5]) as Record<string, unknown>),
    dead_reason: c[6],
    redriven_at: c[7],
  };
}

/**
 * `schema` names the attached database whose `p_*` tables to write: `main` (the default) live,
 * a scratch database in `replay --rebuild` and `--verify`. The SQL is otherwise the same.
 */
export function projector(db: Database, schema = 'main'): ApplyEntry {
  return projectInto(sqlStore(db, schema));
}

/** The projection itself: what each entry writes, through any store. */
export function projectInto(s: ProjectionStore): ApplyEntry {
  return (entry) => {
    switch (entry.type) {
      case 'event.received': {
        const d = entry.data;
        s.countEvent(d.event_type);
        s.upsertCall(d.call_id, d.org_id, d.event_type, entry.seq);
        if (typeof d.call_id === 'string') s.addCallEntry(entry.seq, d.call_id, entry.seq);
        return;
      }
      case 'delivery.planned': {
        const d = entry.data;
        // plans appended before issue 14 carry no call_id: their event's, as the migration derives it
        const callId = (typeof d.call_id === 'string' ? d.call_id : s.callOfEvent(d.event_seq)) ?? null;
        const row: DeliveryRow = [d.delivery_id, entry.seq, d.event_id, d.event_seq, d.event_type, d.rule_id, d.action_index, d.sink, d.order_key, keyScope(d.request), entry.at, callId];
        s.insertDelivery(row, plannedState(d));
        if (callId !== null) s.addCallEntry(entry.seq, callId, d.event_seq);
        return;
      }
      case 'delivery.attempted':
      case 'delivery.dead':
      case 'delivery.retried': {
        const stored = s.delivery(entry.data.delivery_id);
        if (!stored) return;
        const next = evolve(stored.state, entry);
        s.putDelivery(entry.data.delivery_id, next);
        if (stored.keys.call_id !== null) s.addCallEntry(entry.seq, stored.keys.call_id, stored.keys.event_seq);
        if (entry.type === 'delivery.attempted') sideEffects(s, stored.keys, entry.data, next, entry.at);
        return;
      }
      case 'sink.paused':
      case 'sink.resumed':
      case 'pending.stale':
      case 'pending.cleared': {
        const next = nextSinkState(s.sinkState(entry.data.sink), entry);
        if (next) s.putSinkState(next);
        return;
      }
      case 'call.erased': // one of the call's entries (`log --call`), under no event
        return s.addCallEntry(entry.seq, entry.data.call_id, entry.seq);
      case 'rules.loaded':
        return;
    }
  };
}

/** What an attempt changes besides its delivery: the key's state, and the sink's health. */
function sideEffects(s: ProjectionStore, keys: DeliveryKeys, d: DeliveryAttempted, next: DeliveryState, at: string): void {
  if (d.outcome === 'succeeded') {
    // a skipped delivery (no HubSpot contact, a superseded card) made or changed nothing later ones build on
    if (keys.order_key !== null && d.result && !('skipped' in d.result)) advanceKey(s, keys, keys.order_key, d.result);
    s.sinkSuccess(keys.sink, at);
  } else if (counts(d.error)) {
    s.sinkFailure(keys.sink, at, next.last_error ? JSON.stringify(next.last_error) : null);
  }
}

/** What later deliveries of the key build on (the thread or card, the object) and the furthest stage of the call applied to it (`call-stage.ts`). */
function advanceKey(s: ProjectionStore, row: DeliveryKeys, orderKey: string, result: Record<string, unknown>): void {
  const stored = s.keyStateOf(row.sink, orderKey, row.key_scope);
  const current = stored === undefined ? null : (JSON.parse(stored) as Record<string, unknown>);
  const next = JSON.stringify(nextKeyState(current, result, row.event_type));
  if (next !== stored) s.setKeyState(row.sink, orderKey, row.key_scope, next);
}

/** Key state (a Slack thread, a HubSpot object) is per channel or object kind: the request's scope, stored as an order key is (`storableKey`). */
export function keyScope(request: Record<string, unknown>): string {
  const scope = request['channel'] ?? request['create'] ?? '';
  return typeof scope === 'string' ? storableKey(scope) : '';
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
  };
}
