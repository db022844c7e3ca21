import { describe, expect, it } from 'vitest';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import type { LoadOptions } from '../src/rules/types.js';

const SINKS = `version: 1
sinks:
  slack: { type: slack, token: xoxb-1 }
  hubspot: { type: hubspot, access_token: pat-1 }
  web: { type: http, url: "https://example.com/hook" }
  console: { type: log }
`;

/** A file made of the sinks above (lines 1-6) and `rest` from line 7. */
function file(rest: string): string {
  return SINKS + rest;
}

function problems(text: string, env: Record<string, string | undefined> = {}, opts: LoadOptions = {}): string[] {
  const result = loadRulesFromText(text, 'rules.yaml', env, opts);
  return (result.ok ? result.warnings : result.problems).map(formatProblem);
}

describe('loadRulesFromText: every error names FILE:LINE:COL', () => {
  const cases: { name: string; text: string; expected: string[] }[] = [
    {
      name: 'YAML syntax error',
      text: 'version: 1\nsinks: {\n',
      expected: ['rules.yaml:3:1: YAML: Flow map in block collection must be sufficiently indented and end with a }'],
    },
    {
      name: 'unknown top-level key, with a suggestion',
      text: file('rules: []\nretries: { max_attempts: 3 }\n'),
      expected: ['rules.yaml:8:1: unknown key "retries" (did you mean "retry"?)'],
    },
    {
      name: 'wrong version',
      text: 'version: 2\nsinks: {}\nrules: []\n',
      expected: ['rules.yaml:1:10: version: unknown value 2 (expected 1)'],
    },
    {
      name: 'unknown key in a sink',
      text: 'version: 1\nsinks:\n  slack:\n    type: slack\n    token: x\n    tokn: y\nrules: []\n',
      expected: ['rules.yaml:6:5: unknown key "tokn" (did you mean "token"?)'],
    },
    {
      name: 'unknown sink type',
      text: 'version: 1\nsinks:\n  chat: { type: slak, token: x }\nrules: []\n',
      expected: ['rules.yaml:3:17: type: unknown value "slak" (expected slack, hubspot, http, log) (did you mean "slack"?)'],
    },
    {
      name: 'wrong type of a value',
      text: 'version: 1\nsinks:\n  slack: { type: slack, token: x, concurrency: "four" }\nrules: []\n',
      expected: ['rules.yaml:3:48: concurrency: expected number, got string'],
    },
    {
      name: 'invalid durations',
      text: 'version: 1\nsinks:\n  web: { type: http, url: "https://x.test", timeout: 10 sec }\nretry:\n  initial_delay: 10x\n  max_delay: 1d\nrules: []\n',
      expected: [
        'rules.yaml:3:54: timeout: invalid duration (write it like 250ms, 10s, 5m or 1h)',
        'rules.yaml:5:18: initial_delay: invalid duration (write it like 250ms, 10s, 5m or 1h)',
        'rules.yaml:6:14: max_delay: invalid duration (write it like 250ms, 10s, 5m or 1h)',
      ],
    },
    {
      name: 'unknown sink in an action, with a suggestion',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slak\n        channel: "#c"\n        text: hi\n'),
      expected: ['rules.yaml:11:15: unknown sink "slak" (did you mean "slack"?)'],
    },
    {
      name: 'unknown sink without a close name',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: pagerduty\n'),
      expected: ['rules.yaml:11:15: unknown sink "pagerduty"'],
    },
    {
      name: 'duplicate rule ids',
      text: file(
        'rules:\n  - id: same\n    on: call.completed\n    actions: [{ sink: console, text: a }]\n  - id: same\n    on: call.failed\n    actions: [{ sink: console, text: b }]\n',
      ),
      expected: ['rules.yaml:11:9: duplicate rule id "same" (first used at line 8)'],
    },
    {
      name: 'a rule id too long to name deliveries in the log',
      text: file(`rules:\n  - id: ${'r'.repeat(129)}\n    on: call.completed\n    actions: [{ sink: console, text: a }]\n`),
      expected: ['rules.yaml:8:9: id: must be at most 128 characters: it names deliveries in the log'],
    },
    {
      name: 'a rule id holding U+0000 (PostgreSQL cannot store it)',
      text: file('rules:\n  - id: "r\\0x"\n    on: call.completed\n    actions: [{ sink: console, text: a }]\n'),
      expected: ['rules.yaml:8:9: id: must hold no control character or unpaired surrogate: it names deliveries in the log'],
    },
    {
      name: 'a rule id holding a C1 control character (U+0085, a line break to some terminals)',
      text: file('rules:\n  - id: "r\\Nx"\n    on: call.completed\n    actions: [{ sink: console, text: a }]\n'),
      expected: ['rules.yaml:8:9: id: must hold no control character or unpaired surrogate: it names deliveries in the log'],
    },
    {
      name: 'a sink name with a line break',
      text: 'version: 1\nsinks:\n  "web\\nhook": { type: log }\nrules: []\n',
      expected: ['rules.yaml:3:16: sink name "web\\nhook": must hold no control character or unpaired surrogate: it names deliveries in the log'],
    },
    {
      name: 'CEL that does not parse',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    when: data.duration_seconds >\n    actions: [{ sink: console }]\n'),
      expected: ['rules.yaml:10:11: invalid CEL in "when": Unexpected token: EOF'],
    },
    {
      name: 'CEL calling an unknown function or variable',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    when: process.env.HOME == "x"\n    actions: [{ sink: console }]\n'),
      expected: ['rules.yaml:10:11: invalid CEL in "when": Unknown variable: process'],
    },
    {
      name: 'CEL that is not a boolean',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    when: \'"yes"\'\n    actions: [{ sink: console }]\n'),
      expected: ['rules.yaml:10:11: invalid CEL in "when": must be a boolean expression, but it is string'],
    },
    {
      name: 'Liquid that does not parse',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slack\n        channel: "#c"\n        text: "{{ data.agent_id "\n'),
      expected: ['rules.yaml:13:15: invalid Liquid template: output "{{ data.agent_id " not closed, line:1, col:1'],
    },
    {
      name: 'Liquid with an unknown filter',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: console\n        fields:\n          who: "{{ data.agent_id | shout }}"\n'),
      expected: ['rules.yaml:13:16: invalid Liquid template: undefined filter: shout, line:1, col:1'],
    },
    {
      name: 'Liquid include cannot read files',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: console\n        text: "{% include \'/etc/passwd\' %}"\n'),
      expected: ['rules.yaml:12:15: invalid Liquid template: the "include" tag is not allowed in rules templates, line:1, col:1'],
    },
    {
      name: 'action fields that do not fit the sink type',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slack\n        channel: "#c"\n        text: hi\n        create: call\n'),
      expected: ['rules.yaml:14:9: unknown key "create" for a slack action (sink "slack")'],
    },
    {
      name: 'slack action without text or blocks',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slack\n        channel: "#c"\n'),
      expected: ['rules.yaml:11:9: a slack action needs "text" or "blocks"'],
    },
    {
      name: 'replace without thread_key',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slack\n        channel: "#c"\n        text: hi\n        replace: true\n'),
      expected: ['rules.yaml:14:18: "replace: true" needs a "thread_key" (the message to replace)'],
    },
    {
      name: 'hubspot: missing create, bad if_no_contact, typo in contact',
      text: file(
        'rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: hubspot\n        contact: { emial: "{{ data.contact_email }}" }\n        if_no_contact: ignore\n',
      ),
      expected: [
        'rules.yaml:11:9: missing required key "create"',
        'rules.yaml:12:20: unknown key "emial" for a hubspot action (sink "hubspot") (did you mean "email"?)',
        'rules.yaml:13:24: if_no_contact: unknown value "ignore" (expected "fail", "skip", "create")',
      ],
    },
    {
      name: 'rule without actions',
      text: file('rules:\n  - id: r1\n    on: call.completed\n'),
      expected: ['rules.yaml:8:5: missing required key "actions"'],
    },
    {
      name: '${VAR} unset outside a sink',
      text: file('rules:\n  - id: r1\n    on: call.completed\n    actions:\n      - sink: slack\n        channel: "${SALES_CHANNEL}"\n        text: hi\n'),
      expected: ['rules.yaml:12:18: ${SALES_CHANNEL} is not set'],
    },
  ];

  it.each(cases)('$name', ({ text, expected }) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reports problems in several rules and sinks in one run, in file order', () => {
    const text =
      'version: 1\nsinks:\n  slack: { type: slack, token: x, extra: 1 }\nrules:\n' +
      '  - id: a\n    on: call.completed\n    actions: [{ sink: slakc }]\n' +
      '  - id: a\n    on: call.failed\n    when: "data.x >"\n    actions: [{ sink: slack, channel: c }]\n';
    expect(problems(text)).toEqual([
      'rules.yaml:3:35: unknown key "extra"',
      'rules.yaml:7:23: unknown sink "slakc" (did you mean "slack"?)',
      'rules.yaml:8:9: duplicate rule id "a" (first used at line 5)',
      'rules.yaml:10:11: invalid CEL in "when": Unexpected token: EOF',
      'rules.yaml:11:15: a slack action needs "text" or "blocks"',
    ]);
  });
});

