import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerRulesCommands, rulesCheck, rulesSchema, rulesTest, type Output } from '../src/commands/rules.js';

const EXAMPLE = new URL('../rules.example.yaml', import.meta.url).pathname;
const FIXTURE = (type: string) => new URL(`./fixtures/${type}.json`, import.meta.url).pathname;

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'husky-rules-')), name);
  writeFileSync(path, text);
  return path;
}

describe('rules check', () => {
  it('accepts the example file, printing the disabled sinks as warnings', async () => {
    const io = capture();
    expect(await rulesCheck(EXAMPLE, {}, {}, io)).toBe(0);
    expect(io.stderr).toEqual([
      `${EXAMPLE}:11:12: warning: sink "slack" is disabled: \${SLACK_BOT_TOKEN} is not set`,
      `${EXAMPLE}:15:19: warning: sink "hubspot" is disabled: \${HUBSPOT_ACCESS_TOKEN} is not set`,
    ]);
    expect(io.stdout).toEqual([`${EXAMPLE}: ok (6 rules, 3 sinks, 1 enabled)`]);
  });

  it('fails with --strict when a token is unset', async () => {
    const io = capture();
    expect(await rulesCheck(EXAMPLE, { SLACK_BOT_TOKEN: 'xoxb' }, { strict: true }, io)).toBe(1);
    expect(io.stderr).toEqual([
      `${EXAMPLE}:15:19: sink "hubspot" is disabled: \${HUBSPOT_ACCESS_TOKEN} is not set`,
      `${EXAMPLE}: 1 error`,
    ]);
  });

  it('exits 1 with FILE:LINE:COL for a broken file and for a missing one', async () => {
    const path = tempFile('rules.yaml', 'version: 1\nsinks: {}\nrules:\n  - id: a\n    on: call.failed\n    actions: [{ sink: slack }]\n');
    const io = capture();
    expect(await rulesCheck(path, {}, {}, io)).toBe(1);
    expect(io.stderr).toEqual([`${path}:6:23: unknown sink "slack"`, `${path}: 1 error`]);
    const missing = capture();
    expect(await rulesCheck('/nonexistent/rules.yaml', {}, {}, missing)).toBe(1);
    expect(missing.stderr[0]).toBe('/nonexistent/rules.yaml:1:1: cannot read rules file: file not found');
  });
});

describe('rules test', () => {
  const now = () => new Date('2026-06-01T12:00:00Z');

  it('shows matching rules with their rendered actions, then why the others did not match', async () => {
    const io = capture();
    expect(await rulesTest(EXAMPLE, FIXTURE('call.failed'), {}, io, now)).toBe(0);
    const out = io.stdout.join('\n');
    expect(io.stdout[0]).toBe('event evt_1004 (call.failed): 4 of 6 rules match');
    expect(out).toContain('✓ missed-call-alert');
    expect(out).toContain('"text": "<!here> agent_alpha\'s call to +14155550199 did not go through (failed: no_answer)"');
    expect(out).toContain('  action 0 → slack [slack] (disabled: ${SLACK_BOT_TOKEN} not set; would wait as pending)');
    expect(out).toContain('✓ console-trace');
    expect(out).toContain('"text": "call.failed call_555000111 by agent_alpha (seq 0)"');
    expect(io.stdout.slice(-2)).toEqual([
      '✗ completed-to-hubspot: call.failed does not match on: call.completed',
      '✗ long-call-note: call.failed does not match on: call.completed',
    ]);
  });

  it('prints each request as the exact JSON that would be sent', async () => {
    const io = capture();
    await rulesTest(EXAMPLE, FIXTURE('call.completed'), { SLACK_BOT_TOKEN: 'x', HUBSPOT_ACCESS_TOKEN: 'y' }, io, now);
    const out = io.stdout.join('\n');
    const start = out.indexOf('✓ completed-to-hubspot');
    const json = out.slice(out.indexOf('{', start), out.indexOf('\n  }', start) + 4);
    expect(JSON.parse(json)).toMatchObject({ create: 'call', properties: { hs_call_status: 'COMPLETED', hs_call_duration: '124000' } });
  });

  it('accepts an event.received line from `log --json`, keeping its seq', async () => {
    const body = readFileSync(FIXTURE('call.answered'), 'utf8');
    const entry = { seq: 41, type: 'event.received', at: '2026-06-01T09:58:13Z', data: { received_at: '2026-06-01T09:58:13Z', body } };
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify(entry)), {}, io, now)).toBe(0);
    expect(io.stdout.join('\n')).toContain('"text": "call.answered call_987654321 by agent_alpha (seq 41)"');
  });

  it('exits 1 when the file is not an envelope', async () => {
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', '{"event_id":"x"}'), {}, io, now)).toBe(1);
    expect(io.stderr.at(-1)).toMatch(/not a HuskyVoice envelope: event_type: /);
  });
});

describe('rules schema', () => {
  it('matches the committed rules.schema.json, so editors never see a stale schema', () => {
    const io = capture();
    rulesSchema(io);
    const committed = readFileSync(new URL('../rules.schema.json', import.meta.url), 'utf8');
    expect(`${io.stdout.join('\n')}\n`).toBe(committed);
  });

  it('describes sinks and actions for completion', () => {
    const schema = JSON.parse(readFileSync(new URL('../rules.schema.json', import.meta.url), 'utf8'));
    expect(Object.keys(schema.properties)).toEqual(['version', 'sinks', 'retry', 'rules']);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('registerRulesCommands', () => {
  it('adds rules check/test/schema to the program', () => {
    const program = new Command();
    const rules = registerRulesCommands(program, () => ({ rulesPath: EXAMPLE, env: {} }));
    expect(rules.commands.map((c) => c.name())).toEqual(['check', 'test', 'schema']);
  });
});
