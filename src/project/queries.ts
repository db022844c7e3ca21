import type { Database } from 'better-sqlite3';
import { CALL_ERASED_SQL, CREDENTIAL_CODES, OPEN_SQL, type DeliveryStatus } from '../delivery/lifecycle.js';
import { OLDEST_ANY_SQL, SinkReads, type SinkOperatorState } from './sink-reads.js';
import { UNROUTED_SQL, type Unrouted } from './gauges.js';

export { DELIVERY_STATUSES as STATUSES, type DeliveryStatus } from '../delivery/lifecycle.js';

type Counts = Record<DeliveryStatus, number>;

export interface SinkStatus extends Counts {
  enabled: boolean;
  disabled_reason: string | null;
  last_success_at: string | null;
  last_error: Record<string, unknown> | null;
  consecutive_failures: number;
  /** The sink's credentials were refused (Slack invalid_auth, HubSpot 401): fix the token. */
  credentials_rejected: boolean;
  /** Paused because its credentials were refused (README "When a rule fails at run time"): its deliveries wait until it resumes. */
  paused: boolean;
  /** Why (`code: message` of the refused attempt); null when not paused. */
  paused_reason: string | null;
  /** When it paused (`at` of its `sink.paused`); null when not paused. */
  paused_at: string | null;
  /** Since when its oldest open delivery has been older than `alerts.pending_after` (`at` of its `pending.stale`); null when not stale. */
  stale_since: string | null;
}

/** `status --json` (README "Command line"). Nothing in it depends on the current time. */
export interface StatusReport {
  events: { total: number; by_type: Record<string, number> };
  deliveries: Counts;
  sinks: Record<string, SinkStatus>;
  oldest_pending_at: string | null;
  last_seq: number;
  /** The last entry's hash, the head of the hash chain (README "Personal data"); null for an empty log. */
  chain_head: string | null;
  /** Entries the router has not routed yet, and when the oldest was appended (`UNROUTED_SQL`): 0 and null when it keeps up. */
  unrouted: Unrouted;
}

const zero = (): Counts => ({ pending: 0, retrying: 0, succeeded: 0, dead: 0 });

/** The rules' sinks as `status` reads them: declared, enabled or why not. */
export type SinksView = { sinks: Record<string, { enabled: boolean; disabled_reason?: string }> } | null;

/** What `status` is made of, as an engine reads it from the projections (in one snapshot). */
export interface StatusRows {
  byType: { event_type: string; n: number }[];
  counts: { sink: string; status: DeliveryStatus; n: number }[];
  health: { sink: string; last_success_at: string | null; last_error: string | null; consecutive_failures: number }[];
  oldestPendingAt: string | null;
  lastSeq: number;
  states: Record<string, SinkOperatorState>;
  /** The last entry's hash (README "Personal data"); null for an empty log, or an engine without the chain yet. */
  chainHead: string | null;
  unrouted: Unrouted;
}

export function statusReport(db: Database, rules: SinksView): StatusReport {
  const byType = db.prepare(`SELECT event_type, n FROM p_events_by_type ORDER BY event_type`).all() as StatusRows['byType'];
  // in the order of the covering index (status, sink, seq): no sort of every delivery
  const counts = db.prepare(`SELECT sink, status, count(*) AS n FROM p_deliveries GROUP BY status, sink`).all() as StatusRows['counts'];
  const health = db.prepare(`SELECT * FROM p_sink_health`).all() as StatusRows['health'];
  const oldest = db.prepare(OLDEST_ANY_SQL('sqlite')).get() as {
    at: string | null;
  };
  const lastSeq = db.prepare(`SELECT max(seq) AS seq FROM entries`).get() as { seq: number | null };
  const head = db.prepare(`SELECT hash FROM entries ORDER BY seq DESC LIMIT 1`).pluck().get() as string | null | undefined;
  const states = new SinkReads(db).sinkStates();
  const unrouted = db.prepare(UNROUTED_SQL).get() as Unrouted;
  return assembleStatus({ byType, counts, health, oldestPendingAt: oldest.at, lastSeq: lastSeq.seq ?? 0, states, chainHead: head ?? null, unrouted }, rules);
}

