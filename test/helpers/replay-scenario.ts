import fc from 'fast-check';
import type { Database } from 'better-sqlite3';
import { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';
import type { DeliveryError, NewEntry } from '../../src/log/types.js';
import { CallReads } from '../../src/project/call-story.js';
import { listDeliveries, statusReport } from '../../src/project/queries.js';

/** Rules with one rule that sends every event to a `log` sink: replay's plans, nothing sent anywhere. */
export const TRACE_RULES = `version: 1
sinks:
  console: { type: log }
rules:
  - id: trace
    on: "*"
    actions:
      - sink: console
        text: "{{ event.event_type }} {{ data.call_id }}"
`;

/** One step of a log's life, as the relay would have written it. */
export type Step =
  | { kind: 'event'; type: string; call: number; together: boolean }
  | { kind: 'duplicate_event'; event: number; together: boolean }
  /** `withCall: false`: a plan as logged before issue 14, without call_id (projections take its event's). */
  | { kind: 'plan'; event: number; sink: string; rule: string; keyed: boolean; withCall: boolean; together: boolean }
  | { kind: 'attempt'; delivery: number; outcome: 'succeeded' | DeliveryError['kind']; skipped: boolean; together: boolean }
  | { kind: 'dead' | 'retried'; delivery: number; together: boolean }
  | { kind: 'ghost_attempt'; together: boolean }
  /** A live card's delivery: planned for an event and delivered at once (or skipped, or posted afresh). */
  | { kind: 'card'; event: number; result: 'made' | 'skipped' | 'restarted'; together: boolean }
  /** Operator state (README "When a rule fails at run time"): a sink paused, resumed, stale or cleared; repeats and strays among them. */
  | { kind: 'pause' | 'resume' | 'stale' | 'cleared'; sink: string; delivery: number; together: boolean }
  /** An attempt refused for its credentials: recorded paused, not counted. */
  | { kind: 'paused_attempt'; delivery: number; together: boolean }
  /** An alert: a delivery planned from one of the operator entries logged so far. */
  | { kind: 'alert'; operator: number; sink: string; together: boolean };

const together = fc.boolean();
const TYPES = ['call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed', 'call.future_type'];
const SINKS = ['slack', 'hubspot', 'audit', 'console'];

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('event' as const), type: fc.constantFrom(...TYPES), call: fc.nat(5), together }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate_event' as const), event: fc.nat(), together }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('plan' as const),
      event: fc.nat(),
      sink: fc.constantFrom(...SINKS),
      rule: fc.constantFrom('thread', 'crm', 'audit'),
      keyed: fc.boolean(),
      withCall: fc.boolean(),
      together,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('attempt' as const),
      delivery: fc.nat(),
      outcome: fc.constantFrom('succeeded' as const, 'transient' as const, 'rate_limited' as const, 'permanent' as const),
      skipped: fc.boolean(),
      together,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('dead' as const, 'retried' as const), delivery: fc.nat(), together }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ghost_attempt' as const), together }) },
);

/**
 * `stepArb` and live cards: each planned for an event of a call and delivered at once, made,
 * skipped as superseded, or posted afresh (`restarted`), so a key's state moves on many times.
 */
export const stepWithCardsArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: stepArb },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('card' as const), event: fc.nat(), result: fc.constantFrom('made' as const, 'skipped' as const, 'restarted' as const), together }),
  },
);

/**
 * `stepWithCardsArb` with operator events in the mix (README "When a rule fails at run time"): pauses and resumes, stale and
 * cleared spells (repeated and out of turn, as a crash between two processes could leave them),
 * attempts refused for credentials, and alerts planned from operator entries.
 */
export const stepWithOpsArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: stepWithCardsArb },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const, 'stale' as const, 'cleared' as const), sink: fc.constantFrom(...SINKS), delivery: fc.nat(), together }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('paused_attempt' as const), delivery: fc.nat(), together }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alert' as const), operator: fc.nat(), sink: fc.constantFrom(...SINKS), together }) },
);

/** `n` steps drawn from `arb`, the same ones for the same `seed` (a fixed log for an example test). */
export function sampleSteps(arb: fc.Arbitrary<Step>, n: number, seed: number): Step[] {
  return fc.sample(fc.array(arb, { minLength: n, maxLength: n }), { numRuns: 1, seed })[0]!;
}

