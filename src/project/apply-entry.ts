import type { Database, Statement } from 'better-sqlite3';
import type { Entry } from '../log/types.js';

/**
 * Projections: the derived tables (`p_*`) as a function of log entries. The same code runs
 * live, in the transaction that appends each entry, and in `replay --rebuild`, so the two
 * cannot drift. Nothing here may read the clock: only the entry.
 */
export type ApplyEntry = (entry: Entry) => void;

/**
 * `schema` names the attached database whose `p_*` tables to write: `main` (the default) live,
 * a scratch database in `replay --rebuild` and `--verify`. The SQL is otherwise the same.
 */
export function projector(db: Database, schema = 'main'): ApplyEntry {
  const s = statements(db, schema);
  return (entry) => {
    switch (entry.type) {
      case 'event.received': {
        const d = entry.data;
        s.countEvent.run(d.event_type);
        s.upsertCall.run({ call_id: d.call_id, org_id: d.org_id, type: d.event_type, seq: entry.seq });
        return;
      }
      case 'delivery.planned': {
        const d = entry.data;
        s.insertDelivery.run({
          delivery_id: d.delivery_id,
          seq: entry.seq,
          event_id: d.event_id,
          event_seq: d.event_seq,
          event_type: d.event_type,
          rule_id: d.rule_id,
          action_index: d.action_index,
          sink: d.sink,
          order_key: d.order_key,
          key_scope: keyScope(d.request),
          planned_at: entry.at,
        });
        return;
      }
      case 'delivery.attempted': {
        const d = entry.data;
        const counted = d.outcome === 'failed' && d.error?.kind !== 'rate_limited' ? 1 : 0;
        const status = d.outcome === 'succeeded' ? 'succeeded' : 'retrying';
        const result = d.result ? JSON.stringify(d.result) : null;
        const lastError = d.error ? JSON.stringify({ ...d.error, at: entry.at }) : null;
        const row = s.attempted.get({ id: d.delivery_id, status, counted, error: lastError, retry_at: d.retry_at, result }) as
          | { sink: string; order_key: string | null; key_scope: string }
          | undefined;
        if (!row) return;
        if (d.outcome === 'succeeded') {
          // a skipped delivery (no HubSpot contact) made nothing later ones could thread onto
          if (row.order_key !== null && d.result && !('skipped' in d.result)) s.keyState.run({ ...row, result });
          s.sinkSuccess.run({ sink: row.sink, at: entry.at });
        } else if (d.error?.kind !== 'rate_limited') {
          s.sinkFailure.run({ sink: row.sink, at: entry.at, error: lastError });
        }
        return;
      }
      case 'delivery.dead':
        s.dead.run(entry.data.delivery_id);
        return;
      case 'delivery.retried':
        s.retried.run(entry.data.delivery_id);
        return;
      case 'rules.loaded':
        return;
    }
  };
}

/** Key state (a Slack thread, a HubSpot object) is shared per channel or object kind. */
function keyScope(request: Record<string, unknown>): string {
  const scope = request['channel'] ?? request['create'] ?? '';
  return typeof scope === 'string' ? scope : '';
}

function statements(db: Database, schema: string) {
  const t = (table: string) => `${schema}.${table}`;
  return {
    countEvent: db.prepare(
      `INSERT INTO ${t('p_events_by_type')} (event_type, n) VALUES (?, 1)
       ON CONFLICT (event_type) DO UPDATE SET n = n + 1`,
    ),
    upsertCall: db.prepare(
      `INSERT INTO ${t('p_calls')} (call_id, org_id, last_event_type, last_event_seq, events)
       VALUES (@call_id, @org_id, @type, @seq, 1)
       ON CONFLICT (call_id) DO UPDATE SET last_event_type = @type, last_event_seq = @seq, events = events + 1`,
    ),
    insertDelivery: db.prepare(
      `INSERT INTO ${t('p_deliveries')} (delivery_id, seq, event_id, event_seq, event_type, rule_id, action_index, sink,
         order_key, key_scope, status, attempts, round_failures, planned_at)
       VALUES (@delivery_id, @seq, @event_id, @event_seq, @event_type, @rule_id, @action_index, @sink,
         @order_key, @key_scope, 'pending', 0, 0, @planned_at)`,
    ),
    attempted: db.prepare(
      `UPDATE ${t('p_deliveries')} SET status = @status, attempts = attempts + 1, round_failures = round_failures + @counted,
         last_error = coalesce(@error, last_error), next_attempt_at = @retry_at, result = coalesce(@result, result)
       WHERE delivery_id = @id RETURNING sink, order_key, key_scope`,
    ),
    keyState: db.prepare(
      `INSERT INTO ${t('p_key_state')} (sink, order_key, key_scope, result)
       VALUES (@sink, @order_key, @key_scope, @result) ON CONFLICT DO NOTHING`,
    ),
    sinkSuccess: db.prepare(
      `INSERT INTO ${t('p_sink_health')} (sink, last_success_at, consecutive_failures) VALUES (@sink, @at, 0)
       ON CONFLICT (sink) DO UPDATE SET last_success_at = @at, consecutive_failures = 0`,
    ),
    sinkFailure: db.prepare(
      `INSERT INTO ${t('p_sink_health')} (sink, last_error, last_error_at, consecutive_failures) VALUES (@sink, @error, @at, 1)
       ON CONFLICT (sink) DO UPDATE SET last_error = @error, last_error_at = @at,
         consecutive_failures = consecutive_failures + 1`,
    ),
    dead: db.prepare(`UPDATE ${t('p_deliveries')} SET status = 'dead', next_attempt_at = NULL WHERE delivery_id = ?`),
    retried: db.prepare(
      `UPDATE ${t('p_deliveries')} SET status = 'pending', next_attempt_at = NULL, round_failures = 0 WHERE delivery_id = ?`,
    ),
  } satisfies Record<string, Statement>;
}
