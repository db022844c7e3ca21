import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { deliveryId } from '../src/route/delivery-id.js';
import { entriesOf, fixture, postEvent, routerCheckpoint, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/** Three plans per event: two on the console, one on a Slack thread (disabled: no token). */
const RULES_V1 = `version: 1
sinks:
  console: { type: log }
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: trace
    on: "*"
    actions:
      - sink: console
        text: "{{ event.event_type }}"
  - id: thread
    on: call.*
    actions:
      - sink: slack
        channel: "#calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ event.event_type }} by {{ data.agent_id }}"
      - sink: console
        text: second action
`;

const RULES_V2 = `version: 1
sinks:
  console: { type: log }
rules:
  - id: trace-v2
    on: "*"
    actions:
      - sink: console
        text: "v2 {{ event.event_type }}"
`;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function relayWith(rulesYaml: string | null, dir?: string): Promise<TestRelay & { rulesPath: string }> {
  const temp = dir ? { dir, cleanup: () => {} } : tempDir();
  const rulesPath = writeRules(temp.dir, rulesYaml ?? RULES_V1);
  const relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rulesYaml === null ? undefined : rulesPath });
  cleanups.push(async () => {
    await relay.close();
    temp.cleanup();
  });
  return Object.assign(relay, { rulesPath });
}

/** Waits until the router has routed every event in the log. */
async function routed(log: SqliteLog): Promise<void> {
  await until(() => {
    const events = entriesOf(log, 'event.received');
    return events.length > 0 && routerCheckpoint(log) === events[events.length - 1]!.seq;
  }, { what: 'the router to reach the last event', describe: () => ({ checkpoint: routerCheckpoint(log), last: log.lastSeq() }) });
}

