import { exceedsDepth } from '../json-depth.js';
import type { EntryOf } from '../log/seam.js';
import type { DeliveryPlanned, NewEntry } from '../log/types.js';
import type { Envelope } from '../receive/envelope.js';
import type { WhenResult } from '../rules/cel.js';
import { runBoundedSteps, type Step } from '../rules/bounded-steps.js';
import type { Scope } from '../rules/liquid.js';
import type { CompiledAction, CompiledRule, LoadedRules, RoutedEvent } from '../rules/types.js';
import { deliveryId, type DeliverySource } from './delivery-id.js';
import { deadReason, notPlannedRequest, type NotPlanned } from './not-planned.js';
import { UnsendableRequestError } from '../sinks/kind.js';
import { renderAction } from './render-action.js';
import { DEFAULTS } from '../config/defaults.js';
import { storableKey } from '../log/text.js';

/** What the rules run on: a HuskyVoice event, or one of the relay's operator events (README "When a rule fails at run time"). */
export type PlannableEvent = CallEvent | OperatorEvent;

/** A HuskyVoice event, from its `event.received` entry. */
export interface CallEvent {
  seq: number;
  received_at: string;
  envelope: Envelope;
  /** The exact text received (the `event.received` body), which the HTTP sink forwards by default; absent where there is none (a hand-made event in a test). */
  body?: string;
  operator?: undefined;
}

/**
 * An operator event: one of the relay's own entries (`delivery.dead`, `sink.paused`…), routed
 * like a HuskyVoice event but matched only by patterns that name it. Its `envelope` is what
 * templates see as `event`: `{event_type, created_at, data}`; `seq` and `received_at` are its
 * entry's. It has no event id of its own: its plans are keyed by `operator.event_id`.
 */
export interface OperatorEvent {
  seq: number;
  received_at: string;
  envelope: RoutedEvent;
  operator: { event_id: string };
}

/** The event id a plan of this event carries (and its delivery id is made from). */
export function eventIdOf(ev: PlannableEvent): string {
  return ev.operator ? ev.operator.event_id : ev.envelope.event_id;
}

/** The id space of this event's deliveries: a HuskyVoice event's never meets an operator event's (`deliveryId`). */
function sourceOf(ev: PlannableEvent): DeliverySource {
  return ev.operator ? { kind: 'operator', seq: ev.seq } : { kind: 'call', event_id: ev.envelope.event_id };
}

/** Whether a rule's `on` takes this event: a HuskyVoice event by match, an operator event only if named. */
function takes(rule: CompiledRule, ev: PlannableEvent): boolean {
  return ev.operator ? rule.on.names(ev.envelope.event_type) : rule.on.matches(ev.envelope.event_type);
}

export interface PlanOptions {
  /** `replay --force`: plan again under new delivery ids. */
  generation?: string;
  /** `replay --rule ID`: only this rule. */
  onlyRule?: string;
}

/**
 * An `event.received` entry as planning reads it: its seq, when it was received, and the
 * envelope parsed from the body. Null when the body is not JSON (only valid envelopes are
 * logged, so only a log written by something else could hold one): the event is skipped.
 */
export function plannableEvent(entry: EntryOf<'event.received'>): CallEvent | null {
  try {
    return { seq: entry.seq, received_at: entry.data.received_at, envelope: JSON.parse(entry.data.body) as Envelope, body: entry.data.body };
  } catch {
    return null;
  }
}

/** One action of a matching rule: a plan, or a plan that goes dead at once with its reason. */
export type ActionOutcome =
  | { ok: true; plan: DeliveryPlanned; warnings: string[] }
  | { ok: false; plan: DeliveryPlanned; reason: NotPlanned };

export type RuleVerdict =
  | { rule_id: string; matched: true; actions: ActionOutcome[] }
  | { rule_id: string; matched: false; reason: 'type' | 'when_false' | 'when_missing' | 'when_error'; message: string };

/** A rule that failed at run time on this event (README "When a rule fails at run time"): counted and logged by the caller. */
export interface RuleFailure {
  rule_id: string;
  message: string;
}

