import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { parseEnvelope } from '../src/receive/envelope.js';
import { explainEvent, type ActionOutcome, type PlannableEvent } from '../src/route/plan-event.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import type { LoadedRules } from '../src/rules/types.js';

/**
 * The size bounds of README "Rules file" (Bounds), each reached: past the bound, a template or a
 * request is a dead delivery with its reason (issue 11 item 3: "every template render and every
 * CEL evaluation has a time and size bound"), and a rule too big to evaluate safely is a load
 * error at its place. The time bounds are in route-rule-failures.int and rules-hostile-data.unit.
 */

const sinks = `sinks:\n  out: { type: http, url: "http://127.0.0.1:9/hook" }\n`;

function load(yaml: string) {
  return loadRulesFromText(`version: 1\n${sinks}${yaml}`, 'rules.yaml', {});
}

function loaded(yaml: string): LoadedRules {
  const result = load(yaml);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.rules;
}

function eventWith(data: Record<string, unknown>): PlannableEvent {
  const parsed = parseEnvelope({ event_id: 'evt_bounds', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'org_1', data: { call_id: 'call_1', agent_id: 'agent_1', status: 'completed', ...data } });
  if (!parsed.ok) throw new Error(`bad envelope: ${JSON.stringify(parsed)}`);
  return { seq: 1, received_at: '2026-06-01T10:00:01.000Z', envelope: parsed.envelope };
}

/** The single action's outcome of the single rule. */
function outcome(rules: LoadedRules, ev: PlannableEvent): ActionOutcome {
  const [verdict] = explainEvent(rules, ev);
  if (!verdict?.matched) throw new Error(`rule did not match: ${JSON.stringify(verdict)}`);
  return verdict.actions[0]!;
}

const rule = (body: string) => `rules:\n  - id: r\n    on: call.completed\n    actions:\n      - sink: out\n        body: ${body}\n`;

describe('size bounds at run time: a dead delivery with the reason, never a stall or a crash', () => {
  it(`a template that renders more than ${DEFAULTS.rules.templateOutputLimitChars.toLocaleString('en')} characters: render_failed`, () => {
    // no loop (a loop would meet the time bound first on a busy machine): one field of 1.2 M characters
    const rules = loaded(rule(`{ text: "{{ data.chunk }}" }`));
    const result = outcome(rules, eventWith({ chunk: 'x'.repeat(1_200_000) }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason.code).toBe('render_failed');
    expect(result.reason.message).toMatch(/rendered \d+ characters, over the limit of 1000000/);
  });

  it('a template just under the output limit renders whole', () => {
    const rules = loaded(rule(`{ text: "{{ data.chunk }}" }`));
    const result = outcome(rules, eventWith({ chunk: 'x'.repeat(600_000) }));
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.plan.request as { body: { text: string } }).body.text).toHaveLength(600_000);
  });

  it(`a planned request over ${DEFAULTS.rules.plannedRequestLimitChars.toLocaleString('en')} characters as JSON: request_too_large`, () => {
    // five fields each under the template limit, together over the request limit
    const fields = [1, 2, 3, 4, 5].map((n) => `f${n}: "{{ data.chunk }}"`).join(', ');
    const rules = loaded(rule(`{ ${fields} }`));
    const result = outcome(rules, eventWith({ chunk: 'y'.repeat(900_000) }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason.code).toBe('request_too_large');
    expect(result.reason.message).toMatch(/over the limit of 4000000/);
  });
});

describe('size bounds at load: a located error, the rules are not loaded', () => {
  const problems = (yaml: string) => {
    const result = load(yaml);
    expect(result.ok).toBe(false);
    return result.ok ? [] : result.problems.filter((p) => p.severity === 'error').map(formatProblem);
  };

  it(`a template source over ${DEFAULTS.rules.templateSourceLimitChars.toLocaleString('en')} characters`, () => {
    const found = problems(rule(`{ text: "${'a{{ data.call_id }}'.repeat(6_000)}" }`));
    expect(found).toHaveLength(1);
    expect(found[0]).toBe('rules.yaml:9:23: invalid Liquid template: parse length limit exceeded');
  });

  const when = (expression: string) => `rules:\n  - id: r\n    on: call.completed\n    when: ${JSON.stringify(expression)}\n    actions:\n      - sink: out\n`;

  it.each([
    ['more than 1,000 AST nodes', Array.from({ length: 600 }, (_, i) => `data.n == ${i}`).join(' || ')],
    ['nesting deeper than 32', `${'('.repeat(40)}data.n == 1${')'.repeat(40)}`],
    ['a literal list of more than 100 elements', `data.n in [${Array.from({ length: 150 }, (_, i) => i).join(', ')}]`],
  ])('a `when` with %s', (_what, expression) => {
    const found = problems(when(expression));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^rules\.yaml:\d+:\d+: .*when/);
  });

  it('a `when` within every structural limit loads', () => {
    expect(load(when(`data.n in [${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`)).ok).toBe(true);
  });
});
