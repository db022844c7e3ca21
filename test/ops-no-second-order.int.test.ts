import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statusReport } from '../src/project/queries.js';
import { ROUTED_TYPES } from '../src/route/operator-events.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import type { FakeSlack } from './fakes/fake-slack.js';
import { useFakeSlack } from './helpers/fake-saas.js';
import { deliveriesOf, entriesOf, fixture, ManualClock, postEvent, routerCheckpoint, settle, startClockedRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Operator events are routed like HuskyVoice events (README "When a rule fails at run time"), but a delivery planned from one
 * raises none itself: an alert sink that fails (its alert dead, its credentials refused, its
 * work stale) never alerts about itself. And a rule that fails on an operator event is as loud
 * as one that fails on a call.
 */

const TOKEN = 'xoxb-sales';
const OPS_TOKEN = 'xoxb-ops';

const fakes = useFakeSlack([TOKEN, OPS_TOKEN]);
let slack: FakeSlack;
let opsHook: FakeHttp;
let relay: TestRelay;
let clock: ManualClock;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  opsHook = await startFakeHttp();
});
afterAll(() => opsHook.close());
beforeEach(() => {
  slack = fakes.slack;
  opsHook.reset();
  clock = new ManualClock();
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  await relay.close();
  cleanup();
});

async function start(opsSink: string, extraRules = ''): Promise<void> {
  relay = await startClockedRelay({
    dir,
    rulesPath: writeRules(
      dir,
      `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
  ops: ${opsSink}
  console: { type: log }
alerts:
  pending_after: 1m
rules:
  - id: completed-to-slack
    on: call.completed
    actions:
      - { sink: slack, channel: "{{ data.channel | default: '#sales' }}", text: "{{ data.summary }}" }
  - id: ops-alerts
    on: [delivery.dead, "sink.*", "pending.*"]
    actions:
      - sink: ops
${extraRules}`,
    ),
    env: { SLACK_BOT_TOKEN: TOKEN, SLACK_OPS_TOKEN: OPS_TOKEN },
    sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: 'http://127.0.0.1:9' },
    clock,
  });
}

/** A call whose Slack delivery goes dead at once (`channel_not_found`); its dead letter is the first operator event. */
async function deadLetter(): Promise<string> {
  slack.failNext({ slackError: 'channel_not_found' });
  await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: 'evt_dead_1' }, { data: { ...e.data, channel: '#nowhere' } })));
  await until(() => deliveriesOf(relay.log, { sink: 'slack' })[0]?.status === 'dead', { what: 'the dead letter' });
  return deliveriesOf(relay.log, { sink: 'slack' })[0]!.delivery_id;
}

const alerts = () => deliveriesOf(relay.log).filter((d) => d.rule_id === 'ops-alerts');

/** Waits until the router has passed every entry it routes (events and operator events), so what was not planned never will be. */
async function routedAll(): Promise<void> {
  const last = () => relay.log.read(0, { types: ROUTED_TYPES }).at(-1)?.seq ?? 0;
  await until(() => routerCheckpoint(relay.log) >= last(), { what: 'the router to pass every routable entry' });
  await settle();
}

describe('an alert sink that itself fails raises no second-order alert', () => {
  it('an alert that goes dead (the ops hook answers 404): its dead letter is recorded, not routed', async () => {
    // Given an ops hook that refuses everything
    await start(`{ type: http, url: "${opsHook.url}" }`, '        body: { alert: "{{ event.event_type }}", sink: "{{ data.sink }}", reason: "{{ data.reason }}" }\n');
    opsHook.failNext({ status: 404 }, { times: 100 });
    // When a call's delivery goes dead
    const dead = await deadLetter();
    await until(() => alerts()[0]?.status === 'dead', { what: 'the alert to go dead' });
    await routedAll();
    // Then one alert was planned and tried once; its own dead letter planned nothing
    expect(alerts()).toEqual([expect.objectContaining({ event_type: 'delivery.dead', sink: 'ops', status: 'dead', attempts: 1 })]);
    expect(opsHook.requests.map((r) => r.body)).toEqual([{ alert: 'delivery.dead', sink: 'slack', reason: 'channel_not_found: Slack answered ok:false, error "channel_not_found"' }]);
    expect(entriesOf(relay.log, 'delivery.dead').map((e) => e.data.delivery_id)).toEqual([dead, alerts()[0]!.delivery_id]);
  });

  it('an alert whose sink refuses its credentials: the ops sink pauses, goes stale, resumes by a probe, and nothing of it is routed', async () => {
    // Given the ops token is revoked
    await start(`{ type: slack, token: "\${SLACK_OPS_TOKEN}" }`, '        channel: "#relay-ops"\n        thread_key: "ops-{{ data.sink }}"\n        text: "{{ event.event_type }} {{ data.sink }}"\n');
    slack.revoke(OPS_TOKEN);
    // When a call's delivery goes dead, and its alert is refused
    await deadLetter();
    await until(() => entriesOf(relay.log, 'sink.paused').length === 1, { what: 'the ops sink to pause' });
    // and the alert waits past pending_after
    clock.advance(2 * 60_000);
    relay.pipeline!.wake();
    await until(() => entriesOf(relay.log, 'pending.stale').length === 1, { what: 'the ops sink to go stale' });
    // and the token works again: the probe, 10 minutes later, delivers the alert and resumes the sink
    slack.restore(OPS_TOKEN);
    clock.advance(10 * 60_000);
    relay.pipeline!.wake();
    await until(() => entriesOf(relay.log, 'pending.cleared').length === 1 && entriesOf(relay.log, 'sink.resumed').length === 1, { what: 'resumed and cleared' });
    await routedAll();
    // Then the ops sink's pause, staleness, resume and clearing were recorded…
    expect(entriesOf(relay.log, 'sink.paused').map((e) => e.data.sink)).toEqual(['ops']);
    expect(entriesOf(relay.log, 'pending.stale').map((e) => e.data.sink)).toEqual(['ops']);
    expect(entriesOf(relay.log, 'sink.resumed').map((e) => [e.data.sink, e.data.code])).toEqual([['ops', 'probe']]);
    // …but the only alert ever planned is the one about the call's dead letter, now delivered
    expect(alerts()).toEqual([expect.objectContaining({ event_type: 'delivery.dead', status: 'succeeded' })]);
    expect(slack.messages.filter((m) => m.channel === slack.channelId('#relay-ops')).map((m) => m.text)).toEqual(['delivery.dead slack']);
    expect(statusReport(relay.log.db, null).sinks['ops']).toMatchObject({ paused: false, stale_since: null, succeeded: 1 });
  });

  it('a call sink\'s own pause is alerted about: only an alert\'s own trouble is not', async () => {
    // Given the sales token is revoked: a call's delivery pauses the call sink
    await start(`{ type: slack, token: "\${SLACK_OPS_TOKEN}" }`, '        channel: "#relay-ops"\n        text: "{{ event.event_type }} {{ data.sink }}"\n');
    slack.revoke(TOKEN);
    await postEvent(relay, fixture('call.completed'));
    // Then the pause is routed to the ops sink
    await until(() => alerts()[0]?.status === 'succeeded', { what: 'the pause alert' });
    expect(alerts().map((a) => a.event_type)).toEqual(['sink.paused']);
  });
});