describe('loadRulesFromText: warnings', () => {
  it('warns, without failing, when `on` names no known event type', () => {
    const text = file('rules:\n  - id: r1\n    on: [call.complete, "sms.*"]\n    actions: [{ sink: console }]\n');
    const result = loadRulesFromText(text, 'rules.yaml', {});
    expect(result.ok).toBe(true);
    expect(problems(text)).toEqual([
      'rules.yaml:9:10: warning: "call.complete" matches no known event type (did you mean "call.completed"?)',
      'rules.yaml:9:25: warning: "sms.*" matches no known event type',
    ]);
  });

  it('accepts globs and lists that match known types without a warning', () => {
    const text = file('rules:\n  - id: r1\n    on: ["call.*", call.failed]\n    actions: [{ sink: console }]\n');
    expect(problems(text)).toEqual([]);
  });
});

describe('http sink secrets (Standard Webhooks)', () => {
  const fileWith = (secret: string) => `version: 1\nsinks:\n  audit: { type: http, url: "https://x.test/in", secret: "${secret}" }\nrules: []\n`;
  const check = (secret: string) => {
    const result = loadRulesFromText(fileWith(secret), 'rules.yaml', {});
    return result.ok ? [] : result.problems.map(formatProblem);
  };

  it.each([
    ['whsec_!!!!', 'after "whsec_" a Standard Webhooks secret is base64'],
    ['whsec_', 'must be 24 to 64 bytes (Standard Webhooks), and this one is 0'],
    ['whsec_YWJj', 'must be 24 to 64 bytes (Standard Webhooks), and this one is 3'],
    [`whsec_${Buffer.alloc(65, 1).toString('base64')}`, 'and this one is 65'],
    ['whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo=', 'is base64'], // padding where none belongs
    ['whsec_ dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', 'is base64'],
    ['short', '5 bytes is too short to sign with; use at least 24'],
    ['v1', '2 bytes is too short'],
    // whitespace and prefix case (residual F): never a key with a pasted line break, never a key the receiver cannot read
    [' '.repeat(30), 'it is only whitespace'],
    ['whsec_   ', 'it begins or ends with whitespace (a pasted line break?)'],
    [' whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', 'it begins or ends with whitespace'],
    ['whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo\\n', 'it begins or ends with whitespace'],
    ['WHSEC_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', 'the Standard Webhooks prefix is lowercase "whsec_", not "WHSEC_"'],
    ['Whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', 'the Standard Webhooks prefix is lowercase "whsec_", not "Whsec_"'],
    // a pasted signature-style value: as text it would be a key no receiver verifies with
    ['v1,whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', '"whsec_" comes after 3 other characters ("v1,"); a Standard Webhooks secret begins with "whsec_"'],
    ['Bearer whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo', '"whsec_" comes after 7 other characters; a Standard Webhooks secret begins with "whsec_"'],
  ])('%j is a located error that does not repeat the secret', (secret, message) => {
    const problems = check(secret);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^rules\\.yaml:3:\\d+: secret: .*${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    if (secret.length > 6) expect(problems[0]).not.toContain(secret.slice(6));
  });

  it.each([
    `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
    `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    `whsec_${Buffer.alloc(64, 7).toString('base64')}`,
    'a-plain-secret-of-24-byte',
  ])('%j is accepted', (secret) => {
    expect(check(secret)).toEqual([]);
  });

  it('a ${VAR} set to whitespace, or with a line break after the key, is an error at the secret; set empty, it disables the sink', () => {
    const at = (env: Record<string, string>) => {
      const result = loadRulesFromText(fileWith('${AUDIT_SECRET}'), 'rules.yaml', env);
      return result.ok ? result.warnings.map(formatProblem) : result.problems.map(formatProblem);
    };
    expect(at({ AUDIT_SECRET: '   ' })).toEqual([expect.stringMatching(/^rules\.yaml:3:58: secret: it is only whitespace/)]);
    expect(at({ AUDIT_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}\n` })).toEqual([expect.stringMatching(/^rules\.yaml:3:58: secret: it begins or ends with whitespace/)]);
    expect(at({ AUDIT_SECRET: '' })).toEqual(['rules.yaml:3:58: warning: sink "audit" is disabled: ${AUDIT_SECRET} is not set']);
  });

  it('an unset ${VAR} secret disables the sink (a warning), it is not a bad secret', () => {
    const result = loadRulesFromText(fileWith('${AUDIT_SECRET}'), 'rules.yaml', {});
    expect(result.ok && result.warnings.map(formatProblem)).toEqual(['rules.yaml:3:58: warning: sink "audit" is disabled: ${AUDIT_SECRET} is not set']);
  });
});
