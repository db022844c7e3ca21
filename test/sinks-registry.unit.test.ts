import { describe, expect, it } from 'vitest';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import { SINK_KINDS } from '../src/sinks/registry.js';

/** The registry as the rules loader uses it: each kind under its own `type`, and no kind for an unknown one. */

describe('SINK_KINDS', () => {
  it('lists each kind under the type its declarations name it by', () => {
    expect(Object.entries(SINK_KINDS).map(([key, kind]) => [key, kind.type])).toEqual([
      ['slack', 'slack'],
      ['hubspot', 'hubspot'],
      ['http', 'http'],
      ['log', 'log'],
    ]);
  });
});

describe('a sink whose type names no kind', () => {
  it('a type left empty by an unset ${VAR}: the sink is warned about as disabled and not loaded, and nothing crashes', () => {
    // Given a sink whose type comes from a variable that is not set
    const text = 'version: 1\nsinks:\n  x: { type: "${SINK_TYPE}", token: t }\nrules:\n  - id: a\n    on: call.completed\n    actions: [{ sink: x, channel: c, text: t }]\n';
    // When the file is loaded
    const result = loadRulesFromText(text, 'rules.yaml', {});
    // Then it loads with the warning, and the sink is not among the loaded ones (it has no kind to build)
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map(formatProblem)).toEqual(['rules.yaml:3:14: warning: sink "x" is disabled: ${SINK_TYPE} is not set']);
    expect(result.rules.sinks).toEqual({});
    expect(result.rules.rules[0]?.actions).toEqual([]);
  });
});
