import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnvelope, type Envelope } from '../src/receive/envelope.js';
import { deliveryId } from '../src/route/delivery-id.js';
import { explainEvent, planEvent } from '../src/route/plan-event.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import type { LoadedRules } from '../src/rules/types.js';

const EXAMPLE = readFileSync(new URL('../rules.example.yaml', import.meta.url), 'utf8');

function load(text = EXAMPLE, env: Record<string, string> = {}): LoadedRules {
  const result = loadRulesFromText(text, 'rules.example.yaml', env);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.rules;
}

function fixture(type: string): Envelope {
  const parsed = parseEnvelope(JSON.parse(readFileSync(new URL(`./fixtures/${type}.json`, import.meta.url), 'utf8')));
  if (!parsed.ok) throw new Error(`bad fixture ${type}`);
  return parsed.envelope;
}

const event = (type: string, seq = 7) => ({ seq, received_at: '2026-06-01T12:00:00.000Z', envelope: fixture(type) });

describe('planEvent with rules.example.yaml', () => {
  const rules = load();

  it.each([
    ['call.initiated', ['call-thread:slack:call_987654321', 'live-call-card:slack:live-call_987654321', 'console-trace:console:-']],
    ['call.answered', ['call-thread:slack:call_987654321', 'live-call-card:slack:live-call_987654321', 'console-trace:console:-']],
    [
      'call.completed',
      [
        'call-thread:slack:call_987654321',
        'live-call-card:slack:live-call_987654321',
        'completed-to-hubspot:hubspot:call_987654321',
        'console-trace:console:-',
      ],
    ],
    [
      'call.failed',
      ['call-thread:slack:call_555000111', 'live-call-card:slack:live-call_555000111', 'missed-call-alert:slack:-', 'console-trace:console:-'],
    ],
    [
      'call.disallowed',
      ['call-thread:slack:call_555000222', 'live-call-card:slack:live-call_555000222', 'missed-call-alert:slack:-', 'console-trace:console:-'],
    ],
  ])('%s plans rule:sink:order_key %j', (type, expected) => {
    const plans = planEvent(rules, event(type));
    expect(plans.map((p) => `${p.rule_id}:${p.sink}:${p.order_key ?? '-'}`)).toEqual(expected);
    for (const p of plans) {
      expect(p.delivery_id).toBe(deliveryId({ kind: 'call', event_id: p.event_id }, p.rule_id, p.action_index));
      expect(p).toMatchObject({ event_type: type, event_seq: 7, rules_hash: rules.hash });
    }
  });

  it('plans the same ids every time, and new ones only under a generation', () => {
    const first = planEvent(rules, event('call.completed'));
    expect(planEvent(rules, event('call.completed', 99)).map((p) => p.delivery_id)).toEqual(first.map((p) => p.delivery_id));
    const again = planEvent(rules, event('call.completed'), { generation: 'g2' });
    expect(again.every((p) => p.generation === 'g2' && p.delivery_id.endsWith('_g2'))).toBe(true);
  });

  it('plans only one rule with onlyRule', () => {
    expect(planEvent(rules, event('call.completed'), { onlyRule: 'completed-to-hubspot' }).map((p) => p.rule_id)).toEqual([
      'completed-to-hubspot',
    ]);
  });

  it('creates the HubSpot call with the default properties and the rule’s title', () => {
    const [plan] = planEvent(rules, event('call.completed'), { onlyRule: 'completed-to-hubspot' });
    expect(plan?.request).toEqual({
      create: 'call',
      contact: { email: 'dana@example.com', phone: '+14155550123' },
      if_no_contact: 'skip',
      properties: {
        hs_timestamp: '2026-06-01T10:00:00.000Z',
        hs_call_duration: '124000',
        hs_call_status: 'COMPLETED',
        hs_call_body: 'Customer confirmed appointment.',
        hs_call_direction: 'OUTBOUND',
        hs_call_to_number: '+14155550123',
        hs_call_title: 'HuskyVoice call by agent_alpha',
      },
      upsert_key: 'call_987654321',
    });
  });

  it('renders the Slack thread message for a completed call', () => {
    const [plan] = planEvent(rules, event('call.completed'), { onlyRule: 'call-thread' });
    expect(plan?.request).toEqual({
      channel: '#sales-calls',
      text: ':white_check_mark: Finished after 2m 4s: Customer confirmed appointment.',
      thread_key: 'call_987654321',
    });
  });

  it('never puts a token in a request', () => {
    const withTokens = load(EXAMPLE, { SLACK_BOT_TOKEN: 'xoxb-secret', HUBSPOT_ACCESS_TOKEN: 'pat-secret' });
    const all = ['call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed'].flatMap((t) =>
      planEvent(withTokens, event(t)),
    );
    expect(JSON.stringify(all)).not.toMatch(/secret/);
  });
});

