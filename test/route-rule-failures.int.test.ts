import { afterEach, describe, expect, it } from 'vitest';
import { EntryRejectedError } from '../src/errors.js';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';

import { Router } from '../src/route/router.js';
import { backfill } from '../src/route/backfill.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { startFakeHttp } from './fakes/fake-http.js';
import { deliveriesOf, entriesOf, postEvent, routerCheckpoint, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { captureLogger, makeEvent, tempDir, type TestRelay, seamOf } from './helpers/relay.js';
import { DEFAULTS } from '../src/config/defaults.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function relayWith(rules: string): Promise<TestRelay> {
  const temp = tempDir();
  const relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, rules) });
  cleanups.push(() => relay.stop());
  return relay;
}

const rulesWith = (extra: string) => `version: 1
sinks:
  console: { type: log }
rules:
${extra}  - id: trace
    on: "*"
    actions: [{ sink: console, text: "{{ event.event_id }}" }]
`;

/** An event.received entry as the log held it before ingest refused deep nesting. */
function loggedEvent(envelopeJson: string, eventId: string): NewEntry {
  return {
    type: 'event.received',
    data: { event_id: eventId, event_type: 'call.completed', org_id: 'org', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:01Z', call_id: 'call_deep', body: envelopeJson },
  };
}

const deadReasons = (log: SqliteLog) => new Map(entriesOf(log, 'delivery.dead').map((e) => [e.data.delivery_id, e.data.reason]));
const metric = async (relay: TestRelay, rule: string) => {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`husky_relay_rule_errors_total{rule="${rule}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
};
const warnings = (relay: TestRelay) => relay.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 40);

describe('a rule that fails at run time is never silent (README "When a rule fails at run time")', () => {
  it('a render error plans the delivery dead with the reason, warns naming rule and event, and counts it', async () => {
    // Given
    const relay = await relayWith(rulesWith(`  - id: stars
    on: call.completed
    actions: [{ sink: console, text: "{% for i in (1..data.rating) %}*{% endfor %}" }]
`));
    // When an event asks for a billion stars, and a normal one follows
    const body = makeEvent({}, { rating: 1e9 });
    await postEvent(relay, body);
    await postEvent(relay, makeEvent({}, { rating: 3 }));
    await until(() => deliveriesOf(relay.log).length === 4, { what: 'four deliveries' });
    // Then the failing one is dead with the reason; the rest flow
    const eventId = JSON.parse(body).event_id as string;
    const rows = deliveriesOf(relay.log);
    const failed = rows.find((r) => r.event_id === eventId && r.rule_id === 'stars')!;
    expect(failed.status).toBe('dead');
    expect(deadReasons(relay.log).get(failed.delivery_id)).toMatch(/^render_failed: text: memory alloc limit exceeded/);
    await until(() => rows.filter((r) => r.delivery_id !== failed.delivery_id).every((r) => deliveriesOf(relay.log).find((x) => x.delivery_id === r.delivery_id)?.status === 'succeeded'), { what: 'the others to be delivered' });
    expect(warnings(relay).some((w) => w.rule === 'stars' && w.event_id === eventId && String(w.msg).includes('stars'))).toBe(true);
    expect(await metric(relay, 'stars')).toBe(1);
  });

  it('a when that errors on the values plans nothing, warns and counts; a missing field is only "not matched"', async () => {
    // Given
    const relay = await relayWith(rulesWith(`  - id: short
    on: call.completed
    when: data.duration_seconds < "45"
    actions: [{ sink: console, text: short }]
  - id: reasoned
    on: call.completed
    when: data.reason == "dnd"
    actions: [{ sink: console, text: dnd }]
`));
    // When
    const body = makeEvent({}, { duration_seconds: 30 });
    const seq = await postEvent(relay, body);
    await until(() => routerCheckpoint(relay.log) >= seq, { what: 'routing' });
    // Then only trace planned; the type error is a warning and a count, the missing field neither
    expect(deliveriesOf(relay.log).map((r) => r.rule_id)).toEqual(['trace']);
    const eventId = JSON.parse(body).event_id as string;
    const ruleWarnings = warnings(relay).filter((w) => typeof w.rule === 'string');
    expect(ruleWarnings.map((w) => [w.rule, w.event_id])).toEqual([['short', eventId]]);
    expect(String(ruleWarnings[0]!.reason)).toMatch(/no such overload/);
    expect(await metric(relay, 'short')).toBe(1);
    expect(await metric(relay, 'reasoned')).toBe(0);
  });

  it('a template over its time bound goes dead, and a webhook meanwhile is acknowledged within the bound', async () => {
    // Given the triple loop over 300 items (6 s of rendering without a bound)
    const relay = await relayWith(rulesWith(`  - id: cubic
    on: call.completed
    actions: [{ sink: console, text: "{% for a in data.items %}{% for b in data.items %}{% for c in data.items %}{% endfor %}{% endfor %}{% endfor %}" }]
`));
    const body = makeEvent({}, { items: Array.from({ length: 300 }, (_, i) => i) });
    // When it is planned while other webhooks arrive
    await postEvent(relay, body);
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await postEvent(relay, makeEvent({ event_type: 'call.initiated' }));
      latencies.push(performance.now() - started);
    }
    await until(() => deliveriesOf(relay.log).some((r) => r.rule_id === 'cubic' && r.status === 'dead'), { what: 'the cubic delivery to go dead' });
    // Then
    const dead = deliveriesOf(relay.log).find((r) => r.rule_id === 'cubic')!;
    expect(deadReasons(relay.log).get(dead.delivery_id)).toBe(`render_timeout: took longer than ${DEFAULTS.rules.evalTimeLimitMs} ms, ${DEFAULTS.rules.evalTimeAttempts} times`);
    // at most one step's budgets: the ack waits for the step running when it arrives
    expect(Math.max(...latencies)).toBeLessThan(DEFAULTS.rules.evalTimeLimitMs * (DEFAULTS.rules.evalTimeAttempts + 1));
  });

  it('CEL: matches cannot backtrack and a nested comprehension is stopped at the bound', async () => {
    // Given
    const relay = await relayWith(rulesWith(`  - id: regex
    on: call.completed
    when: data.summary.matches("(a+)+$")
    actions: [{ sink: console, text: regex }]
  - id: quadratic
    on: call.completed
    when: data.items.all(a, data.items.all(b, a + b >= 0.0))
    actions: [{ sink: console, text: quadratic }]
`));
    // When
    const started = performance.now();
    const body = makeEvent({}, { summary: `${'a'.repeat(5_000)}b`, items: Array.from({ length: 20_000 }, (_, i) => i) });
    await postEvent(relay, body);
    await until(() => deliveriesOf(relay.log).length === 1 && warnings(relay).some((w) => w.rule === 'quadratic'), { what: 'routing' });
    // Then the regex simply does not match (RE2, linear), the comprehension fails at the bound
    expect(deliveriesOf(relay.log).map((r) => r.rule_id)).toEqual(['trace']);
    expect(warnings(relay).filter((w) => typeof w.rule === 'string').map((w) => [w.rule, w.reason])).toEqual([
      ['quadratic', `when (data.items.all(a, data.items.all(b, a + b >= 0.0))) failed: took longer than ${DEFAULTS.rules.evalTimeLimitMs} ms, ${DEFAULTS.rules.evalTimeAttempts} times`],
    ]);
    expect(performance.now() - started).toBeLessThan(DEFAULTS.rules.evalTimeLimitMs * DEFAULTS.rules.evalTimeAttempts * 4);
  });

  it('CEL: matches over a long text is stopped at the bound, and the event behind it is routed at once', async () => {
    // Given a plausible pattern (RE2 does not backtrack, but runs in time text × pattern: this
    // one took 13 s on a 1 MB transcript, and the router waited for it)
    const relay = await relayWith(rulesWith(`  - id: digits
    on: call.completed
    when: data.transcript.matches("[a-z ]{0,200}[0-9]")
    actions: [{ sink: console, text: digits }]
`));
    const transcript = 'the customer said hello and we talked about things '.repeat(20_000).slice(0, 1_000_000);
    // When an event with a 1 MB transcript arrives, then an ordinary one
    const started = performance.now();
    await postEvent(relay, makeEvent({ event_id: 'evt_long' }, { transcript }));
    await postEvent(relay, makeEvent({ event_id: 'evt_behind' }));
    await until(() => deliveriesOf(relay.log).some((r) => r.event_id === 'evt_behind'), { what: 'the event behind to be planned', timeoutMs: 8000 });
    // Then the condition failed at the bound (a warning, counted), and the next event did not wait for it
    expect(performance.now() - started).toBeLessThan(DEFAULTS.rules.evalTimeLimitMs * DEFAULTS.rules.evalTimeAttempts * 12);
    expect(warnings(relay).filter((w) => w.rule === 'digits').map((w) => [w.event_id, w.reason])).toEqual([
      ['evt_long', `when (data.transcript.matches("[a-z ]{0,200}[0-9]")) failed: took longer than ${DEFAULTS.rules.evalTimeLimitMs} ms, ${DEFAULTS.rules.evalTimeAttempts} times`],
    ]);
    expect(await metric(relay, 'digits')).toBe(1);
    expect(deliveriesOf(relay.log).map((r) => `${r.event_id}/${r.rule_id}`).sort()).toEqual(['evt_behind/trace', 'evt_long/trace']);
  });
});

describe('re-driving a delivery that could not be planned', () => {
  it('fails again at once with the same reason and sends nothing', async () => {
    // Given a dead delivery whose template failed, to a receiver that records every request
    const receiver = await startFakeHttp();
    cleanups.push(() => receiver.close());
    const relay = await relayWith(`version: 1
sinks:
  web: { type: http, url: "${receiver.url}" }
rules:
  - id: stars
    on: call.completed
    actions: [{ sink: web, body: { stars: "{% for i in (1..data.rating) %}*{% endfor %}" } }]
`);
    await postEvent(relay, makeEvent({}, { rating: 1e9 }));
    await until(() => deliveriesOf(relay.log).some((r) => r.status === 'dead'), { what: 'the delivery to go dead' });
    const [dead] = deliveriesOf(relay.log);
    // When it is re-driven, as \`husky-relay retry\` does
    await GroupCommit.forPath(relay.dbPath)!.append([{ type: 'delivery.retried', data: { delivery_id: dead!.delivery_id, reason: 'operator' } }]);
    relay.pipeline!.wake();
    // Then it is attempted, fails permanently with its reason, and nothing reached the receiver
    await until(() => entriesOf(relay.log, 'delivery.dead').length === 2, { what: 'a second dead letter' });
    const attempt = entriesOf(relay.log, 'delivery.attempted')[0]!.data;
    expect(attempt.error).toMatchObject({ kind: 'permanent', code: 'render_failed' });
    expect(entriesOf(relay.log, 'delivery.dead').map((e) => e.data.reason)).toEqual([
      expect.stringMatching(/^render_failed: body\.stars: memory alloc limit exceeded/),
      expect.stringMatching(/^render_failed: body\.stars: memory alloc limit exceeded/),
    ]);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('poison pill: one event cannot stop the router', () => {
  it('an event logged 6,000 levels deep (before the ingest limit) is planned on an http sink with the default body as the text it came as (nothing to nest); the next is routed', async () => {
    // Given a log holding such an event, then a normal one
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const dbPath = `${temp.dir}/relay.db`;
    const log = new SqliteLog(dbPath);
    const deep = `{"event_id":"evt_deep","event_type":"call.completed","created_at":"2026-06-01T10:00:00Z","org_id":"org","data":{"call_id":"call_deep","agent_id":"a","status":"completed","x":${'['.repeat(6000)}${']'.repeat(6000)}}}`;
    log.append([loggedEvent(deep, 'evt_deep'), loggedEvent(makeEvent({ event_id: 'evt_next' }), 'evt_next')]);
    log.close();
    const rules = writeRules(temp.dir, `version: 1
sinks:
  audit: { type: http, url: "http://127.0.0.1:9/in" }
  console: { type: log }
rules:
  - id: audit
    on: "*"
    actions: [{ sink: audit }, { sink: console, text: "{{ data.x }}" }]
`);
    // When the relay starts on it
    const relay = await startRoutingRelay({ dir: temp.dir, dbPath, rulesPath: rules });
    cleanups.push(() => relay.close());
    await until(() => deliveriesOf(relay.log).length === 4, { what: 'four deliveries', describe: () => ({ d: deliveriesOf(relay.log), lines: relay.lines.slice(-5) }) });
    // Then the deep event's http plan holds its text as received (the original envelope, SPEC §6),
    // nothing of it goes dead, and both events are routed
    const plans = entriesOf(relay.log, 'delivery.planned');
    expect(plans.find((p) => p.data.event_id === 'evt_deep' && p.data.sink === 'audit')!.data.request).toEqual({ method: 'POST', headers: {}, body_text: deep });
    expect(entriesOf(relay.log, 'delivery.dead').filter((e) => e.data.reason.startsWith('request_too_deep'))).toEqual([]);
    expect(deliveriesOf(relay.log).filter((r) => r.event_id === 'evt_next').map((r) => r.status)).not.toContain('dead');
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect(routerCheckpoint(relay.log)).toBeGreaterThanOrEqual(2);
  });

  it('plans the log refuses (EntryRejectedError) are isolated: that event goes dead, the batch and the events behind it land', async () => {
    // Given a log with three events and a commit that refuses any entry mentioning "poison"
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const dbPath = `${temp.dir}/relay.db`;
    const log = new SqliteLog(dbPath);
    cleanups.push(() => log.close());
    const ids = ['evt_a', 'evt_poison', 'evt_c'];
    log.append(ids.map((id) => loggedEvent(makeEvent({ event_id: id }, { note: id }), id)));
    const real = new GroupCommit(dbPath);
    cleanups.push(() => real.close());
    const refusing = {
      append: (entries: NewEntry[], checkpoint?: { name: string; seq: number }) =>
        entries.some((e) => e.type === 'delivery.planned' && JSON.stringify(e.data.request).includes('poison'))
          ? Promise.reject(new EntryRejectedError('nested past the depth limit'))
          : real.append(entries, checkpoint),
    } as unknown as GroupCommit;
    const loaded = loadRulesFromText(rulesWith(''), 'rules.yaml', {});
    if (!loaded.ok) throw new Error('rules');
    const { logger } = captureLogger();
    // When the router routes them
    const router = new Router(seamOf(log).reader, refusing, () => loaded.rules, logger);
    router.wake();
    await until(() => routerCheckpoint(log) >= 3, { what: 'the checkpoint to pass all three' });
    await router.stop();
    // Then
    const plans = entriesOf(log, 'delivery.planned').map((e) => [e.data.event_id, e.data.request]);
    expect(plans.map(([id]) => id)).toEqual(ids);
    expect(plans[1]![1]).toEqual({ not_planned: { code: 'entry_rejected', message: 'the log refused the planned request: nested past the depth limit' } });
    expect(entriesOf(log, 'delivery.dead').map((e) => e.data.reason)).toEqual(['entry_rejected: the log refused the planned request: nested past the depth limit']);
  });
});

describe('replay (backfill) isolates plans the log refuses', () => {
  it('that event\'s delivery goes dead with entry_rejected; the others are planned', async () => {
    // Given a log that refuses any plan mentioning "poison" (as GroupCommit and Log refuse entries they cannot write)
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    class RefusingLog extends SqliteLog {
      override append(entries: NewEntry[], checkpoint?: { name: string; seq: number }) {
        if (entries.some((e) => e.type === 'delivery.planned' && JSON.stringify(e.data.request).includes('poison'))) {
          throw new EntryRejectedError('nested past the depth limit');
        }
        return super.append(entries, checkpoint);
      }
    }
    const log = new RefusingLog(`${temp.dir}/relay.db`);
    cleanups.push(() => log.close());
    const ids = ['evt_a', 'evt_poison', 'evt_c'];
    log.append(ids.map((id) => loggedEvent(makeEvent({ event_id: id }, { note: id }), id)));
    const loaded = loadRulesFromText(rulesWith(''), 'rules.yaml', {});
    if (!loaded.ok) throw new Error('rules');
    // When
    const result = await backfill(seamOf(log), loaded.rules);
    // Then
    expect(result.planned).toBe(3);
    expect(entriesOf(log, 'delivery.planned').map((e) => e.data.event_id)).toEqual(ids);
    expect(deliveriesOf(log).map((d) => `${d.event_id}: ${d.status}`)).toEqual(['evt_a: pending', 'evt_poison: dead', 'evt_c: pending']);
    expect(entriesOf(log, 'delivery.dead').map((e) => e.data.reason)).toEqual(['entry_rejected: the log refused the planned request: nested past the depth limit']);
  });
});
