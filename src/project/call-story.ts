import type { Database, Statement } from 'better-sqlite3';
import type { DeliveryStatus } from '../delivery/lifecycle.js';
import { entryData, entryJson } from '../log/damaged-entry.js';
import type { CallErased, DeliveryAttempted, DeliveryError, DeliveryPlanned, DeliveryRetried } from '../log/types.js';

/**
 * One call's whole story (README "What happened to this call?"), read from the log and its projections: what `husky-relay
 * call` prints and the console's call page shows. Bounded by the call: every read goes through
 * an index on the call id (`p_call_entries`, `p_deliveries_call`), whatever the log's size.
 */

/** An `event.received` of the call. */
export interface CallEvent {
  seq: number;
  event_id: string;
  event_type: string;
  /** The envelope's `created_at`, as the `event.received` entry holds it: normalized to UTC at ingest (`2026-06-01T10:00:00.000Z`); the body keeps what was sent. */
  created_at: string;
  /** When the relay received it (ISO). */
  received_at: string;
}

/** One attempt of a delivery: its `delivery.attempted` entry. */
export interface CallAttempt {
  attempt: number;
  /** When the attempt ended and was recorded (the entry's `at`, ISO). */
  at: string;
  outcome: DeliveryAttempted['outcome'];
  duration_ms: number;
  /** The failure: class (`kind`), `code`, `message`, HTTP `status`; null on success. */
  error: DeliveryError | null;
}

/** A delivery planned from one of the call's events, with its state as the projection holds it. */
export interface CallDelivery {
  delivery_id: string;
  event_id: string;
  rule_id: string;
  sink: string;
  status: DeliveryStatus;
  order_key: string | null;
  /** What its last successful attempt returned (Slack channel/ts, HubSpot object id), or null. */
  result: Record<string, unknown> | null;
  attempts: CallAttempt[];
  /** Why it is dead while it is; null otherwise. */
  dead_reason: string | null;
}

/** `call --json` (README "What happened to this call?"), exactly. */
export interface CallStory {
  call_id: string;
  org_id: string | null;
  /** Whether the call's personal data was erased (a `call.erased` entry names it, README "Files beside the database"). */
  erased: boolean;
  /** In log order. */
  events: CallEvent[];
  /** In the order they were planned. */
  deliveries: CallDelivery[];
}

/** One thing that happened to the call, for a timeline: each entry about it, in log order. */
export type CallMoment = { seq: number; at: string } & (
  | ({ kind: 'event' } & Omit<CallEvent, 'seq'>)
  | { kind: 'planned'; delivery_id: string; rule_id: string; sink: string; order_key: string | null }
  /** `paused`: the sink refused its credentials and paused; the attempt is not counted and the delivery waits (README "Paused sinks"). */
  | ({ kind: 'attempt'; delivery_id: string; retry_at: string | null; paused: boolean } & Omit<CallAttempt, 'at'>)
  | { kind: 'dead'; delivery_id: string; reason: string }
  /** A re-drive: `by` who when the entry names it (the console), and the reason it was given. */
  | { kind: 'redriven'; delivery_id: string; reason: string; by: string | null }
  /** The call's personal data was erased (its `call.erased` entry): why, by whom, and whether the sinks were asked to delete it too. */
  | { kind: 'erased'; reason: string; by: string; downstream: boolean }
);

/** A call's story and its timeline (the same entries, one per line). */
export interface CallView {
  story: CallStory;
  timeline: CallMoment[];
}

/** An entry about a call, `data` as JSON text (null where SQLite found it is not JSON: a damaged entry). */
export type EntryRow = { seq: number; type: string; at: string; data: string | null };
/** A delivery of a call as `p_deliveries` holds it. */
export type DeliveryStateRow = Omit<CallDelivery, 'attempts' | 'result'> & { result: string | null };

/** The statements of `callView`, prepared once per connection. */
export class CallReads {
  private readonly call: Statement;
  private readonly entries: Statement;
  private readonly deliveries: Statement;
  private readonly erasure: Statement;

