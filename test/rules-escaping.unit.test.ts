import { describe, expect, it } from 'vitest';
import { planEvent } from '../src/route/plan-event.js';
import { compileTemplate, type Scope } from '../src/rules/liquid.js';
import { slackMrkdwn } from '../src/sinks/slack/escape.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';

function scopeOf(data: Record<string, unknown>): Scope {
  return { event: { event_type: 'call.completed', data }, data, seq: 1, received_at: '2026-06-01T10:00:01Z' };
}
const slack = (template: string, data: Record<string, unknown>) => compileTemplate(template, slackMrkdwn).render(scopeOf(data));
const HOSTILE = '<!channel> <https://evil.test|x> & <@U123>';
const ONCE = '&lt;!channel&gt; &lt;https://evil.test|x&gt; &amp; &lt;@U123&gt;';

describe('Slack mrkdwn is escaped exactly once', () => {
  it.each([
    ['a value', '{{ data.s }}'],
    ['| escape', '{{ data.s | escape }}'],
    ['| escape_once', '{{ data.s | escape_once }}'],
    ['| escape | escape', '{{ data.s | escape | escape }}'],
    ['| raw', '{{ data.s | raw }}'],
    ['| escape | raw', '{{ data.s | escape | raw }}'],
    ['a capture', '{% capture c %}{{ data.s }}{% endcapture %}{{ c }}'],
    ['a capture of a capture', '{% capture a %}{{ data.s }}{% endcapture %}{% capture b %}{{ a }}{% endcapture %}{{ b }}'],
    ['a capture printed | raw', '{% capture c %}{{ data.s }}{% endcapture %}{{ c | raw }}'],
    ['assign', '{% assign x = data.s %}{{ x }}'],
    ['assign | escape', '{% assign x = data.s | escape %}{{ x }}'],
    ['echo', '{% echo data.s %}'],
    ['liquid tag', '{% liquid\necho data.s | escape\n%}'],
  ])('%s', (_name, template) => {
    expect(slack(template, { s: HOSTILE })).toBe(ONCE);
  });

  it('keeps the author’s markup inside a capture, with the values in it escaped', () => {
    expect(slack('{% capture c %}<!here> *{{ data.s }}*{% endcapture %}{{ c }}', { s: '<!channel>' })).toBe('<!here> *&lt;!channel&gt;*');
  });

  it('a capture compares and filters as its text', () => {
    expect(slack('{% capture s %}{{ data.s }}{% endcapture %}{% if s == "done" %}yes{% endif %}|{{ s | size }}|{{ s | upcase }}', { s: 'done' })).toBe('yes|4|DONE');
  });

  it('data can never reach Slack unescaped, whatever filters undo entities', () => {
    for (const template of ['{{ data.s | escape | replace: "&lt;", "<" }}', '{{ data.s | escape | url_decode }}', '{% capture c %}{{ data.s }}{% endcapture %}{{ c | replace: "&lt;", "<" }}']) {
      expect(slack(template, { s: HOSTILE })).not.toMatch(/<[!@h]/);
    }
  });
});

describe('escaped only where Slack parses mrkdwn', () => {
  const result = loadRulesFromText(
    `version: 1
sinks:
  slack: { type: slack, token: x }
rules:
  - id: r
    on: "*"
    actions:
      - sink: slack
        channel: "#c"
        text: "{{ data.s }}"
        blocks:
          - { type: section, text: { type: mrkdwn, text: "{{ data.s }}" }, fields: [{ type: plain_text, text: "{{ data.s }}" }] }
          - { type: header, text: { type: plain_text, text: "{{ data.s }}" } }
          - type: rich_text
            elements:
              - type: rich_text_section
                elements:
                  - { type: text, text: "{{ data.s }}" }
                  - { type: link, url: "https://x.test/?q={{ data.q }}", text: "{{ data.s }}" }
          - { type: context, elements: [{ type: mrkdwn, text: "{{ data.s }}" }, { type: "{{ data.kind }}", text: "{{ data.s }}" }] }
`,
    'rules.yaml',
    {},
  );
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  const envelope = { event_id: 'e', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: 'c', agent_id: 'a', status: 's', s: 'a < b & c', q: 'x&y', kind: 'mrkdwn' } };
  const [plan] = planEvent(result.rules, { seq: 1, received_at: 'x', envelope });

  it('mrkdwn text escaped, plain_text and rich_text shown as written, URLs untouched, a templated type escaped', () => {
    expect(plan!.request).toEqual({
      channel: '#c',
      text: 'a &lt; b &amp; c',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'a &lt; b &amp; c' }, fields: [{ type: 'plain_text', text: 'a < b & c' }] },
        { type: 'header', text: { type: 'plain_text', text: 'a < b & c' } },
        {
          type: 'rich_text',
          elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'a < b & c' }, { type: 'link', url: 'https://x.test/?q=x&y', text: 'a < b & c' }] }],
        },
        // data chooses the type here, so its text is escaped whatever it says
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'a &lt; b &amp; c' }, { type: 'mrkdwn', text: 'a &lt; b &amp; c' }] },
      ],
    });
  });
});
