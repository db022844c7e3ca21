/**
 * The log's entry types and their `data`. README "The log" is the contract; every field users rely on
 * is here. The log is the truth: everything in `src/project` is derived from these.
 */

export type ErrorKind = 'transient' | 'permanent' | 'rate_limited';

export interface DeliveryError {
  kind: ErrorKind;
  /** A short machine code: `http_503`, `timeout`, `channel_not_found`, `no_contact`, … */
  code: string;
  message: string;
  /** HTTP status when the failure came with one. */
  status?: number;
}

export interface EventReceived {
  event_id: string;
  event_type: string;
  org_id: string;
  created_at: string;
  received_at: string;
  /** `data.call_id`, kept beside the body so projections need not parse it again. */
  call_id: string;
  /** The exact bytes received, as text (the body is valid UTF-8 by the time it is logged). */
  body: string;
}

export interface DeliveryPlanned {
  delivery_id: string;
  event_id: string;
  /** `seq` of the `event.received` entry this plan comes from. */
  event_seq: number;
  event_type: string;
  /**
   * The event's `data.call_id` (README "The log"). Planned entries appended before issue 14 lack it:
   * projections then take it from the `event.received` entry at `event_seq`.
   */
  call_id?: string;
  rule_id: string;
  action_index: number;
  sink: string;
  /** The rendered action, exactly what the sink will send. Never holds secrets. */
  request: Record<string, unknown>;
  /** Deliveries with the same sink and order_key go out in log order. */
  order_key: string | null;
  rules_hash: string;
  /** Set by `replay --force`: plans again under a new id. */
  generation?: string;
}

export interface DeliveryAttempted {
  delivery_id: string;
  attempt: number;
  outcome: 'succeeded' | 'failed';
  duration_ms: number;
  error: DeliveryError | null;
  /** When the next attempt is due (ISO), if there will be one. */
  retry_at: string | null;
  /** What the sink returned that later steps need (Slack channel/ts, HubSpot object id). */
  result: Record<string, unknown> | null;
  /**
   * The sink refused its credentials (README "When a rule fails at run time"): the attempt is not counted, and the delivery
   * waits as `pending` while the sink is paused. Absent on every other attempt.
   */
  paused?: true;
}

export interface DeliveryDead {
  delivery_id: string;
  reason: string;
}

export interface DeliveryRetried {
  delivery_id: string;
  reason: string;
  /** Who re-drove it when not the CLI: `console` (README "Console"). Absent from the CLI's entries. */
  by?: string;
}

/** One sink as the relay that loaded the rules has it: enabled, or disabled and why (`${SLACK_BOT_TOKEN} not set`). */
export interface SinkLoadState {
  enabled: boolean;
  disabled_reason?: string;
}

export interface RulesLoaded {
  rules_hash: string;
  path: string;
  /**
   * Each declared sink's state in the relay that loaded these rules, by sink name: what
   * `status` shows. Absent from entries an older relay wrote.
   */
  sinks?: Record<string, SinkLoadState>;
}

/** A sink paused because its credentials were refused (README "When a rule fails at run time"): appended once per pause. */
export interface SinkPaused {
  sink: string;
  /** `code: message` of the refused attempt, e.g. `token_revoked: Slack answered ok:false, error "token_revoked"`. */
  reason: string;
  /** The refusal's error code (`invalid_auth`, `token_revoked`, `unauthorized`…). */
  code: string;
  /** The delivery whose attempt was refused. */
  delivery_id: string;
}

/** How a paused sink came back: `resume` (the CLI), `reload` (its credentials changed), `probe` (a probe attempt succeeded). */
export type ResumeCode = 'resume' | 'reload' | 'probe';

/** A paused sink resumed (README "When a rule fails at run time"): its deliveries flow again. */
export interface SinkResumed {
  sink: string;
  reason: string;
  code: ResumeCode;
  /** Who resumed it by hand when not the CLI: `console` (README "Console"). Absent otherwise. */
  by?: string;
}

/** A sink's oldest open delivery became older than `alerts.pending_after` (README "When a rule fails at run time"): appended once per spell. */
export interface PendingStale {
  sink: string;
  /** `planned_at` of the sink's oldest open delivery. */
  oldest_pending_at: string;
  /** Open (pending or retrying) deliveries of the sink at that moment. */
  count: number;
  /** That oldest open delivery. */
  delivery_id: string;
  /** The threshold it passed, as the rules file writes durations (`15m`). */
  pending_after: string;
}

/** The stale spell of a sink ended: its oldest open delivery is younger than the threshold, or there is none. */
export interface PendingCleared {
  sink: string;
  /** `planned_at` of the oldest open delivery now; null when none is open. */
  oldest_pending_at: string | null;
  count: number;
}

/**
 * A call's personal data was erased (README "Personal data"): its payloads and its data key are
 * gone; its facts stay. Appended once per call.
 */
