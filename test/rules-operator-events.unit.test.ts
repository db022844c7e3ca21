import { describe, expect, it } from 'vitest';
import { OPERATOR_EVENT_TYPES } from '../src/log/types.js';
import { operatorEvent } from '../src/route/operator-events.js';
import { explainEvent, planEvent, type PlannableEvent } from '../src/route/plan-event.js';
import { compileOn } from '../src/rules/event-matcher.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import type { LoadedRules } from '../src/rules/types.js';

/**
 * Operator events as rule triggers (README "When a rule fails at run time"): which patterns name them, what rules see of them,
 * and the rules file's `alerts`.
 */

const rules = (text: string): LoadedRules => {
  const result = loadRulesFromText(text, 'rules.yaml', {});
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.rules;
};
const file = (on: string, extra = '') => `version: 1
sinks:
  console: { type: log }
  hook: { type: http, url: "https://ops.example/hook" }
${extra}rules:
  - id: r
    on: ${on}
    actions: [{ sink: console, text: "{{ event.event_type }} {{ data.sink }} {{ seq }} {{ received_at }}" }, { sink: hook }]
`;
const CALL: PlannableEvent = {
  seq: 3,
  received_at: '2026-06-01T10:00:01Z',
  envelope: { event_id: 'evt_1', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: 'c', agent_id: 'a', status: 'completed' } },
};
const PAUSED = operatorEvent(57, 'sink.paused', '2026-06-01T10:05:00.000Z', { sink: 'slack', reason: 'token_revoked: revoked', code: 'token_revoked', delivery_id: 'dlv_1' });

describe('which patterns name an operator event', () => {
  it.each([
    ['delivery.dead', ['delivery.dead']],
    ['sink.*', ['sink.paused', 'sink.resumed']],
    ['pending.*', ['pending.stale', 'pending.cleared']],
    ['sink.pause*', ['sink.paused']],
    ['*', []],
    ['*.dead', []],
    ['s*.paused', []],
    ['call.*', []],
    ['delivery.*', ['delivery.dead']],
  ])('%s names %j', (pattern, named) => {
    const on = compileOn(pattern);
    expect(OPERATOR_EVENT_TYPES.filter((t) => on.names(t))).toEqual(named);
  });

  it('"*" and "call.*" keep matching call events, and a HuskyVoice event is matched as before', () => {
    expect(compileOn('*').matches('call.completed')).toBe(true);
    expect(compileOn('call.*').matches('call.failed')).toBe(true);
    expect(compileOn('sink.*').names('call.completed')).toBe(false);
  });
});

describe('what rules see of an operator event', () => {
  it('plans from it with event = {event_type, created_at, data}, its seq and time; the http sink sends that by default', () => {
    const [log, hook] = planEvent(rules(file('"sink.*"')), PAUSED);
    expect(log).toMatchObject({ event_id: 'op-57', event_seq: 57, event_type: 'sink.paused', rule_id: 'r', sink: 'console', request: { text: 'sink.paused slack 57 2026-06-01T10:05:00.000Z' } });
    expect(hook!.request['body']).toEqual({ event_type: 'sink.paused', created_at: '2026-06-01T10:05:00.000Z', data: PAUSED.envelope.data });
    // the delivery id is as deterministic as a call's
    expect(planEvent(rules(file('"sink.*"')), PAUSED)[0]!.delivery_id).toBe(log!.delivery_id);
  });

  it('"*" does not match it, and says why', () => {
    const [verdict] = explainEvent(rules(file('"*"')), PAUSED);
    expect(verdict).toEqual({ rule_id: 'r', matched: false, reason: 'type', message: 'sink.paused is an operator event: on: * does not name it' });
    // while a call event still matches "*", and not "sink.*"
    expect(planEvent(rules(file('"*"')), CALL)).toHaveLength(2);
    expect(planEvent(rules(file('"sink.*"')), CALL)).toEqual([]);
  });
});

describe('rules check and operator events', () => {
  it('knows their types and fields: no warning for documented ones, a warning with a hint for a typo', () => {
    const ok = loadRulesFromText(file('[delivery.dead, "sink.*", "pending.*"]').replace('{{ data.sink }}', '{{ data.sink }} {{ data.reason }} {{ data.count }}'), 'rules.yaml', {});
    expect(ok.ok && ok.warnings).toEqual([]);
    const typo = loadRulesFromText(file('delivery.dead').replace('{{ data.sink }}', '{{ data.rule_idd }}'), 'rules.yaml', {});
    expect(typo.ok && typo.warnings.map(formatProblem)).toEqual([
      'rules.yaml:8:38: warning: data.rule_idd is not a documented field of delivery.dead events (did you mean "rule_id"?)',
    ]);
    const noSuchType = loadRulesFromText(file('delivery.deadd'), 'rules.yaml', {});
    expect(noSuchType.ok && noSuchType.warnings.map(formatProblem)).toEqual(['rules.yaml:7:9: warning: "delivery.deadd" matches no known event type (did you mean "delivery.dead"?)']);
  });

  it('an operator event has no event_id: a rule that only sees operator events is warned about reading it', () => {
    const result = loadRulesFromText(file('"sink.*"').replace('{{ event.event_type }}', '{{ event.event_id }}'), 'rules.yaml', {});
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      'rules.yaml:8:38: warning: event.event_id is not a field of an operator event (did you mean "event_type"?)',
    ]);
  });
});

describe('alerts.pending_after', () => {
  it('defaults to 15m and takes any duration', () => {
    expect(rules(file('"*"')).alerts).toEqual({ pending_after_ms: 900_000, pending_after: '15m' });
    expect(rules(file('"*"', 'alerts:\n  pending_after: 90s\n')).alerts).toEqual({ pending_after_ms: 90_000, pending_after: '90s' });
  });

  it.each([
    ['alerts:\n  pending_after: 0s\n', 'rules.yaml:6:18: pending_after must be longer than 0 (write it like 15m)'],
    ['alerts:\n  pending_after: soon\n', 'rules.yaml:6:18: pending_after: invalid duration (write it like 250ms, 10s, 5m or 1h)'],
    ['alerts:\n  pending_afer: 5m\n', expect.stringMatching(/^rules\.yaml:6:3: unknown key "pending_afer".*pending_after/)],
  ])('%j is an error at its place', (extra, problem) => {
    const result = loadRulesFromText(file('"*"', extra), 'rules.yaml', {});
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([problem]);
  });
});
