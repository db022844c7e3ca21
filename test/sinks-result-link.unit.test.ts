import { describe, expect, it } from 'vitest';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';
import { resultHref } from '../src/sinks/kind.js';
import { sinkKind } from '../src/sinks/registry.js';

/** What the console links a delivery's result to (README "Console"): the kind's `resultLink`, filled from the result. */
const rulesWith = (sink: string) =>
  loadRulesFromText(`version: 1\nsinks:\n  crm: ${sink}\nrules:\n  - { id: r, on: call.completed, actions: [{ sink: crm, create: note, contact: { email: a@b.c } }] }\n`, 'rules.yaml', {});

describe('a HubSpot sink\'s link to the contact', () => {
  it('is HubSpot\'s record URL of the contact when the sink has portal_id (app.hubspot.com unless app_url says)', () => {
    const loaded = rulesWith('{ type: hubspot, access_token: "pat-0123456789", portal_id: "4711" }');
    if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    const link = sinkKind('hubspot').resultLink!(loaded.rules.sinks['crm']!.config)!;
    expect(resultHref(link, { object_type: 'call', object_id: '9', contact_id: '501' })).toBe('https://app.hubspot.com/contacts/4711/record/0-1/501');
  });

  it('is none without portal_id', () => {
    const loaded = rulesWith('{ type: hubspot, access_token: "pat-0123456789" }');
    if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    expect(sinkKind('hubspot').resultLink!(loaded.rules.sinks['crm']!.config)).toBeNull();
  });

  it.each([
    ['a portal_id that is not digits', '{ type: hubspot, access_token: "pat-0123456789", portal_id: "my-portal" }', /rules\.yaml:3:\d+: .*portal_id.*a HubSpot account ID is digits/],
    ['an app_url that is not http(s)', '{ type: hubspot, access_token: "pat-0123456789", portal_id: 1, app_url: "javascript:alert(1)" }', /rules\.yaml:3:\d+: .*app_url/],
  ])('refuses %s at its place in the file', (_what, sink, message) => {
    const loaded = rulesWith(sink);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.problems.map(formatProblem).join('\n')).toMatch(message);
  });
});

describe('a Slack sink\'s link to the message', () => {
  const link = sinkKind('slack').resultLink!({ type: 'slack', token: 'xoxb-1' } as never)!;
  it('is Slack\'s permalink: the channel, and the ts with its dot dropped', () => {
    expect(link.label).toBe('Slack message');
    expect(resultHref(link, { channel: 'C0123ABC', ts: '1700000000.000100' })).toBe('https://slack.com/archives/C0123ABC/p1700000000000100');
  });
  it('is none for a result without a ts (a delivery that posted nothing)', () => {
    expect(resultHref(link, { channel: 'C0123ABC' })).toBeNull();
  });
});

describe('resultHref', () => {
  const link = { label: 'x', href: 'https://example.com/{a}/{b}' };
  it('fills each placeholder from the result', () => {
    expect(resultHref(link, { a: 'A1', b: 'b.2_-' })).toBe('https://example.com/A1/b.2_-');
  });
  it('keeps only the digits of a {field:digits} placeholder', () => {
    expect(resultHref({ label: 'x', href: 'https://example.com/{a}/p{b:digits}' }, { a: 'A1', b: '12.034' })).toBe('https://example.com/A1/p12034');
  });
  it.each([
    ['a field missing', { a: 'A1' }],
    ['a field that is not a string', { a: 'A1', b: 7 }],
    ['a value that would change where the link goes', { a: '../../evil', b: 'x' }],
    ['a value with a query', { a: 'A1', b: 'x?y=1' }],
    ['an empty value', { a: '', b: 'x' }],
  ])('gives no link for %s', (_what, result) => {
    expect(resultHref(link, result)).toBeNull();
  });
});
