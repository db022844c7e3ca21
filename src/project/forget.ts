import type { TruncationSnapshot } from '../log/types.js';

/**
 * What a `log.truncated` entry does to the projections (README "Retention"), as SQL both engines
 * run: `@first` is the first seq kept (PostgreSQL's store writes it `$1`). In this order: the state of
 * order keys whose deliveries all came before it, the calls whose events all did, the call entries
 * about events before it, and the deliveries planned before it. Each reads from the removed
 * prefix (a few indexed rows per removed entry), never the whole window.
 */
export function forgetStatements(t: (table: string) => string): string[] {
  const sameKey = (d: string, k: string) => `${d}.sink = ${k}.sink AND ${d}.order_key = ${k}.order_key AND ${d}.key_scope = ${k}.key_scope`;
  return [
    `DELETE FROM ${t('p_key_state')} WHERE (sink, order_key, key_scope) IN
       (SELECT sink, order_key, key_scope FROM ${t('p_deliveries')} WHERE seq < @first AND order_key IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM ${t('p_deliveries')} d WHERE d.seq >= @first AND ${sameKey('d', t('p_key_state'))})`,
    forgetCallsSql(t),
    // an erased call's entries after its events (its call.erased, its deliveries' deaths) stay;
    // those about a delivery planned before the start go with it (a rebuild skips them too)
    `DELETE FROM ${t('p_call_entries')} WHERE event_seq < @first`,
    `DELETE FROM ${t('p_deliveries')} WHERE seq < @first`,
  ];
}

/** One upsert per table a truncation snapshot holds rows of: the SQL (`?` placeholders) and the rows. */
export function restoreStatements(t: (table: string) => string, snapshot: TruncationSnapshot): { sql: string; rows: unknown[][] }[] {
  return [
    {
      sql: `INSERT INTO ${t('p_events_by_type')} (event_type, n) VALUES (?, ?) ON CONFLICT (event_type) DO UPDATE SET n = excluded.n`,
      rows: snapshot.events_by_type,
    },
    {
      sql: `INSERT INTO ${t('p_sink_health')} (sink, last_success_at, last_error, last_error_at, consecutive_failures) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (sink) DO UPDATE SET last_success_at = excluded.last_success_at, last_error = excluded.last_error,
          last_error_at = excluded.last_error_at, consecutive_failures = excluded.consecutive_failures`,
      rows: snapshot.sink_health,
    },
    {
      sql: `INSERT INTO ${t('p_sink_state')} (sink, paused_at, paused_reason, paused_code, stale_at, stale_oldest_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (sink) DO UPDATE SET paused_at = excluded.paused_at, paused_reason = excluded.paused_reason,
          paused_code = excluded.paused_code, stale_at = excluded.stale_at, stale_oldest_at = excluded.stale_oldest_at`,
      rows: snapshot.sink_state,
    },
    { sql: restoreCallSql(t), rows: snapshot.calls ?? [] },
    {
      sql: `INSERT INTO ${t('p_key_state')} (sink, order_key, key_scope, result) VALUES (?, ?, ?, ?)
        ON CONFLICT (sink, order_key, key_scope) DO UPDATE SET result = excluded.result`,
      rows: snapshot.key_state,
    },
  ];
}

/** Deletes one order key's state (`?` placeholders: sink, order_key, key_scope): a `log.truncated`'s `forget_keys`. */
export function forgetKeySql(t: (table: string) => string): string {
  return `DELETE FROM ${t('p_key_state')} WHERE sink = ? AND order_key = ? AND key_scope = ?`;
}

/** Sets one call's row to a snapshot's (`?` placeholders: `TruncationSnapshot.calls`' columns). */
export function restoreCallSql(t: (table: string) => string): string {
  return `INSERT INTO ${t('p_calls')} (call_id, org_id, last_event_type, last_event_seq, events) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (call_id) DO UPDATE SET org_id = excluded.org_id, last_event_type = excluded.last_event_type,
      last_event_seq = excluded.last_event_seq, events = excluded.events`;
}

/** Deletes the calls whose last event came before `@first`, by its index (`p_calls_last_event`): in a rebuild, also one an earlier truncation restored. */
export function forgetCallsSql(t: (table: string) => string): string {
  return `DELETE FROM ${t('p_calls')} WHERE last_event_seq < @first`;
}