/** `status --json` from the rows the projections hold and the rules' sinks: the same on every engine. */
export function assembleStatus(rows: StatusRows, rules: SinksView): StatusReport {
  const { byType, counts, health, states } = rows;
  const names = new Set([...Object.keys(rules?.sinks ?? {}), ...counts.map((c) => c.sink), ...health.map((h) => h.sink), ...Object.keys(states)]);
  const sinks: Record<string, SinkStatus> = {};
  for (const name of [...names].sort()) {
    const declared = rules?.sinks[name];
    const h = health.find((row) => row.sink === name);
    const lastError = h?.last_error ? (JSON.parse(h.last_error) as Record<string, unknown>) : null;
    sinks[name] = {
      enabled: declared?.enabled ?? false,
      disabled_reason: declared ? (declared.disabled_reason ?? null) : 'not declared in the rules file',
      ...zero(),
      last_success_at: h?.last_success_at ?? null,
      last_error: lastError,
      consecutive_failures: h?.consecutive_failures ?? 0,
      credentials_rejected: (h?.consecutive_failures ?? 0) > 0 && CREDENTIAL_CODES.has(String(lastError?.['code'] ?? '')),
      paused: states[name]?.paused != null,
      paused_reason: states[name]?.paused?.reason ?? null,
      paused_at: states[name]?.paused?.at ?? null,
      stale_since: states[name]?.stale?.at ?? null,
    };
  }
  const deliveries = zero();
  for (const c of counts) {
    sinks[c.sink]![c.status] = c.n;
    deliveries[c.status] += c.n;
  }
  return {
    events: { total: byType.reduce((n, r) => n + r.n, 0), by_type: Object.fromEntries(byType.map((r) => [r.event_type, r.n])) },
    deliveries,
    sinks,
    oldest_pending_at: rows.oldestPendingAt,
    last_seq: rows.lastSeq,
    chain_head: rows.chainHead,
    unrouted: rows.unrouted,
  };
}

/** One row of `deliveries --json` (README "Command line"). */
export interface DeliveryRow {
  delivery_id: string;
  event_id: string;
  event_type: string;
  rule_id: string;
  sink: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: Record<string, unknown> | null;
  next_attempt_at: string | null;
  planned_at: string;
  /** Its event's `data.call_id`; null only for a plan whose event is not in the log. */
  call_id: string | null;
  /** Why it is dead (its `delivery.dead` reason) while it is; else null. */
  dead_reason: string | null;
}

/**
 * A delivery as the reads give it (`deliveries`, the console's deliveries page): its
 * `deliveries --json` row, and whether its call was erased (`CALL_ERASED_SQL`), which
 * `canRedrive` needs; not printed by `deliveries --json`.
 */
export type DeliveryRead = DeliveryRow & { call_erased: boolean };

/** The columns of a `DeliveryRead` from `p_deliveries`, the same on both engines; shape a row with `deliveryReadOf`. */
export const DELIVERY_READ_COLUMNS = `delivery_id, event_id, event_type, rule_id, sink, status, attempts, last_error, next_attempt_at,
  planned_at, call_id, dead_reason, ${CALL_ERASED_SQL} AS call_erased`;

/** A row of `DELIVERY_READ_COLUMNS` as a `DeliveryRead`: `last_error` parsed from its JSON text, `call_erased` a boolean (SQLite answers 0 or 1). */
export function deliveryReadOf<R extends { last_error: string | null; call_erased: number | boolean }>(
  r: R,
): Omit<R, 'last_error' | 'call_erased'> & Pick<DeliveryRead, 'last_error' | 'call_erased'> {
  return { ...r, last_error: r.last_error ? (JSON.parse(r.last_error) as Record<string, unknown>) : null, call_erased: r.call_erased === true || r.call_erased === 1 };
}

/** Which deliveries `listDeliveries` returns; every field narrows (AND). */
export interface DeliveryFilter {
  status?: string;
  sink?: string;
  /** Only deliveries of this rule id. */
  rule?: string;
  /** Only deliveries planned from this event id. */
  event?: string;
  /** Only deliveries of this call id. */
  call?: string;
  /** At most this many. (Default: all) */
  limit?: number;
  ids?: string[];
}

/** Each equality filter and its column; every one has an index that reads it newest first (migrations.ts). */
export const COLUMN_OF = { status: 'status', sink: 'sink', rule: 'rule_id', event: 'event_id', call: 'call_id' } as const;

/** `deliveries --json` rows (README "Command line"), newest first, each with whether its call was erased. */
export function listDeliveries(db: Database, filter: DeliveryFilter = {}): DeliveryRead[] {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
    const value = filter[key];
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (filter.ids) {
    where.push(`delivery_id IN (${filter.ids.map(() => '?').join(',') || 'NULL'})`);
    params.push(...filter.ids);
  }
  params.push(filter.limit ?? -1);
  const rows = db
    .prepare(`SELECT ${DELIVERY_READ_COLUMNS} FROM p_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
    .all(...params) as (Omit<DeliveryRow, 'last_error'> & { last_error: string | null; call_erased: number })[];
  return rows.map(deliveryReadOf);
}
