import { describe, expect, it } from 'vitest';
import { compileWhen } from '../src/rules/cel.js';
import { formatSeconds } from '../src/rules/duration.js';
import { compileTemplate, type Scope } from '../src/rules/liquid.js';
import { slackMrkdwn } from '../src/sinks/slack/escape.js';

function scope(data: Record<string, unknown>, extra: Partial<Scope> = {}): Scope {
  const event = { event_id: 'evt_1', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'org', data };
  return { event, data, seq: 42, received_at: '2026-06-01T10:00:01Z', ...extra };
}

describe('duration filter', () => {
  it.each([
    [124, '2m 4s'],
    [3600, '1h'],
    [3661, '1h 1m 1s'],
    [0, '0s'],
    [59.6, '1m'],
    ['124', '2m 4s'],
    ['abc', 'abc'],
    [null, ''],
  ])('%j → %j', (input, expected) => {
    expect(formatSeconds(input)).toBe(expected);
    expect(compileTemplate('{{ data.d | duration }}').render(scope({ d: input }))).toBe(expected);
  });

  it('renders empty for a missing field', () => {
    expect(compileTemplate('[{{ data.nope | duration }}]').render(scope({}))).toBe('[]');
  });
});

describe('Liquid templates', () => {
  it('render a missing field as empty, not an error', () => {
    expect(compileTemplate('a{{ data.missing.deeper }}b').render(scope({}))).toBe('ab');
  });

  it('see event, data, seq and received_at', () => {
    const t = compileTemplate('{{ event.event_type }} {{ data.call_id }} {{ seq }} {{ received_at }}');
    expect(t.render(scope({ call_id: 'c1' }))).toBe('call.completed c1 42 2026-06-01T10:00:01Z');
  });

  it('keep unicode intact', () => {
    expect(compileTemplate('{{ data.summary }}').render(scope({ summary: 'Zoë confirmed 👍 — 東京' }))).toBe('Zoë confirmed 👍 — 東京');
  });

  it('render a 100 KB transcript whole', () => {
    const transcript = '[agent] hello '.repeat(8000);
    expect(transcript.length).toBeGreaterThan(100_000);
    expect(compileTemplate('{{ data.transcript }}').render(scope({ transcript }))).toBe(transcript);
  });

  it('cannot reach the environment, prototypes or the file system', () => {
    const t = compileTemplate('{{ process.env.HOME }}|{{ data.constructor }}|{{ data.__proto__ }}');
    expect(t.render(scope({}))).toBe('||');
    expect(() => compileTemplate("{% render 'x' %}")).toThrow(/not allowed/);
    expect(() => compileTemplate("{% layout 'x' %}")).toThrow(/not allowed/);
  });
});

describe('Slack escaping', () => {
  const slack = (template: string, data: Record<string, unknown>) => compileTemplate(template, slackMrkdwn).render(scope(data));

  it('escapes &, < and > in values so data cannot mention or link', () => {
    expect(slack('{{ data.s }}', { s: '<!channel> see <https://evil.test|here> & more' })).toBe(
      '&lt;!channel&gt; see &lt;https://evil.test|here&gt; &amp; more',
    );
  });

  it('keeps the template author’s own mentions and markup', () => {
    expect(slack('<!here> *{{ data.agent }}* & co', { agent: 'a<b' })).toBe('<!here> *a&lt;b* & co');
  });

  it('escapes even through `| raw`', () => {
    expect(slack('{{ data.s | raw }}', { s: '<!channel>' })).toBe('&lt;!channel&gt;');
  });

  it('leaves quotes alone (Slack does not need them escaped)', () => {
    expect(slack('{{ data.s }}', { s: `it's "fine"` })).toBe(`it's "fine"`);
  });

  it('does not escape plain templates (HubSpot, HTTP, log)', () => {
    expect(compileTemplate('{{ data.s }}').render(scope({ s: 'a & <b>' }))).toBe('a & <b>');
  });
});

describe('CEL when', () => {
  const when = (source: string, data: Record<string, unknown>) => compileWhen(source).evaluate(scope(data));

  it.each([
    ['data.duration_seconds >= 30', { duration_seconds: 124 }, true],
    ['data.duration_seconds >= 30', { duration_seconds: 12 }, false],
    ['data.duration_seconds == 124', { duration_seconds: 124 }, true],
    ['int(data.duration_seconds) > 100', { duration_seconds: '124' }, true],
    ['data.summary.contains("café")', { summary: 'Meet at the café' }, true],
    ['has(data.summary) && size(data.summary) > 5', {}, false],
    ['event.event_type.startsWith("call.") && seq > 10', {}, true],
    ['data.?reason.orValue("none") == "none"', {}, true],
  ])('%s with %j → %s', (source, data, matched) => {
    expect(when(source, data)).toEqual({ matched });
  });

  it('a missing field is "not matched" with the reason, not a failure', () => {
    const result = when('data.reason == "dnd"', {});
    expect(result).toEqual({ matched: false, missing: 'No such key: reason' });
  });

  it('comparing a number with a string does not match and says why', () => {
    const result = when('data.duration_seconds > 30', { duration_seconds: '124' });
    expect(result.matched).toBe(false);
    expect(result.missing).toBeUndefined();
    expect(result.error).toMatch(/no such overload/);
  });
});
