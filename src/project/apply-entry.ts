import type { Database, Statement } from 'better-sqlite3';
import { nextKeyState } from '../deliver/call-stage.js';
import type { Entry } from '../log/types.js';

/**
 * Projections: the derived tables (`p_*`) as a function of log entries. The same code runs
 * live, in the transaction that appends each entry, and in `replay --rebuild`, so the two
 * cannot drift. Nothing here may read the clock: only the entry.
 */
export type ApplyEntry = (entry: Entry) => void;

/**
 * The writes a projection makes, one method per statement. The SQL store below is what runs
 * live; `replay --rebuild` supplies one that folds the same calls in memory first (see
 * `src/replay/fold.ts`). Every decision about what to write is taken in `projectInto`, once.
 */
export interface ProjectionStore {
  countEvent(eventType: string): void;
  upsertCall(callId: string, orgId: string, type: string, seq: number): void;
  insertDelivery(row: DeliveryRow): void;
  /** Updates the delivery; its sink and keys, or undefined when there is no such delivery. */
  attempted(id: string, status: string, counted: number, error: string | null, retryAt: string | null, result: string | null): DeliveryKeys | undefined;
  /** The key state (JSON) of a sink's order key, if it has one. */
  keyStateOf(sink: string, orderKey: string, keyScope: string): string | undefined;
  /** Sets the key state, inserting it or replacing what the key had. */
  setKeyState(sink: string, orderKey: string, keyScope: string, state: string): void;
  sinkSuccess(sink: string, at: string): void;
  sinkFailure(sink: string, at: string, error: string | null): void;
  dead(id: string): void;
  retried(id: string): void;
}

export interface DeliveryKeys {
  sink: string;
  event_type: string;
  order_key: string | null;
  key_scope: string;
}

/** A new `p_deliveries` row, in column order. */
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
];

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
        return;
      }
      case 'delivery.planned': {
        const d = entry.data;
        s.insertDelivery([
          d.delivery_id,
          entry.seq,
          d.event_id,
          d.event_seq,
          d.event_type,
          d.rule_id,
          d.action_index,
          d.sink,
          d.order_key,
          keyScope(d.request),
          entry.at,
        ]);
        return;
      }
      case 'delivery.attempted': {
        const d = entry.data;
        const counted = d.outcome === 'failed' && d.error?.kind !== 'rate_limited' ? 1 : 0;
        const status = d.outcome === 'succeeded' ? 'succeeded' : 'retrying';
        const result = d.result ? JSON.stringify(d.result) : null;
        const lastError = d.error ? JSON.stringify({ ...d.error, at: entry.at }) : null;
        const row = s.attempted(d.delivery_id, status, counted, lastError, d.retry_at, result);
        if (!row) return;
        if (d.outcome === 'succeeded') {
          // a skipped delivery (no HubSpot contact, a superseded card) made or changed nothing later ones build on
          if (row.order_key !== null && d.result && !('skipped' in d.result)) advanceKey(s, row, row.order_key, d.result);
          s.sinkSuccess(row.sink, entry.at);
        } else if (d.error?.kind !== 'rate_limited') {
          s.sinkFailure(row.sink, entry.at, lastError);
        }
        return;
      }
      case 'delivery.dead':
        s.dead(entry.data.delivery_id);
        return;
      case 'delivery.retried':
        s.retried(entry.data.delivery_id);
        return;
      case 'rules.loaded':
        return;
    }
  };
}

/**
 * What later deliveries of the key build on (the thread or card, the object) and the furthest
 * stage of the call applied to it (see `call-stage.ts`).
 */
function advanceKey(s: ProjectionStore, row: DeliveryKeys, orderKey: string, result: Record<string, unknown>): void {
  const stored = s.keyStateOf(row.sink, orderKey, row.key_scope);
  const current = stored === undefined ? null : (JSON.parse(stored) as Record<string, unknown>);
  const next = JSON.stringify(nextKeyState(current, result, row.event_type));
  if (next !== stored) s.setKeyState(row.sink, orderKey, row.key_scope, next);
}

/** Key state (a Slack thread, a HubSpot object) is shared per channel or object kind. */
function keyScope(request: Record<string, unknown>): string {
  const scope = request['channel'] ?? request['create'] ?? '';
  return typeof scope === 'string' ? scope : '';
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
    insertDelivery: prepare(
      `INSERT INTO ${t('p_deliveries')} (delivery_id, seq, event_id, event_seq, event_type, rule_id, action_index, sink,
         order_key, key_scope, status, attempts, round_failures, planned_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?)`,
    ),
    attempted: prepare(
      `UPDATE ${t('p_deliveries')} SET status = ?, attempts = attempts + 1, round_failures = round_failures + ?,
         last_error = coalesce(?, last_error), next_attempt_at = ?, result = coalesce(?, result)
       WHERE delivery_id = ? RETURNING sink, event_type, order_key, key_scope`,
    ),
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
    dead: prepare(`UPDATE ${t('p_deliveries')} SET status = 'dead', next_attempt_at = NULL WHERE delivery_id = ?`),
    retried: prepare(
      `UPDATE ${t('p_deliveries')} SET status = 'pending', next_attempt_at = NULL, round_failures = 0 WHERE delivery_id = ?`,
    ),
  };
}

/** The live store: each write is its statement, straight away. */
export function sqlStore(db: Database, schema = 'main'): ProjectionStore {
  const s = sqlStatements(db, schema);
  return {
    countEvent: (eventType) => void s.countEvent.run(eventType),
    upsertCall: (callId, orgId, type, seq) => void s.upsertCall.run(callId, orgId, type, seq),
    insertDelivery: (row) => void s.insertDelivery.run(row),
    attempted: (id, status, counted, error, retryAt, result) =>
      s.attempted.get(status, counted, error, retryAt, result, id) as DeliveryKeys | undefined,
    keyStateOf: (sink, orderKey, keyScope) => s.keyStateOf.get(sink, orderKey, keyScope) as string | undefined,
    setKeyState: (sink, orderKey, keyScope, state) => void s.setKeyState.run(sink, orderKey, keyScope, state),
    sinkSuccess: (sink, at) => void s.sinkSuccess.run(sink, at),
    sinkFailure: (sink, at, error) => void s.sinkFailure.run(sink, error, at),
    dead: (id) => void s.dead.run(id),
    retried: (id) => void s.retried.run(id),
  };
}