/** What templates and `when` see (README "Rules file"). */
export function scopeOf(ev: PlannableEvent): Scope {
  const event = ev.envelope as unknown as Record<string, unknown>;
  return { event, data: ev.envelope.data, seq: ev.seq, received_at: ev.received_at };
}

/** A rendered request the log may refuse, or that is too big to keep: why, or null. */
function requestProblem(request: unknown): NotPlanned | null {
  // deeper than anything ingest and the rules file accept can make (see maxRequestDepth)
  if (exceedsDepth(request, DEFAULTS.rules.maxRequestDepth)) {
    return { code: 'request_too_deep', message: `the rendered request nests deeper than ${DEFAULTS.rules.maxRequestDepth} levels` };
  }
  const size = JSON.stringify(request).length;
  if (size > DEFAULTS.rules.plannedRequestLimitChars) {
    return { code: 'request_too_large', message: `the rendered request is ${size} characters, over the limit of ${DEFAULTS.rules.plannedRequestLimitChars}` };
  }
  return null;
}

interface RuleSlot {
  rule: CompiledRule;
  when?: WhenResult;
  actions: (ActionOutcome | undefined)[];
}

/**
 * For each rule (in file order): whether it matches the event and why not, and each action's
 * delivery when it does. A `when` or action that can loop over data runs under the watchdog
 * (`runBoundedSteps`, `DEFAULTS.rules.evalTimeLimitMs`); an action that fails or exceeds a bound becomes a
 * plan that goes dead with the reason. Never throws. Pure: the same rules and event always
 * give the same answer.
 */
export function explainEvent(rules: LoadedRules, ev: PlannableEvent, opts: PlanOptions = {}): RuleVerdict[] {
  const scope = scopeOf(ev);
  const type = ev.envelope.event_type;
  const selected = opts.onlyRule === undefined ? rules.rules : rules.rules.filter((r) => r.id === opts.onlyRule);
  const slots: RuleSlot[] = selected.map((rule) => ({ rule, actions: [] }));
  const steps: Step[] = [];
  const owners: { slot: RuleSlot; action?: number }[] = [];
  // each step writes only its own slot, so a step run again after the watchdog fired is harmless
  for (const slot of slots) {
    if (!takes(slot.rule, ev)) continue;
    const when = slot.rule.when;
    if (when) {
      steps.push({ run: () => void (slot.when = when.evaluate(scope)), unbounded: when.unbounded });
      owners.push({ slot });
    }
    slot.rule.actions.forEach((action, i) => {
      steps.push({
        run: () => {
          if (!when || slot.when?.matched) slot.actions[i] = planAction(rules, slot.rule, action, ev, scope, opts);
        },
        unbounded: action.unbounded,
      });
      owners.push({ slot, action: i });
    });
  }
  for (const i of runBoundedSteps(steps)) {
    const { slot, action } = owners[i]!;
    const message = `took longer than ${DEFAULTS.rules.evalTimeLimitMs} ms, ${DEFAULTS.rules.evalTimeAttempts} times`;
    if (action === undefined) slot.when = { matched: false, error: message };
    else slot.actions[action] = failedAction(rules, slot.rule, slot.rule.actions[action]!, ev, opts, { code: 'render_timeout', message });
  }
  return slots.map((slot) => verdictOf(slot, ev));
}

function verdictOf({ rule, when, actions }: RuleSlot, ev: PlannableEvent): RuleVerdict {
  const type = ev.envelope.event_type;
  if (!takes(rule, ev)) {
    const on = rule.on.patterns.join(', ');
    const message = ev.operator && rule.on.matches(type) ? `${type} is an operator event: on: ${on} does not name it` : `${type} does not match on: ${on}`;
    return { rule_id: rule.id, matched: false, reason: 'type', message };
  }
  if (rule.when && when) {
    const source = rule.when.source;
    if (when.error !== undefined) return { rule_id: rule.id, matched: false, reason: 'when_error', message: `when (${source}) failed: ${when.error}` };
    if (when.missing !== undefined) {
      return { rule_id: rule.id, matched: false, reason: 'when_missing', message: `when (${source}) does not match: ${when.missing}` };
    }
    if (!when.matched) return { rule_id: rule.id, matched: false, reason: 'when_false', message: `when (${source}) is false` };
  }
  return { rule_id: rule.id, matched: true, actions: actions.filter((a): a is ActionOutcome => a !== undefined) };
}