describe('planEvent details', () => {
  const base = `version: 1
sinks:
  slack: { type: slack, token: x }
  hubspot: { type: hubspot, access_token: y }
  web: { type: http, url: "https://example.com/in", headers: { Authorization: "Bearer sink-secret" } }
  console: { type: log }
rules:
`;

  it('escapes event data in Slack text and block text, but keeps literal mentions', () => {
    const rules = load(
      base +
        `  - id: r
    on: call.completed
    actions:
      - sink: slack
        channel: "#c"
        text: "<!here> {{ data.summary }}"
        blocks:
          - { type: section, text: { type: mrkdwn, text: "{{ data.summary }}" } }
          - { type: image, image_url: "https://x.test/a.png?a=1&b={{ data.agent_id }}", alt_text: "x" }
`,
    );
    const ev = event('call.completed');
    ev.envelope = { ...ev.envelope, data: { ...ev.envelope.data, summary: '<!channel> <https://evil.test|click> & go' } };
    const [plan] = planEvent(rules, ev);
    expect(plan?.request).toEqual({
      channel: '#c',
      text: '<!here> &lt;!channel&gt; &lt;https://evil.test|click&gt; &amp; go',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '&lt;!channel&gt; &lt;https://evil.test|click&gt; &amp; go' } },
        { type: 'image', image_url: 'https://x.test/a.png?a=1&b=agent_alpha', alt_text: 'x' },
      ],
    });
  });

  it('HTTP sends the envelope by default, POST, without the sink’s secret headers', () => {
    const rules = load(base + `  - id: r\n    on: "*"\n    actions: [{ sink: web }]\n`);
    const ev = event('call.failed');
    expect(planEvent(rules, ev)[0]?.request).toEqual({ method: 'POST', headers: {}, body: ev.envelope });
  });

  it('HTTP renders a body mapping and headers', () => {
    const rules = load(
      base +
        `  - id: r\n    on: "*"\n    actions:\n      - sink: web\n        method: PUT\n        headers: { X-Call: "{{ data.call_id }}" }\n        body: { call: "{{ data.call_id }}", n: 3, tags: ["{{ data.status }}", true] }\n`,
    );
    expect(planEvent(rules, event('call.failed'))[0]?.request).toEqual({
      method: 'PUT',
      headers: { 'X-Call': 'call_555000111' },
      body: { call: 'call_555000111', n: 3, tags: ['failed', true] },
    });
  });

  it('a HubSpot note: drops empty contact fields; no thread key means no order key', () => {
    const rules = load(
      base +
        `  - id: r\n    on: "*"\n    actions:\n      - sink: hubspot\n        create: note\n        contact: { email: "{{ data.contact_email }}", phone: "{{ data.to_number }}" }\n`,
    );
    const [plan] = planEvent(rules, event('call.failed'));
    expect(plan?.request).toEqual({
      create: 'note',
      contact: { phone: '+14155550199' },
      if_no_contact: 'fail',
      properties: { hs_timestamp: '2026-06-01T11:00:00.000Z' },
    });
    expect(plan?.order_key).toBeNull();
  });

  it('explainEvent says why each rule did not match', () => {
    const rules = load(
      base +
        `  - id: by-type\n    on: call.failed\n    actions: [{ sink: console }]\n` +
        `  - id: by-when\n    on: "*"\n    when: data.duration_seconds > 600\n    actions: [{ sink: console }]\n` +
        `  - id: by-missing\n    on: "*"\n    when: data.reason == "dnd"\n    actions: [{ sink: console }]\n`,
    );
    const verdicts = explainEvent(rules, event('call.completed'));
    expect(verdicts.map((v) => (v.matched ? `${v.rule_id}: matched` : `${v.rule_id}: ${v.reason}: ${v.message}`))).toEqual([
      'by-type: type: call.completed does not match on: call.failed',
      'by-when: when_false: when (data.duration_seconds > 600) is false',
      'by-missing: when_missing: when (data.reason == "dnd") does not match: No such key: reason',
    ]);
  });
});

describe('sinks with an unset ${VAR}', () => {
  it('are disabled with a warning naming the variable, and still planned', () => {
    const result = loadRulesFromText(EXAMPLE, 'rules.example.yaml', { SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map(formatProblem)).toEqual([
      'rules.example.yaml:15:19: warning: sink "hubspot" is disabled: ${HUBSPOT_ACCESS_TOKEN} is not set',
      'rules.example.yaml:22:12: warning: sink "slack-ops" is disabled: ${SLACK_OPS_TOKEN} is not set',
    ]);
    expect(result.rules.sinks.hubspot).toMatchObject({ enabled: false, disabled_reason: '${HUBSPOT_ACCESS_TOKEN} not set' });
    expect(result.rules.sinks.slack).toMatchObject({ enabled: true, config: { type: 'slack', token: 'xoxb-1' } });
    expect(planEvent(result.rules, event('call.completed')).some((p) => p.sink === 'hubspot')).toBe(true);
  });

  it('are an error with strict', () => {
    const result = loadRulesFromText(EXAMPLE, 'rules.example.yaml', { SLACK_BOT_TOKEN: 'xoxb-1' }, { strict: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      'rules.example.yaml:15:19: sink "hubspot" is disabled: ${HUBSPOT_ACCESS_TOKEN} is not set',
      'rules.example.yaml:22:12: sink "slack-ops" is disabled: ${SLACK_OPS_TOKEN} is not set',
    ]);
  });

  it('a disabled http sink with an unset url is not also reported as a bad url', () => {
    const text = 'version: 1\nsinks:\n  audit: { type: http, url: "${AUDIT_URL}" }\nrules: []\n';
    const result = loadRulesFromText(text, 'r.yaml', {});
    expect(result.ok && result.warnings.map(formatProblem)).toEqual(['r.yaml:3:29: warning: sink "audit" is disabled: ${AUDIT_URL} is not set']);
  });

  it('converts durations and applies retry defaults', () => {
    const text =
      'version: 1\nsinks:\n  web: { type: http, url: "https://x.test", timeout: 250ms, retry: { max_delay: 5m } }\nretry: { initial_delay: 30s }\nrules: []\n';
    const result = loadRulesFromText(text, 'r.yaml', {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rules.retry).toEqual({ max_attempts: 12, initial_delay_ms: 30_000, max_delay_ms: 3_600_000 });
    expect(result.rules.sinks.web?.config).toEqual({ type: 'http', url: 'https://x.test', timeout_ms: 250, retry: { max_delay_ms: 300_000 } });
  });
});