/** A clock that moves one second per append, so every transaction has its own `at`. */
export function steppingClock(start = Date.parse('2026-06-01T09:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

export function envelopeOf(eventId: string, type: string, call: number) {
  return {
    event_id: eventId,
    event_type: type,
    created_at: '2026-06-01T08:59:00Z',
    org_id: `org_${call % 2}`,
    data: { call_id: `call_${call}`, agent_id: 'agent_alpha', status: type.slice(5), duration_seconds: 60 * call, summary: `call ${call}` },
  };
}

/**
 * Appends the steps through `Log.append`, a transaction per run of steps marked `together`.
 * Duplicate events and plans are among them: the log refuses them, and they must change nothing.
 */
export function appendSteps(log: SqliteLog, steps: Step[], prefix = 'e'): void {
  const events: { id: string; seq: number; type: string; call: number }[] = [];
  const operators: { seq: number; type: string }[] = [];
  const deliveries: { id: string; sink: string }[] = [];
  let pending: NewEntry[] = [];
  let attempts = 0;
  let eventCounter = 0;
  let reasons = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const results = log.append(pending);
    results.forEach((r, i) => {
      const entry = pending[i]!;
      if (entry.type === 'event.received' && r.seq !== null) {
        const envelope = JSON.parse(entry.data.body) as ReturnType<typeof envelopeOf>;
        events.push({ id: entry.data.event_id, seq: r.seq, type: entry.data.event_type, call: Number(envelope.data.call_id.slice(5)) });
      }
      if (r.seq !== null && ['delivery.dead', 'sink.paused', 'sink.resumed', 'pending.stale', 'pending.cleared'].includes(entry.type)) operators.push({ seq: r.seq, type: entry.type });
    });
    pending = [];
  };
  for (const step of steps) {
    if (!step.together) flush();
    if (step.kind === 'card') pending.push(...cardEntries(step));
    else {
      const entry = entryFor(step);
      if (entry) pending.push(entry);
    }
  }
  flush();

  /** One key per call (`card_<call>`): the stage it shows, and its message, move with each card. */
  function cardEntries(step: Extract<Step, { kind: 'card' }>): NewEntry[] {
    const ev = events[step.event % Math.max(1, events.length)];
    if (!ev) return [];
    const id = `card_${ev.id}`;
    attempts += 1;
    const result =
      step.result === 'skipped'
        ? { skipped: 'superseded' }
        : { channel: 'C9', ts: `18000.${attempts}`, ...(step.result === 'restarted' ? { restarted: 'message_not_found' } : {}) };
    return [
      {
        type: 'delivery.planned',
        data: { delivery_id: id, event_id: ev.id, event_seq: ev.seq, event_type: ev.type, rule_id: 'card', action_index: 0, sink: 'slack', request: { channel: '#live', text: 'card', replace: true }, order_key: `card_${ev.call}`, rules_hash: 'h1' },
      },
      { type: 'delivery.attempted', data: { delivery_id: id, attempt: attempts, outcome: 'succeeded', duration_ms: 3, error: null, retry_at: null, result } },
    ];
  }

  function entryFor(step: Exclude<Step, { kind: 'card' }>): NewEntry | null {
    switch (step.kind) {
      case 'event': {
        const id = `${prefix}_${++eventCounter}`;
        const envelope = envelopeOf(id, step.type, step.call);
        return {
          type: 'event.received',
          data: { event_id: id, event_type: step.type, org_id: envelope.org_id, created_at: envelope.created_at, received_at: '2026-06-01T09:00:00.000Z', call_id: envelope.data.call_id, body: JSON.stringify(envelope) },
        };
      }
      case 'duplicate_event': {
        const ev = events[step.event % Math.max(1, events.length)];
        if (!ev) return null;
        const envelope = envelopeOf(ev.id, ev.type, ev.call);
        return {
          type: 'event.received',
          data: { event_id: ev.id, event_type: ev.type, org_id: 'org_dup', created_at: envelope.created_at, received_at: '2026-06-01T09:00:00.000Z', call_id: 'call_dup', body: '{}' },
        };
      }
      case 'plan': {
        const ev = events[step.event % Math.max(1, events.length)];
        if (!ev) return null;
        const id = `dlv_${ev.id}_${step.rule}_${step.sink}`;
        if (!deliveries.some((d) => d.id === id)) deliveries.push({ id, sink: step.sink });
        const request = step.sink === 'hubspot' ? { create: 'call', contact: { email: 'a@example.com' } } : { channel: `#${step.rule}`, text: 'hi' };
        const call = step.withCall ? { call_id: `call_${ev.call}` } : {};
        return {
          type: 'delivery.planned',
          data: { delivery_id: id, event_id: ev.id, event_seq: ev.seq, event_type: ev.type, ...call, rule_id: step.rule, action_index: 0, sink: step.sink, request, order_key: step.keyed ? `call_${ev.call}` : null, rules_hash: 'h1' },
        };
      }
      case 'attempt': {
        const d = deliveries[step.delivery % Math.max(1, deliveries.length)];
        if (!d) return null;
        attempts += 1;
        const ok = step.outcome === 'succeeded';
        const result = ok ? (step.skipped ? { skipped: 'no contact' } : { channel: 'C1', ts: `17000.${attempts}`, id: `obj_${attempts}` }) : null;
        const error: DeliveryError | null = ok ? null : { kind: step.outcome as DeliveryError['kind'], code: `code_${step.outcome}`, message: `failed ${attempts}`, ...(attempts % 2 ? { status: 503 } : {}) };
        return {
          type: 'delivery.attempted',
          data: { delivery_id: d.id, attempt: attempts, outcome: ok ? 'succeeded' : 'failed', duration_ms: attempts % 97, error, retry_at: step.outcome === 'transient' || step.outcome === 'rate_limited' ? `2026-06-01T10:${String(attempts % 60).padStart(2, '0')}:00.000Z` : null, result },
        };
      }
      case 'dead':
      case 'retried': {
        const d = deliveries[step.delivery % Math.max(1, deliveries.length)];
        if (!d) return null;
        return { type: step.kind === 'dead' ? 'delivery.dead' : 'delivery.retried', data: { delivery_id: d.id, reason: `${step.kind} by a test, #${++reasons}` } };
      }
      case 'pause':
      case 'resume':
      case 'stale':
      case 'cleared': {
        const d = deliveries[step.delivery % Math.max(1, deliveries.length)];
        const id = d?.id ?? 'dlv_none';
        if (step.kind === 'pause') return { type: 'sink.paused', data: { sink: step.sink, reason: `token_revoked: ${attempts}`, code: 'token_revoked', delivery_id: id } };
        if (step.kind === 'resume') return { type: 'sink.resumed', data: { sink: step.sink, reason: 'by a test', code: 'resume' } };
        if (step.kind === 'stale') {
          return { type: 'pending.stale', data: { sink: step.sink, oldest_pending_at: `2026-06-01T08:${String(attempts % 60).padStart(2, '0')}:00.000Z`, count: attempts, delivery_id: id, pending_after: '15m' } };
        }
        return { type: 'pending.cleared', data: { sink: step.sink, oldest_pending_at: attempts % 2 ? null : '2026-06-01T09:00:00.000Z', count: attempts % 3 } };
      }
      case 'paused_attempt': {
        const d = deliveries[step.delivery % Math.max(1, deliveries.length)];
        if (!d) return null;
        attempts += 1;
        return {
          type: 'delivery.attempted',
          data: { delivery_id: d.id, attempt: attempts, outcome: 'failed', duration_ms: 4, error: { kind: 'permanent', code: 'token_revoked', message: 'revoked' }, retry_at: null, result: null, paused: true },
        };
      }
      case 'alert': {
        const op = operators[step.operator % Math.max(1, operators.length)];
        if (!op) return null;
        const id = `dlv_alert_${op.seq}_${step.sink}`;
        if (!deliveries.some((d) => d.id === id)) deliveries.push({ id, sink: step.sink });
        return {
          type: 'delivery.planned',
          data: { delivery_id: id, event_id: `op-${op.seq}`, event_seq: op.seq, event_type: op.type, rule_id: 'ops-alerts', action_index: 0, sink: step.sink, request: { channel: '#relay-ops', text: op.type }, order_key: `ops-${step.sink}`, rules_hash: 'h1' },
        };
      }
      case 'ghost_attempt':
        return {
          type: 'delivery.attempted',
          data: { delivery_id: 'dlv_never_planned', attempt: 1, outcome: 'succeeded', duration_ms: 1, error: null, retry_at: null, result: { ts: '1' } },
        };
    }
  }
}

/** Everything derived, as a user and a byte-for-byte comparison see it: every call's story too. */
export function snapshot(db: Database) {
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'p_*' ORDER BY name`).all() as { name: string }[]).map(
    (r) => r.name,
  );
  return {
    status: JSON.stringify(statusReport(db, null)),
    deliveries: JSON.stringify(listDeliveries(db)),
    calls: JSON.stringify((db.prepare(`SELECT call_id FROM p_calls ORDER BY call_id`).pluck().all() as string[]).map((id) => new CallReads(db).callView(id))),
    tables: Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT rowid AS _rowid, * FROM "${t}" ORDER BY rowid`).all()])),
  };
}
