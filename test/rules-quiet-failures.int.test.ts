import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesCheck, type Output } from '../src/commands/rules.js';

function check(rules: string): Promise<{ code: number; stderr: string[]; stdout: string[] }> {
  const path = join(mkdtempSync(join(tmpdir(), 'husky-quiet-')), 'rules.yaml');
  writeFileSync(path, rules);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Output = { out: (l) => stdout.push(l), err: (l) => stderr.push(l.slice(path.length)) };
  return rulesCheck(path, {}, {}, io).then((code) => ({ code, stderr, stdout }));
}

const rule = (on: string, when: string, text = 'x') => `version: 1
sinks:
  console: { type: log }
rules:
  - id: r
    on: ${on}
    when: '${when}'
    actions: [{ sink: console, text: "${text}" }]
`;

describe('rules check warns about rules that would fail quietly', () => {
  it.each([
    ['call.completed', 'data.duration_secnds < 45', ':7:11: warning: data.duration_secnds is not a documented field of call.completed events (did you mean "duration_seconds"?)'],
    ['call.completed', 'data.duration_seconds < "45"', ':7:11: warning: data.duration_seconds is a number, compared (<) with the string "45": this fails on every event; write 45'],
    ['call.completed', '"45" >= data.duration_seconds', ':7:11: warning: data.duration_seconds is a number, compared (>=) with the string "45": this fails on every event; write 45'],
    ['call.failed', 'data.reason == 3', ':7:11: warning: data.reason is a string, compared (==) with the number 3: this fails on every event; write "3"'],
    ['call.completed', 'data.duration_seconds in ["45", "60"]', ':7:11: warning: data.duration_seconds is a number, compared (in) with the string "45": this fails on every event; write 45'],
    ['call.failed', 'has(data.reasn)', ':7:11: warning: data.reasn is not a documented field of call.failed events (did you mean "reason"?)'],
    ['call.initiated', 'data["sumary"] == "x"', ':7:11: warning: data.sumary is not a documented field of call.initiated events'],
    ['"call.*"', 'event.data.duraton_seconds > 3', ':7:11: warning: data.duraton_seconds is not a documented field of call.initiated, call.answered, call.completed, call.failed, call.disallowed events (did you mean "duration_seconds"?)'],
    ['call.completed', 'event.event_tpye == "x"', ':7:11: warning: event.event_tpye is not a field of the envelope (did you mean "event_type"?)'],
  ])('on %s, when %s', async (on, when, warning) => {
    const { code, stderr, stdout } = await check(rule(on, when));
    expect(stderr).toEqual([warning]);
    expect(code).toBe(0); // warnings: unknown fields are still forwarded
    expect(stdout[0]).toMatch(/: ok \(1 rule,/);
  });

  it.each([
    ['call.completed', 'data.duration_seconds < 45 && has(data.summary) && data.summary.contains("x")'],
    ['call.failed', 'data.reason == "dnd" && data.to_number.startsWith("+1")'],
    ['"partner.*"', 'data.anything == 1'], // a type the docs do not know: nothing to compare with
    ['call.completed', 'size(data.transcript) > 3 && [1, 2].exists(i, i > 1)'],
  ])('no warning for on %s, when %s', async (on, when) => {
    expect((await check(rule(on, when))).stderr.filter((l) => !l.includes('matches no known event type'))).toEqual([]);
  });

  it('templates reading an undocumented field are warned about, at the template', async () => {
    const { stderr } = await check(rule('call.completed', 'true', '{{ data.sumary }} {% for t in data.items %}{{ t.name }}{% endfor %} {{ data.summary }}'));
    expect(stderr).toEqual([
      ':8:38: warning: data.sumary is not a documented field of call.completed events (did you mean "summary"?)',
      ':8:38: warning: data.items is not a documented field of call.completed events',
    ]);
  });
});
