import type { DeliveryPlanned } from '../log/types.js';
import type { Envelope } from '../receive/envelope.js';
import type { Scope } from '../rules/liquid.js';
import type { CompiledRule, LoadedRules } from '../rules/types.js';
import { deliveryId } from './delivery-id.js';
import { renderAction } from './render-action.js';

export interface PlannableEvent {
  seq: number;
  received_at: string;
  envelope: Envelope;
}

export interface PlanOptions {
  /** `replay --force`: plan again under new delivery ids. */
  generation?: string;
  /** `replay --rule ID`: only this rule. */
  onlyRule?: string;
}

export type RuleVerdict =
  | { rule_id: string; matched: true; plans: DeliveryPlanned[]; render_errors: { action_index: number; message: string }[] }
  | { rule_id: string; matched: false; reason: 'type' | 'when_false' | 'when_error'; message: string };

/** What templates and `when` see (SPEC §6). */
export function scopeOf(ev: PlannableEvent): Scope {
  const event = ev.envelope as unknown as Record<string, unknown>;
  return { event, data: ev.envelope.data as Record<string, unknown>, seq: ev.seq, received_at: ev.received_at };
}

/**
 * For each rule (in file order): whether it matches the event and why not, and the rendered
 * deliveries when it does. Pure: the same rules and event always give the same answer.
 */
export function explainEvent(rules: LoadedRules, ev: PlannableEvent, opts: PlanOptions = {}): RuleVerdict[] {
  const scope = scopeOf(ev);
  const selected = opts.onlyRule === undefined ? rules.rules : rules.rules.filter((r) => r.id === opts.onlyRule);
  return selected.map((rule) => verdict(rule, rules, ev, scope, opts));
}

function verdict(rule: CompiledRule, rules: LoadedRules, ev: PlannableEvent, scope: Scope, opts: PlanOptions): RuleVerdict {
  const type = ev.envelope.event_type;
  if (!rule.on.matches(type)) {
    return { rule_id: rule.id, matched: false, reason: 'type', message: `${type} does not match on: ${rule.on.patterns.join(', ')}` };
  }
  if (rule.when) {
    const result = rule.when.evaluate(scope);
    if (result.error !== undefined) {
      return { rule_id: rule.id, matched: false, reason: 'when_error', message: `when (${rule.when.source}) failed: ${result.error}` };
    }
    if (!result.matched) {
      return { rule_id: rule.id, matched: false, reason: 'when_false', message: `when (${rule.when.source}) is false` };
    }
  }
  const plans: DeliveryPlanned[] = [];
  const render_errors: { action_index: number; message: string }[] = [];
  for (const action of rule.actions) {
    try {
      const { request, order_key } = renderAction(action, scope, ev.envelope);
      plans.push({
        delivery_id: deliveryId(ev.envelope.event_id, rule.id, action.index, opts.generation),
        event_id: ev.envelope.event_id,
        event_seq: ev.seq,
        event_type: type,
        rule_id: rule.id,
        action_index: action.index,
        sink: action.sink,
        request: request as Record<string, unknown>,
        order_key,
        rules_hash: rules.hash,
        ...(opts.generation !== undefined && { generation: opts.generation }),
      });
    } catch (error) {
      render_errors.push({ action_index: action.index, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return { rule_id: rule.id, matched: true, plans, render_errors };
}

/**
 * Every delivery the rules plan for one event, in rule then action order. An action whose
 * template fails to render (only past liquidjs' limits) is left out; `explainEvent` says why.
 */
export function planEvent(rules: LoadedRules, ev: PlannableEvent, opts: PlanOptions = {}): DeliveryPlanned[] {
  return explainEvent(rules, ev, opts).flatMap((v) => (v.matched ? v.plans : []));
}
