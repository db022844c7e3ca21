import { nextKeyState } from '../delivery/call-stage.js';
import { counts, evolve, failedByErasure, plannedState, type DeliveryState } from '../delivery/lifecycle.js';
import type { DeliveryAttempted, Entry, TruncationSnapshot } from '../log/types.js';
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
  /** Sets every row a truncation's snapshot holds to what it holds (`log.truncated`, README "Retention"). */
  restore(snapshot: TruncationSnapshot): void;
  /**
   * Forgets what only entries before `beforeSeq` made (`log.truncated`): deliveries planned
   * before it, call entries about events before it, calls whose events all were, and the state
   * of order keys whose deliveries all were, and of `forgetKeys`.
   */
  forgetBefore(beforeSeq: number, forgetKeys: readonly [string, string, string][]): void;
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
 * The projection itself: what each entry writes, through any store. It takes each entry to be
 * of its type's shape: the live path appends only such entries, and a rebuild names one that is
 * not (`rebuild/checked-projector.ts`) before it is applied to nothing.
 */
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
      case 'log.truncated': // what the removed entries made: kept as it was, the rest forgotten, as a rebuild from here finds it
        s.restore(entry.data.snapshot);
        return s.forgetBefore(entry.data.before_seq, entry.data.forget_keys ?? []);
      case 'rules.loaded':
        return;
    }
  };
}

/**
 * What an attempt changes besides its delivery: the key's state, and the sink's health. An
 * attempt that failed only because its call was erased meanwhile (`failedByErasure`) sent
 * nothing: it is no failure of the sink, and leaves its health as it was.
 */
function sideEffects(s: ProjectionStore, keys: DeliveryKeys, d: DeliveryAttempted, next: DeliveryState, at: string): void {
  if (d.outcome === 'succeeded') {
    // a skipped delivery (no HubSpot contact, a superseded card) made or changed nothing later ones build on
    if (keys.order_key !== null && d.result && !('skipped' in d.result)) advanceKey(s, keys, keys.order_key, d.result);
    s.sinkSuccess(keys.sink, at);
  } else if (counts(d.error) && !failedByErasure(d.error)) {
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