describe('what an alert rule sees of a dead letter (README "Operator events and alert rules")', () => {
  it('event = {event_type, created_at, data} with the dead delivery\'s id, rule, sink, event, call and reason, looked up in the log; an http action without body sends it as it is', async () => {
    // Given an ops hook that takes the default body (the operator event as rules see it)
    await start(`{ type: http, url: "${opsHook.url}" }`);
    // When a call's delivery goes dead
    const dead = await deadLetter();
    await until(() => alerts()[0]?.status === 'succeeded', { what: 'the alert' });
    // Then the hook got the scope of §10: the entry's time, and the dead delivery's fields from its plan
    const entry = entriesOf(relay.log, 'delivery.dead')[0]!;
    expect(opsHook.requests.map((r) => r.body)).toEqual([
      {
        event_type: 'delivery.dead',
        created_at: entry.at,
        data: {
          delivery_id: dead,
          rule_id: 'completed-to-slack',
          sink: 'slack',
          event_id: 'evt_dead_1',
          call_id: 'call_987654321',
          reason: 'channel_not_found: Slack answered ok:false, error "channel_not_found"',
        },
      },
    ]);
  });
});

describe('a rule that fails on an operator event is never silent (README "When a rule fails at run time")', () => {
  it('a when that errors: nothing planned, a warning naming rule and event, counted; a template over its bounds: dead with the reason, and no alert about that', async () => {
    // Given two broken ops rules beside the working one
    await start(
      '{ type: log }',
      `        text: "{{ event.event_type }}"
  - id: noisy-when
    on: delivery.dead
    when: data.reason > 3
    actions: [{ sink: console, text: never }]
  - id: heavy-template
    on: delivery.dead
    actions: [{ sink: console, text: "{% for i in (1..1000000000) %}*{% endfor %}" }]
`,
    );
    // When a call's delivery goes dead
    await deadLetter();
    const deadSeq = entriesOf(relay.log, 'delivery.dead')[0]!.seq;
    await until(() => deliveriesOf(relay.log).some((d) => d.rule_id === 'heavy-template'), { what: 'the heavy template' });
    await routedAll();
    // Then the when error planned nothing, and was warned about naming rule and operator event, and counted
    expect(deliveriesOf(relay.log).filter((d) => d.rule_id === 'noisy-when')).toEqual([]);
    const warnings = relay.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 40 && typeof l.rule === 'string');
    expect(warnings.map((w) => [w.rule, w.event_id, w.seq])).toEqual([
      ['noisy-when', `op-${deadSeq}`, deadSeq],
      ['heavy-template', `op-${deadSeq}`, deadSeq],
    ]);
    expect(String(warnings[0]!.msg)).toBe(`rule "noisy-when" failed on event op-${deadSeq} (seq ${deadSeq})`);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toContain('husky_relay_rule_errors_total{rule="noisy-when"} 1');
    expect(metrics).toContain('husky_relay_rule_errors_total{rule="heavy-template"} 1');
    // and the template over its bounds planned a delivery that is dead with the reason; its dead letter raised nothing
    const heavy = deliveriesOf(relay.log).filter((d) => d.rule_id === 'heavy-template');
    expect(heavy).toEqual([expect.objectContaining({ status: 'dead', event_type: 'delivery.dead', event_id: `op-${deadSeq}` })]);
    expect(entriesOf(relay.log, 'delivery.dead').find((e) => e.data.delivery_id === heavy[0]!.delivery_id)?.data.reason).toMatch(/^render_failed: text: memory alloc limit exceeded/);
    expect(alerts()).toEqual([expect.objectContaining({ event_type: 'delivery.dead', status: 'succeeded' })]);
  });
});