describe('router: events become delivery.planned entries', () => {
  it('plans one delivery per matching action, with deterministic ids, order keys and the rules hash', async () => {
    // Given
    const relay = await relayWith(RULES_V1);
    const bodies = [
      makeEvent({ event_type: 'call.initiated' }, { call_id: 'call_A' }),
      makeEvent({ event_type: 'call.completed' }, { call_id: 'call_A' }),
      makeEvent({ event_type: 'something.else' }, { call_id: 'call_B' }),
    ];
    // When
    const seqs: number[] = [];
    for (const body of bodies) seqs.push(await postEvent(relay, body));
    await routed(relay.log);
    // Then
    const hash = sha256(relay.rulesPath);
    const plans = entriesOf(relay.log, 'delivery.planned').map((e) => ({ seq: e.seq, ...e.data }));
    const expected = bodies.flatMap((body, i) => {
      const { event_id, event_type, data } = JSON.parse(body) as { event_id: string; event_type: string; data: { call_id: string } };
      const plan = (rule_id: string, action_index: number, sink: string, order_key: string | null) => ({
        delivery_id: deliveryId({ kind: 'call', event_id }, rule_id, action_index),
        event_id,
        event_seq: seqs[i],
        event_type,
        call_id: data.call_id,
        rule_id,
        action_index,
        sink,
        order_key,
        rules_hash: hash,
      });
      return event_type.startsWith('call.')
        ? [plan('trace', 0, 'console', null), plan('thread', 0, 'slack', data.call_id), plan('thread', 1, 'console', null)]
        : [plan('trace', 0, 'console', null)];
    });
    expect(plans.map(({ seq: _s, request: _r, ...rest }) => rest)).toEqual(expected);
    // the rendered action is in the plan, exactly as it will be sent
    expect(plans[1]?.request).toEqual({ channel: '#calls', thread_key: 'call_A', text: 'call.initiated by agent_alpha' });
    // a plan follows its event in the log, and the checkpoint is at the last event
    for (const p of plans) expect(p.seq).toBeGreaterThan(p.event_seq);
    expect(routerCheckpoint(relay.log)).toBe(seqs[2]);
    // and the rules that planned them are on record
    // with each sink's state in the relay that loaded them (the Slack sink has no token)
    const sinks = { console: { enabled: true }, slack: { enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' } };
    expect(entriesOf(relay.log, 'rules.loaded').map((e) => e.data)).toEqual([{ rules_hash: hash, path: relay.rulesPath, sinks }]);
  });

  it('a delivery id depends only on (event_id, rule_id, action_index)', () => {
    const id = (event_id: string, rule: string, index: number) => deliveryId({ kind: 'call', event_id }, rule, index);
    expect(id('evt_1', 'r', 0)).toBe(id('evt_1', 'r', 0));
    expect(new Set([id('evt_1', 'r', 0), id('evt_1', 'r', 1), id('evt_1', 's', 0), id('evt_2', 'r', 0)]).size).toBe(4);
    expect(id('evt_1', 'r', 0)).toMatch(/^dlv_[A-Za-z0-9_-]{22}$/);
  });

  it('the ids every log already holds stay as they were: a HuskyVoice event, an alert (values the relay wrote before op- ids had their own namespace)', () => {
    // re-keying them would make `replay` plan every past delivery again
    expect(deliveryId({ kind: 'call', event_id: 'evt_1' }, 'r', 0)).toBe('dlv_O9SVWBqNG87oXwNQPt7rrs');
    expect(deliveryId({ kind: 'call', event_id: 'evt_1' }, 'r', 0, 'g1')).toBe('dlv_O9SVWBqNG87oXwNQPt7rrs_g1');
    expect(deliveryId({ kind: 'operator', seq: 5 }, 'ops', 0)).toBe('dlv_8Yh-yrN5zIKbRTrKsU3j-W');
  });

  it('no sender-chosen id meets another source: a HuskyVoice event "op-5" is not the alert of entry 5, a call id with ":" is not another call', () => {
    expect(deliveryId({ kind: 'call', event_id: 'op-5' }, 'ops', 0)).not.toBe(deliveryId({ kind: 'operator', seq: 5 }, 'ops', 0));
    expect(deliveryId({ kind: 'erase', call_id: 'a:b', event_id: 'c' }, 'erase', 0)).not.toBe(deliveryId({ kind: 'erase', call_id: 'a', event_id: 'b:c' }, 'erase', 0));
    expect(deliveryId({ kind: 'call', event_id: 'a:b' }, 'erase', 0)).not.toBe(deliveryId({ kind: 'erase', call_id: 'a', event_id: 'b' }, 'erase', 0));
  });
});

describe('router: crash safety (plans and checkpoint in one transaction)', () => {
  it('after stops in the middle of routing and events logged while nothing routed, every event is planned exactly once', async () => {
    // Given a relay that is stopped while a burst of events is still being routed
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const first = await relayWith(RULES_V1, temp.dir);
    const burst = Array.from({ length: 30 }, (_, i) => makeEvent({ event_type: 'call.answered' }, { call_id: `call_${i}` }));
    await Promise.all(burst.map((body) => postEvent(first, body)));
    await first.close();

    // Then at that moment: exactly the events up to the checkpoint have their plans, no other
    const log = new SqliteLog(first.dbPath);
    const checkpoint = routerCheckpoint(log);
    const plannedEvents = new Set(entriesOf(log, 'delivery.planned').map((p) => p.data.event_id));
    for (const e of entriesOf(log, 'event.received')) expect(plannedEvents.has(e.data.event_id)).toBe(e.seq <= checkpoint);
    log.close();

    // When more events arrive while the relay runs without rules (nothing routes them)
    const receiverOnly = await relayWith(null, temp.dir);
    for (let i = 0; i < 5; i++) await postEvent(receiverOnly, makeEvent({ event_type: 'call.failed' }, { call_id: `late_${i}` }));
    await receiverOnly.close();
    // and the relay restarts with its rules
    const again = await relayWith(RULES_V1, temp.dir);
    await routed(again.log);

    // Then no event was skipped and none planned twice
    const plans = entriesOf(again.log, 'delivery.planned');
    const events = entriesOf(again.log, 'event.received');
    expect(events).toHaveLength(35);
    expect(plans).toHaveLength(35 * 3);
    expect(new Set(plans.map((p) => p.data.delivery_id)).size).toBe(35 * 3);
    const perEvent = new Map<string, number>();
    for (const p of plans) perEvent.set(p.data.event_id, (perEvent.get(p.data.event_id) ?? 0) + 1);
    expect(events.every((e) => perEvent.get(e.data.event_id) === 3)).toBe(true);
  });
});

describe('router: rules reload', () => {
  it('on SIGHUP the new rules apply to events after the reload, and rules.loaded records the new hash', async () => {
    // Given an event routed by the first rules
    const relay = await relayWith(RULES_V1);
    const before = makeEvent({ event_type: 'call.initiated' });
    await postEvent(relay, before);
    await routed(relay.log);
    const oldHash = sha256(relay.rulesPath);

    // When the file changes and the relay is told to reload
    writeFileSync(relay.rulesPath, RULES_V2);
    const newHash = sha256(relay.rulesPath);
    expect(await relay.pipeline!.reload('SIGHUP')).toBe(true);
    const after = makeEvent({ event_type: 'call.initiated' });
    await postEvent(relay, after);
    await routed(relay.log);

    // Then
    await until(() => entriesOf(relay.log, 'rules.loaded').length === 2, { what: 'a second rules.loaded' });
    expect(entriesOf(relay.log, 'rules.loaded').map((e) => e.data.rules_hash)).toEqual([oldHash, newHash]);
    const plans = entriesOf(relay.log, 'delivery.planned').map((p) => p.data);
    const of = (body: string) => plans.filter((p) => p.event_id === JSON.parse(body).event_id).map((p) => [p.rule_id, p.rules_hash]);
    expect(of(before)).toEqual([['trace', oldHash], ['thread', oldHash], ['thread', oldHash]]);
    expect(of(after)).toEqual([['trace-v2', newHash]]);
  });

  it('while events keep arriving, each event is planned once, wholly by one version of the rules', async () => {
    // Given
    const relay = await relayWith(RULES_V1);
    const batch = (n: number, tag: string) => Array.from({ length: n }, (_, i) => makeEvent({ event_type: 'call.answered' }, { call_id: `${tag}_${i}` }));
    const early = batch(15, 'early');
    const late = batch(15, 'late');
    // When a reload lands in the middle of a stream of events
    const inFlight = early.map((body) => postEvent(relay, body));
    writeFileSync(relay.rulesPath, RULES_V2);
    await relay.pipeline!.reload('SIGHUP');
    await Promise.all([...inFlight, ...late.map((body) => postEvent(relay, body))]);
    await routed(relay.log);
    // Then
    const [v1, v2] = entriesOf(relay.log, 'rules.loaded').map((e) => e.data.rules_hash);
    const plans = entriesOf(relay.log, 'delivery.planned').map((p) => p.data);
    const byEvent = new Map<string, { rule_id: string; rules_hash: string }[]>();
    for (const p of plans) byEvent.set(p.event_id, [...(byEvent.get(p.event_id) ?? []), p]);
    expect(byEvent.size).toBe(30);
    for (const ps of byEvent.values()) {
      const shape = ps.map((p) => `${p.rule_id}@${p.rules_hash === v1 ? 'v1' : p.rules_hash === v2 ? 'v2' : '?'}`);
      expect([['trace@v1', 'thread@v1', 'thread@v1'], ['trace-v2@v2']]).toContainEqual(shape);
    }
    // events that arrived after the reload returned are routed by the new rules
    for (const body of late) expect(byEvent.get(JSON.parse(body).event_id)?.map((p) => p.rule_id)).toEqual(['trace-v2']);
  });

  it('notices a changed file by itself', async () => {
    // Given
    const relay = await relayWith(RULES_V1);
    // When the operator saves a new version
    writeFileSync(relay.rulesPath, RULES_V2);
    const newHash = sha256(relay.rulesPath);
    // Then it takes effect without a signal
    await until(() => entriesOf(relay.log, 'rules.loaded').some((e) => e.data.rules_hash === newHash), { what: 'the watcher to reload the rules' });
    const body = makeEvent({ event_type: 'call.failed' });
    await postEvent(relay, body);
    await routed(relay.log);
    expect(entriesOf(relay.log, 'delivery.planned').map((p) => [p.data.rule_id, p.data.rules_hash])).toEqual([['trace-v2', newHash]]);
  });

  it('an invalid new file is reported and the old rules keep routing', async () => {
    // Given
    const relay = await relayWith(RULES_V1);
    const oldHash = sha256(relay.rulesPath);
    // When the file is replaced by one naming an unknown sink
    writeFileSync(relay.rulesPath, RULES_V2.replace('- sink: console', '- sink: consol'));
    expect(await relay.pipeline!.reload('SIGHUP')).toBe(false);
    const body = makeEvent({ event_type: 'call.completed' });
    await postEvent(relay, body);
    await routed(relay.log);
    // Then the event is planned by the rules still in force
    expect(entriesOf(relay.log, 'delivery.planned').map((p) => [p.data.rule_id, p.data.rules_hash])).toEqual([
      ['trace', oldHash],
      ['thread', oldHash],
      ['thread', oldHash],
    ]);
    expect(entriesOf(relay.log, 'rules.loaded').map((e) => e.data.rules_hash)).toEqual([oldHash]);
    // and the operator is told where the problem is and that nothing changed
    const messages = relay.lines.map((l) => String((JSON.parse(l) as { msg?: unknown }).msg));
    expect(messages.some((m) => m.includes('previous rules stay in force'))).toBe(true);
    expect(messages.some((m) => /rules\.yaml:\d+:\d+: unknown sink "consol" \(did you mean "console"\?\)/.test(m))).toBe(true);
  });
});

describe('readiness and rules', () => {
  it('/readyz says 503 while no rules are loaded, and events are still received and logged', async () => {
    // Given a relay whose rules file does not load
    const temp = tempDir();
    const rules = writeRules(temp.dir, 'version: 1\nsinks: {}\nrules:\n  - id: r\n    on: call.completed\n    actions: [{ sink: nowhere }]\n');
    const relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rules });
    try {
      // When /readyz is asked and an event arrives
      const ready = await fetch(`${relay.url}/readyz`);
      const body = (await ready.json()) as { ok: boolean; reasons: string[] };
      const seq = await postEvent(relay, fixture('call.completed'));
      // Then the relay is not ready, says why, and the log still takes the event (the log comes first)
      expect(ready.status).toBe(503);
      expect(body.reasons.join(' ')).toContain('rules not loaded');
      expect(relay.log.read(seq - 1)[0]?.type).toBe('event.received');
    } finally {
      await relay.stop();
      temp.cleanup();
    }
  });
});