/** The plan's `call_id`: the envelope's `data.call_id` (always there in what the receiver logs). */
function callOf(ev: PlannableEvent): { call_id?: string } {
  const callId: unknown = (ev.envelope.data as Record<string, unknown> | undefined)?.['call_id'];
  return typeof callId === 'string' ? { call_id: callId } : {};
}

function basePlan(rules: LoadedRules, rule: CompiledRule, action: CompiledAction, ev: PlannableEvent, opts: PlanOptions) {
  const eventId = eventIdOf(ev);
  return {
    delivery_id: deliveryId(sourceOf(ev), rule.id, action.index, opts.generation),
    event_id: eventId,
    event_seq: ev.seq,
    event_type: ev.envelope.event_type,
    ...callOf(ev),
    rule_id: rule.id,
    action_index: action.index,
    sink: action.sink,
    rules_hash: rules.hash,
    ...(opts.generation !== undefined && { generation: opts.generation }),
  };
}

function planAction(rules: LoadedRules, rule: CompiledRule, action: CompiledAction, ev: PlannableEvent, scope: Scope, opts: PlanOptions): ActionOutcome {
  try {
    const { request, order_key, warnings } = renderAction(action, scope, ev.envelope, ev.operator ? undefined : ev.body);
    const problem = requestProblem(request);
    if (problem) return failedAction(rules, rule, action, ev, opts, problem);
    const key = order_key === null ? null : storableKey(order_key);
    return { ok: true, plan: { ...basePlan(rules, rule, action, ev, opts), request: request as Record<string, unknown>, order_key: key }, warnings };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof UnsendableRequestError ? error.code : 'render_failed';
    return failedAction(rules, rule, action, ev, opts, { code, message });
  }
}

/** A delivery that is planned and goes dead at once with `reason` (README "When a rule fails at run time"). */
export function failedAction(
  rules: LoadedRules,
  rule: CompiledRule,
  action: CompiledAction,
  ev: PlannableEvent,
  opts: PlanOptions,
  reason: NotPlanned,
): ActionOutcome {
  return { ok: false, plan: { ...basePlan(rules, rule, action, ev, opts), request: notPlannedRequest(reason), order_key: null }, reason };
}

/** The entries one action's outcome appends: its plan, and its dead letter if it failed. */
export function entriesOf(outcome: ActionOutcome): NewEntry[] {
  const planned: NewEntry = { type: 'delivery.planned', data: outcome.plan };
  if (outcome.ok) return [planned];
  return [planned, { type: 'delivery.dead', data: { delivery_id: outcome.plan.delivery_id, reason: deadReason(outcome.reason) } }];
}

/** The run-time failures of rules on one event: `when` errors and actions that went dead. */
export function failuresOf(verdicts: RuleVerdict[]): RuleFailure[] {
  return verdicts.flatMap((v): RuleFailure[] => {
    if (!v.matched) return v.reason === 'when_error' ? [{ rule_id: v.rule_id, message: v.message }] : [];
    return v.actions.flatMap((a) => (a.ok ? [] : [{ rule_id: v.rule_id, message: `action ${a.plan.action_index}: ${deadReason(a.reason)}` }]));
  });
}

/** Every entry the rules append for one event (rule then action order), and its rule failures. */
export function planEntries(rules: LoadedRules, ev: PlannableEvent, opts: PlanOptions = {}): { entries: NewEntry[]; failures: RuleFailure[] } {
  const verdicts = explainEvent(rules, ev, opts);
  return { entries: verdicts.flatMap((v) => (v.matched ? v.actions.flatMap(entriesOf) : [])), failures: failuresOf(verdicts) };
}

/** Every delivery the rules plan for one event, in rule then action order (failed ones too). */
export function planEvent(rules: LoadedRules, ev: PlannableEvent, opts: PlanOptions = {}): DeliveryPlanned[] {
  return explainEvent(rules, ev, opts).flatMap((v) => (v.matched ? v.actions.map((a) => a.plan) : []));
}
