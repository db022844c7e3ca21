import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerRulesCommands, rulesCheck, rulesSchema, rulesTest, type Output } from '../src/commands/rules.js';

const EXAMPLE = new URL('../rules.example.yaml', import.meta.url).pathname;
const FIXTURE = (type: string) => new URL(`./fixtures/${type}.json`, import.meta.url).pathname;
const OPERATOR = (type: string) => new URL(`../examples/operator-events/${type}.json`, import.meta.url).pathname;

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
      `${EXAMPLE}:22:12: warning: sink "slack-ops" is disabled: \${SLACK_OPS_TOKEN} is not set`,
    ]);
    expect(io.stdout).toEqual([`${EXAMPLE}: ok (7 rules, 4 sinks, 1 enabled)`]);
  });

  it('fails with --strict when a token is unset', async () => {
    const io = capture();
    expect(await rulesCheck(EXAMPLE, { SLACK_BOT_TOKEN: 'xoxb', SLACK_OPS_TOKEN: 'xoxb-ops' }, { strict: true }, io)).toBe(1);
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
    expect(io.stdout[0]).toBe('event evt_1004 (call.failed): 4 of 7 rules match');
    expect(out).toContain('✓ missed-call-alert');
    expect(out).toContain('"text": "<!here> agent_alpha\'s call to +14155550199 did not go through (failed: no_answer)"');
    expect(out).toContain('  action 0 → slack [slack] (disabled: ${SLACK_BOT_TOKEN} not set; would wait as pending)');
    expect(out).toContain('✓ console-trace');
    expect(out).toContain('"text": "call.failed call_555000111 by agent_alpha (seq 0)"');
    expect(io.stdout.slice(-3)).toEqual([
      '✗ completed-to-hubspot: call.failed does not match on: call.completed',
      '✗ long-call-note: call.failed does not match on: call.completed',
      '✗ ops-alerts: call.failed does not match on: delivery.dead, sink.*, pending.*',
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

  it('says an erased event\'s payload is gone, not that its body is not JSON (a `log --json` line after `erase --call`)', async () => {
    const entry = { seq: 41, type: 'event.received', at: '2026-06-01T09:58:13Z', data: { event_id: 'evt_1', received_at: '2026-06-01T09:58:13Z', body: '[erased]' } };
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify(entry)), {}, io, now)).toBe(1);
    expect(io.stderr.join('\n')).toContain("event evt_1 (call ?) is [erased]: its body was erased with its call's personal data, so there is nothing to test");
    expect(io.stderr.join('\n')).not.toContain('not JSON');
  });

  it('accepts an operator event (README "When a rule fails at run time") and shows what the ops rule would plan; "*" does not match it', async () => {
    // Given a dead letter's scope, as the relay routes it
    const dead = OPERATOR('delivery.dead');
    const io = capture();
    // When
    expect(await rulesTest(EXAMPLE, dead, { SLACK_OPS_TOKEN: 'xoxb-ops' }, io, now)).toBe(0);
    // Then only ops-alerts matches, posting to #relay-ops in the dead sink's thread
    const out = io.stdout.join('\n');
    expect(io.stdout[0]).toBe('operator event delivery.dead (seq 0): 1 of 7 rules match');
    expect(out).toContain('  action 0 → slack-ops [slack]\n  delivery dlv_');
    expect(out).toContain('order key ops-slack');
    const json = JSON.parse(out.slice(out.indexOf('{'), out.indexOf('\n  }') + 4));
    expect(json).toEqual({
      channel: '#relay-ops',
      thread_key: 'ops-slack',
      text: ':skull: Dead letter on *slack* (rule call-thread, call call_7f3a9c): channel_not_found: Slack answered ok:false, error "channel_not_found". Re-drive it with `husky-relay retry dlv_Jq3v9kq2bWm7Xc0pL1aZ4e`',
    });
    expect(io.stdout).toContain('✗ console-trace: delivery.dead is an operator event: on: * does not name it');
    expect(io.stdout).toContain('✗ call-thread: delivery.dead does not match on: call.*');
  });

  it("an erasure's dead letter: says the relay plans nothing for it (no alert, no re-drive to suggest), whatever matches", async () => {
    const entry = { seq: 12, type: 'delivery.dead', at: '2026-06-01T10:05:00.000Z', data: { delivery_id: 'dlv_1', reason: "erased: the call's personal data was erased" } };
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify(entry)), { SLACK_OPS_TOKEN: 'xoxb-ops' }, io, now)).toBe(0);
    expect(io.stdout.slice(0, 2)).toEqual([
      'operator event delivery.dead (seq 12): 1 of 7 rules match',
      'note: a dead letter an erasure closed raises no alert: the relay plans nothing for it, whatever matches below',
    ]);
    // another dead letter gets no such note
    const other = capture();
    await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify({ ...entry, data: { ...entry.data, reason: 'http_404: HTTP 404' } })), {}, other, now);
    expect(other.stdout.filter((line) => line.startsWith('note:'))).toEqual([]);
  });

  it('accepts a sink.paused line of `log --json`, keeping its seq and time', async () => {
    const entry = { seq: 77, type: 'sink.paused', at: '2026-06-01T10:05:00.000Z', data: { sink: 'hubspot', reason: 'unauthorized: HTTP 401', code: 'unauthorized', delivery_id: 'dlv_1' } };
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify(entry)), {}, io, now)).toBe(0);
    expect(io.stdout[0]).toBe('operator event sink.paused (seq 77): 1 of 7 rules match');
    expect(io.stdout.join('\n')).toContain('"text": ":double_vertical_bar: *hubspot* is paused: unauthorized: HTTP 401. Its deliveries wait: fix the credentials and reload, or `husky-relay resume hubspot`"');
    expect(io.stdout.join('\n')).toContain('order key ops-hubspot');
  });

  it('an operator event without data, or with a created_at that is not a date, exits 1 saying so', async () => {
    for (const [text, message] of [
      ['{"event_type":"sink.paused"}', /sink\.paused\) needs "data", an object of its fields/],
      ['{"event_type":"pending.stale","created_at":"yesterday","data":{}}', /created_at: expected an RFC 3339 date-time/],
      ['{"seq":3,"type":"pending.cleared","at":12,"data":{}}', /at: expected an RFC 3339 date-time/],
    ] as const) {
      const io = capture();
      expect(await rulesTest(EXAMPLE, tempFile('e.json', text), {}, io, now)).toBe(1);
      expect(io.stderr.at(-1)).toMatch(message);
    }
  });

  it('an operator event of a type there is none of, or a log line of another entry, exits 1 naming the operator events', async () => {
    const kinds = 'rules test takes a HuskyVoice event, an event.received log line, or one of delivery.dead, sink.paused, sink.resumed, pending.stale, pending.cleared';
    for (const [text, message] of [
      ['{"event_type":"pending.stal","data":{"sink":"slack"}}', `"pending.stal" is not an operator event (did you mean "pending.stale"?); ${kinds}`],
      ['{"event_type":"Sink.Paused","data":{}}', `"Sink.Paused" is not an operator event (did you mean "sink.paused"?); ${kinds}`],
      ['{"seq":5,"type":"delivery.planned","at":"2026-06-01T10:00:00Z","data":{}}', `a log line of a "delivery.planned" entry is not an operator event; ${kinds}`],
    ] as const) {
      const io = capture();
      expect(await rulesTest(EXAMPLE, tempFile('e.json', text), {}, io, now)).toBe(1);
      expect(io.stderr.at(-1)).toMatch(/^\/.*e\.json: /);
      expect(io.stderr.at(-1)).toContain(`e.json: ${message}`);
    }
  });

  it('an event.received line of an erased call (`log --json` after `erase`) exits 1 saying it is [erased], not that it is not JSON', async () => {
    const entry = { seq: 1, type: 'event.received', at: '2026-06-01T09:58:13Z', data: { event_id: 'e1', call_id: 'call1', received_at: '2026-06-01T09:58:13Z', body: '[erased]' } };
    const io = capture();
    expect(await rulesTest(EXAMPLE, tempFile('e.json', JSON.stringify(entry)), {}, io, now)).toBe(1);
    expect(io.stderr.at(-1)).toMatch(/e\.json: event e1 \(call call1\) is \[erased\]: its body was erased/);
    expect(io.stdout).toEqual([]);
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
    expect(Object.keys(schema.properties)).toEqual(['version', 'sinks', 'retry', 'alerts', 'rules']);
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