export interface CallErased {
  call_id: string;
  /** Why: the operator's `--reason`, or `retention`. */
  reason: string;
  /** Who: `cli` (`husky-relay erase`) or `retention` (`serve --retention`). */
  by: string;
  /** Whether deletions were planned at the sinks that received the call (`--downstream`). */
  downstream: boolean;
}

/**
 * What a truncation keeps of the projections derived from the entries it removed (README
 * "Retention"): their rows as they were when it was appended, so that a rebuild from the entries
 * left gives the same tables. Rows in the projections' column order.
 */
export interface TruncationSnapshot {
  /** Every `p_events_by_type` row: `[event_type, n]`. */
  events_by_type: [string, number][];
  /** Every `p_sink_health` row: `[sink, last_success_at, last_error, last_error_at, consecutive_failures]`. */
  sink_health: [string, string | null, string | null, string | null, number][];
  /** Every `p_sink_state` row (`SinkStateRow`). */
  sink_state: [string, string | null, string | null, string | null, string | null, string | null][];
  /** The `p_key_state` rows of order keys with deliveries both before `before_seq` and from it on: `[sink, order_key, key_scope, result]`. */
  key_state: [string, string, string, string][];
  /** The `p_calls` rows of calls with events both before `before_seq` and from it on: `[call_id, org_id, last_event_type, last_event_seq, events]`. */
  calls: [string, string | null, string, number, number][];
}

/**
 * Retention removed the log's entries before `before_seq` (README "Retention"): every one of
 * them older than the window and about calls erased, and finished with. The log now starts at
 * `before_seq`; the hash chain goes on from `prev_hash`, the hash of the last entry removed.
 */
export interface LogTruncated {
  /** The first seq kept. */
  before_seq: number;
  /** The hash of entry `before_seq - 1`: where the chain of the entries kept is anchored. */
  prev_hash: string;
  /** How many entries were removed, and of how many calls. */
  entries: number;
  calls: number;
  /** Projection rows the removed entries contributed to, as they were (see `TruncationSnapshot`). */
  snapshot: TruncationSnapshot;
  /**
   * Order keys `[sink, order_key, key_scope]` an earlier `log.truncated` still in the log restored
   * and that no delivery from `before_seq` on uses: forgotten now, as the removed deliveries' other
   * keys are (a rebuild, which never saw those deliveries, learns it from here).
   */
  forget_keys: [string, string, string][];
}

export interface EntryDataByType {
  'event.received': EventReceived;
  'delivery.planned': DeliveryPlanned;
  'delivery.attempted': DeliveryAttempted;
  'delivery.dead': DeliveryDead;
  'delivery.retried': DeliveryRetried;
  'rules.loaded': RulesLoaded;
  'sink.paused': SinkPaused;
  'sink.resumed': SinkResumed;
  'pending.stale': PendingStale;
  'pending.cleared': PendingCleared;
  'call.erased': CallErased;
  'log.truncated': LogTruncated;
}

export type EntryType = keyof EntryDataByType;

/** Every entry type, once each (the compiler keeps it complete). */
const EACH_ENTRY_TYPE: Record<EntryType, true> = {
  'event.received': true,
  'delivery.planned': true,
  'delivery.attempted': true,
  'delivery.dead': true,
  'delivery.retried': true,
  'rules.loaded': true,
  'sink.paused': true,
  'sink.resumed': true,
  'pending.stale': true,
  'pending.cleared': true,
  'call.erased': true,
  'log.truncated': true,
};

/** Every type of log entry, as `log --type` filters them (README "The log"). */
export const ENTRY_TYPES = Object.keys(EACH_ENTRY_TYPE) as EntryType[];

/**
 * The relay's own entries that rules can route like HuskyVoice events (README "When a rule fails at run time"): operator
 * events. A rule matches them only with a pattern that names them (`delivery.dead`, `sink.*`).
 */
export const OPERATOR_EVENT_TYPES = ['delivery.dead', 'sink.paused', 'sink.resumed', 'pending.stale', 'pending.cleared'] as const satisfies readonly EntryType[];
export type OperatorEventType = (typeof OPERATOR_EVENT_TYPES)[number];

/** The entry types the router reads (`route/router.ts`): HuskyVoice events and operator events. */
export const ROUTED_TYPES: EntryType[] = ['event.received', ...OPERATOR_EVENT_TYPES];

export function isOperatorEventType(type: string): type is OperatorEventType {
  return (OPERATOR_EVENT_TYPES as readonly string[]).includes(type);
}

/** An entry to append: the log assigns `seq` and `at`. */
export type NewEntry = {
  [T in EntryType]: { type: T; data: EntryDataByType[T] };
}[EntryType];

/**
 * An entry as stored: what `log --json` prints, one per line. `hash` is its link in the hash
 * chain (README "Personal data"), present on every entry read from the log.
 */
export type Entry = NewEntry & { seq: number; at: string; hash?: string };
