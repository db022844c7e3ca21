import { describe, expect, it } from 'vitest';
import { explainEvent, planEvent } from '../src/route/plan-event.js';
import { compileWhen } from '../src/rules/cel.js';
import { compileTemplate, type Scope } from '../src/rules/liquid.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import type { LoadedRules } from '../src/rules/types.js';

/** Keys that are properties of every JavaScript object, as JSON.parse leaves them: own data keys. */
const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'toLocaleString', 'propertyIsEnumerable'];

function scopeOf(data: Record<string, unknown>): Scope {
  return { event: { event_id: 'e', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data }, data, seq: 1, received_at: '2026-06-01T10:00:01Z' };
}

function load(yaml: string): LoadedRules {
  const result = loadRulesFromText(yaml, 'rules.yaml', {});
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.rules;
}

describe('event data with keys named like JavaScript object properties', () => {
  it.each(PROTOTYPE_KEYS)('"%s" in data neither breaks a when that reads data nor hides other fields', (key) => {
    // Given an event whose data has that key (as JSON.parse makes it: an own property)
    const data = JSON.parse(`{"${key}": "x", "duration_seconds": 124}`) as Record<string, unknown>;
    // Then conditions reading data work, and the key itself reads as data
    expect(compileWhen('data.duration_seconds >= 30').evaluate(scopeOf(data))).toEqual({ matched: true });
    expect(compileWhen(`data["${key}"] == "x"`).evaluate(scopeOf(data))).toEqual({ matched: true });
    expect(compileWhen(`has(data.duration_seconds) && size(data) == 2`).evaluate(scopeOf(data))).toEqual({ matched: true });
    expect(compileTemplate(`{{ data["${key}"] }}/{{ data.duration_seconds }}`).render(scopeOf(data))).toBe('x/124');
  });

  it.each(PROTOTYPE_KEYS)('"%s" deep inside data, and as a missing key, reads as data only', (key) => {
    const data = JSON.parse(`{"items": [{"${key}": 1}], "nested": {"${key}": {"v": 2}}}`) as Record<string, unknown>;
    expect(compileWhen(`data.items[0]["${key}"] == 1.0 && data.nested["${key}"].v == 2.0`).evaluate(scopeOf(data))).toEqual({ matched: true });
    // a key the event lacks is missing, never the object's inherited property
    expect(compileWhen(`data["${key}"] == "x"`).evaluate(scopeOf({}))).toMatchObject({ matched: false, missing: expect.any(String) });
    expect(compileTemplate(`[{{ data["${key}"] }}]`).render(scopeOf({}))).toBe('[]');
  });
});

describe('event types with control characters', () => {
  const rules = load(`version: 1
sinks:
  console: { type: log }
rules:
  - id: all
    on: "*"
    actions: [{ sink: console, text: "{{ event.event_type }}" }]
  - id: calls
    on: "call.*"
    actions: [{ sink: console, text: call }]
  - id: exact
    on: call.completed
    actions: [{ sink: console, text: exact }]
`);
  const ev = (event_type: string) => ({
    seq: 1,
    received_at: '2026-06-01T10:00:01Z',
    envelope: { event_id: 'e', event_type, created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: 'c', agent_id: 'a', status: 's' } },
  });

  it.each(['call.completed\n', 'call.\ncompleted', 'call.x\r\ny', 'call.\u2028x', 'call.\u2029', 'call.\u0000', 'call.\t', '\ncall.x'])(
    '%j is matched by "*" and, when it starts with "call.", by "call.*", but never by an exact type',
    (type) => {
      const matched = explainEvent(rules, ev(type)).filter((v) => v.matched).map((v) => v.rule_id);
      expect(matched).toEqual(type.startsWith('call.') ? ['all', 'calls'] : ['all']);
      expect(planEvent(rules, ev(type))[0]?.request).toEqual({ text: type });
    },
  );
});