  constructor(private readonly db: Database) {
    this.call = db.prepare(`SELECT org_id FROM p_calls WHERE call_id = ?`);
    // an event's data without its body: the body is most of the log, and personal data
    this.entries = db.prepare(
      `SELECT e.seq, e.type, e.at,
         CASE WHEN NOT json_valid(e.data) THEN NULL
           WHEN e.type = 'event.received' THEN json_extract(e.data, '$.event_id', '$.event_type', '$.created_at', '$.received_at')
           WHEN e.type = 'delivery.planned' THEN json_remove(e.data, '$.request')
           ELSE e.data END AS data
       FROM p_call_entries r JOIN entries e ON e.seq = r.seq
       WHERE r.call_id = ? ORDER BY r.seq`,
    );
    this.deliveries = db.prepare(
      `SELECT delivery_id, event_id, rule_id, sink, status, order_key, result, dead_reason
       FROM p_deliveries WHERE call_id = ? ORDER BY seq`,
    );
    // the one place that says whether a call is erased: a `call.erased` entry names it (README "The log", "Files beside the database")
    this.erasure = db.prepare(`SELECT EXISTS (SELECT 1 FROM entries WHERE type = 'call.erased' AND data ->> '$.call_id' = ?)`).pluck();
  }

  /** The call's story and timeline, read in one snapshot; null when no event of the call is in the log. */
  callView(callId: string): CallView | null {
    return this.db.transaction(() => {
      const call = this.call.get(callId) as { org_id: string | null } | undefined;
      if (!call) return null;
      const rows = this.deliveries.all(callId) as DeliveryStateRow[];
      const erased = this.erasure.get(callId) === 1;
      return assembleCall(callId, call.org_id, rows, this.entries.all(callId) as EntryRow[], erased);
    })();
  }
}

/**
 * A call's view from its rows, the same on every engine: its deliveries (`p_deliveries`, in
 * plan order) and the entries about it in log order (an event's `data` as the array
 * `[event_id, event_type, created_at, received_at]`, a plan's without its request).
 */
export function assembleCall(callId: string, orgId: string | null, rows: DeliveryStateRow[], entries: EntryRow[], erased: boolean): CallView {
  const deliveries: CallDelivery[] = rows.map((r) => ({
    delivery_id: r.delivery_id,
    event_id: r.event_id,
    rule_id: r.rule_id,
    sink: r.sink,
    status: r.status,
    order_key: r.order_key,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
    attempts: [],
    dead_reason: r.dead_reason,
  }));
  const byId = new Map(deliveries.map((d) => [d.delivery_id, d]));
  const events: CallEvent[] = [];
  const timeline: CallMoment[] = [];
  for (const row of entries) {
    const moment = momentOf(row);
    if (!moment) continue;
    timeline.push(moment);
    if (moment.kind === 'event') {
      const { seq, event_id, event_type, created_at, received_at } = moment;
      events.push({ seq, event_id, event_type, created_at, received_at });
    } else if (moment.kind === 'attempt') {
      const { attempt, outcome, duration_ms, error } = moment;
      byId.get(moment.delivery_id)?.attempts.push({ attempt, at: moment.at, outcome, duration_ms, error });
    }
  }
  return { story: { call_id: callId, org_id: orgId, erased, events, deliveries }, timeline };
}

/** An entry about the call as a moment of its timeline; null for a type the story does not show. */
function momentOf(row: EntryRow): CallMoment | null {
  const at = { seq: row.seq, at: row.at };
  switch (row.type) {
    case 'event.received': {
      const [event_id, event_type, created_at, received_at] = entryJson(row) as string[];
      return { ...at, kind: 'event', event_id: event_id!, event_type: event_type!, created_at: created_at!, received_at: received_at! };
    }
    case 'delivery.planned': {
      const d = entryData<DeliveryPlanned>(row);
      return { ...at, kind: 'planned', delivery_id: d.delivery_id, rule_id: d.rule_id, sink: d.sink, order_key: d.order_key };
    }
    case 'delivery.attempted': {
      const d = entryData<DeliveryAttempted>(row);
      return { ...at, kind: 'attempt', delivery_id: d.delivery_id, attempt: d.attempt, outcome: d.outcome, duration_ms: d.duration_ms, error: d.error, retry_at: d.retry_at, paused: d.paused === true };
    }
    case 'delivery.dead': {
      const d = entryData<{ delivery_id: string; reason: string }>(row);
      return { ...at, kind: 'dead', delivery_id: d.delivery_id, reason: d.reason };
    }
    case 'delivery.retried': {
      const d = entryData<DeliveryRetried & { by?: unknown }>(row);
      return { ...at, kind: 'redriven', delivery_id: d.delivery_id, reason: d.reason, by: typeof d.by === 'string' ? d.by : null };
    }
    case 'call.erased': {
      const d = entryData<CallErased>(row);
      return { ...at, kind: 'erased', reason: d.reason, by: d.by, downstream: d.downstream };
    }
    default:
      return null;
  }
}
