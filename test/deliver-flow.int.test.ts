import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { statusReport } from '../src/project/queries.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { allHaveStatus, deliveriesOf, entriesOf, fixture, ManualClock, postEvent, settle, startRoutingRelay, until, writeRules, type RoutingRelayOptions } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';
import { startGatedReceiver, type GatedReceiver } from './helpers/gated-receiver.js';
import { startSlowReceiver, type SlowReceiver } from './helpers/slow-receiver.js';

const SLACK_TOKEN = 'xoxb-flow-token';

let slack: FakeSlack;
let dir: string;
let cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  slack = await startFakeSlack({ token: SLACK_TOKEN });
});
afterAll(() => slack.close());
beforeEach(() => {
  slack.reset();
  const temp = tempDir();
  dir = temp.dir;
  cleanups = [temp.cleanup];
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function start(rules: string, options: RoutingRelayOptions = {}): Promise<TestRelay> {
  const relay = await startRoutingRelay({ dir, rulesPath: writeRules(dir, rules), sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: 'http://127.0.0.1:9' }, ...options });
  cleanups.push(() => relay.close());
  return relay;
}

const httpRules = (url: string, extra: string) => `version: 1
sinks:
  hook:
    type: http
    url: ${url}
${extra}
rules:
  - id: all
    on: "*"
    actions:
      - sink: hook
`;

describe('a sink whose token is not set', () => {
  const RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: call-thread
    on: call.*
    actions:
      - sink: slack
        channel: "#sales-calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ event.event_type }}"
`;

  it('keeps its deliveries pending, says so in status, and lets them flow once the token is set and rules reload', async () => {
    // Given no SLACK_BOT_TOKEN in the environment
    const env: Record<string, string | undefined> = {};
    const relay = await start(RULES, { env });
    // When two events of a call arrive
    await postEvent(relay, fixture('call.initiated'));
    await postEvent(relay, fixture('call.answered'));
    await until(() => deliveriesOf(relay.log).length === 2, { what: 'two plans' });
    await settle();
    // Then nothing is sent and they wait
    expect(slack.requests).toEqual([]);
    expect(deliveriesOf(relay.log).map((d) => [d.status, d.attempts])).toEqual([['pending', 0], ['pending', 0]]);
    expect(statusReport(relay.log.db, relay.pipeline!.rules).sinks['slack']).toMatchObject({
      enabled: false,
      disabled_reason: '${SLACK_BOT_TOKEN} not set',
      pending: 2,
    });
    // and `status` tells the operator which variable to set
    const cli = await runCli(['--db', relay.dbPath, '--rules', relay.pipeline!.rulesPath, 'status'], { cwd: dir, env: cliEnv(), timeoutMs: 60_000 });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/slack\s+disabled: \$\{SLACK_BOT_TOKEN\} not set\s+2\s+0\s+0\s+0/);

    // When the token is set and the rules are reloaded (SIGHUP)
    env['SLACK_BOT_TOKEN'] = SLACK_TOKEN;
    expect(await relay.pipeline!.reload('SIGHUP', env)).toBe(true);
    // Then the waiting deliveries go out, in order, as one thread
    await until(() => allHaveStatus(relay.log, 'succeeded', 2), { what: 'the waiting deliveries to succeed' });
    expect(slack.messages.map((m) => [m.text, m.thread_ts])).toEqual([
      ['call.initiated', undefined],
      ['call.answered', slack.messages[0]?.ts],
    ]);
    expect(statusReport(relay.log.db, relay.pipeline!.rules).sinks['slack']).toMatchObject({ enabled: true, disabled_reason: null, succeeded: 2 });
  }, 60_000); // it runs the CLI's `status` in a child process: under a loaded machine that alone took past 20 s
});

describe('per-sink concurrency and rate limit', () => {
  let receiver: SlowReceiver | undefined;
  let fake: FakeHttp | undefined;
  let gated: GatedReceiver | undefined;
  afterEach(async () => {
    gated?.release();
    await receiver?.close();
    await fake?.close();
    await gated?.close();
    receiver = fake = gated = undefined;
  });

  it('never has more than `concurrency` requests open at a sink', async () => {
    // Given a slow receiver and a sink with concurrency 2
    receiver = await startSlowReceiver({ delayMs: 60 });
    const relay = await start(httpRules(receiver.url, '    concurrency: 2'));
    // When six deliveries without an order key are due at once
    await Promise.all(Array.from({ length: 6 }, (_, i) => postEvent(relay, makeEvent({}, { call_id: `c${i}` }))));
    await until(() => allHaveStatus(relay.log, 'succeeded', 6), { what: 'six deliveries to succeed' });
    // Then two at a time, never more
    expect(receiver.received).toHaveLength(6);
    expect(receiver.maxInFlight()).toBe(2);
  });

  it('with no `concurrency`, a sink has 4 attempts open at once, and the 5th starts only when one ends (SPEC §7)', async () => {
    // Given a receiver that holds every request open, and a sink that does not say its concurrency
    gated = await startGatedReceiver();
    gated.hold();
    const relay = await start(httpRules(gated.url, ''), { shutdownGraceMs: 100 });
    // When six deliveries without an order key are due at once
    await Promise.all(Array.from({ length: 6 }, (_, i) => postEvent(relay, makeEvent({}, { call_id: `c${i}` }))));
    await until(() => deliveriesOf(relay.log).length === 6 && gated!.waiting() === 4, { what: 'four requests open', describe: () => gated!.received });
    await settle();
    // Then four are open at the receiver, and no more
    expect(gated.received).toHaveLength(4);
    // When one is answered, the fifth starts, and four are open again
    expect(gated.answerOne()).toBe(true);
    await until(() => gated!.received.length === 5, { what: 'the fifth request' });
    await settle();
    expect(gated.received).toHaveLength(5);
    expect(gated.waiting()).toBe(4);
    // And when the relay stops meanwhile, four attempts were open (aborted after the grace, to be
    // tried again), one succeeded, and the sixth was never started: none waited on a socket
    await relay.close();
    const log = new SqliteLog(relay.dbPath);
    try {
      const rows = deliveriesOf(log);
      const count = (status: string, attempts: number) => rows.filter((d) => d.status === status && d.attempts === attempts).length;
      expect([count('succeeded', 1), count('retrying', 1), count('pending', 0)]).toEqual([1, 4, 1]);
      expect(rows.filter((d) => d.status === 'retrying').map((d) => d.last_error?.code)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    } finally {
      log.close();
    }
  });

  it('a rules reload while an attempt is in flight keeps the sink flowing at its concurrency', async () => {
    // Given a slow receiver behind a sink with concurrency 1, and an attempt in flight
    receiver = await startSlowReceiver({ delayMs: 150 });
    const rules = httpRules(receiver.url, '    concurrency: 1');
    const relay = await start(rules);
    await postEvent(relay, makeEvent({}, { call_id: 'c0' }));
    await until(() => receiver!.received.length === 1, { what: 'the first request to be in flight' });
    // When the rules file changes meanwhile (a new hash: sinks are built again)
    writeRules(dir, `${rules}# edited\n`);
    await relay.pipeline!.reload('SIGHUP');
    for (let i = 1; i < 4; i++) await postEvent(relay, makeEvent({}, { call_id: `c${i}` }));
    // Then every delivery still goes out, one at a time
    await until(() => allHaveStatus(relay.log, 'succeeded', 4), { what: 'four deliveries to succeed after the reload' });
    expect(receiver.maxInFlight()).toBe(1);
  });

  it('spaces requests by rate_limit.per_second on the relay clock', async () => {
    // Given one request a second, no burst, and a clock the test moves
    fake = await startFakeHttp();
    const clock = new ManualClock();
    const relay = await start(httpRules(fake.url, '    rate_limit: { per_second: 1, burst: 1 }'), { clock });
    const t0 = clock.now() / 1000;
    // When three deliveries are due at once
    for (let i = 0; i < 3; i++) await postEvent(relay, makeEvent({}, { call_id: `c${i}` }));
    await until(() => fake!.requests.length === 1, { what: 'the first request' });
    await settle();
    // Then one goes now, and the next only when a second has passed
    expect(fake.requests).toHaveLength(1);
    clock.advance(999);
    relay.pipeline!.wake();
    await settle();
    expect(fake.requests).toHaveLength(1);
    clock.advance(1);
    relay.pipeline!.wake();
    await until(() => fake!.requests.length === 2, { what: 'the second request' });
    clock.advance(1000);
    relay.pipeline!.wake();
    await until(() => allHaveStatus(relay.log, 'succeeded', 3), { what: 'all three to succeed' });
    expect(fake.requests.map((q) => Number(q.headers['webhook-timestamp']) - t0)).toEqual([0, 1, 2]);
  });
});

describe('the HTTP sink without a `body`: the original envelope (SPEC §6)', () => {
  const SECRET = 'whsec_ZGVmYXVsdC1ib2R5LWRlZmF1bHQtYm9keS1kZWZhdWx0';
  /** An independent Standard Webhooks check, as the receiver would make it. */
  const signed = (headers: Record<string, string>, body: string) =>
    (headers['webhook-signature'] ?? '').split(' ').includes(`v1,${createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64')).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64')}`);
  let fake: FakeHttp | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('is sent byte for byte as HuskyVoice sent it: big integers, 1.50, key order, escapes and the trailing newline kept, and signed over those bytes', async () => {
    // Given an HTTP sink with no body in its action
    fake = await startFakeHttp();
    const relay = await start(httpRules(fake.url, `    secret: ${SECRET}`));
    // When events whose text JSON.parse/JSON.stringify would change arrive
    const texts = [
      `{"event_id":"evt_big","event_type":"call.completed","org_id":"org","created_at":"2026-06-01T10:00:00Z","data":{"call_id":"c1","agent_id":"a","status":"completed","n":12345678901234567890,"price":1.50,"e":1E3}}\n`,
      `{ "data": {"call_id": "c2", "agent_id": "a", "status": "completed", "note": "caf\\u00e9 \\/ \\"q\\""},\n  "event_type": "call.completed", "event_id": "evt_order", "org_id": "org", "created_at": "2026-06-01T10:00:00Z" }`,
    ];
    for (const text of texts) await postEvent(relay, text);
    await until(() => allHaveStatus(relay.log, 'succeeded', 2), { what: 'both deliveries to succeed' });
    // Then the receiver got exactly those bytes, and the signature covers them
    expect(fake.requests.map((r) => r.rawBody).sort()).toEqual([...texts].sort());
    for (const r of fake.requests) expect(signed(r.headers, r.rawBody)).toBe(true);
  });

  it('an operator event, which has no bytes of its own, is sent as its JSON', async () => {
    // Given a rule on dead letters that forwards them with no body
    fake = await startFakeHttp();
    const relay = await start(`version: 1
sinks:
  hook: { type: http, url: ${fake.url} }
  broken: { type: http, url: "http://127.0.0.1:9/nothing" }
retry: { max_attempts: 1 }
rules:
  - id: all
    on: call.*
    actions: [{ sink: broken }]
  - id: alerts
    on: delivery.dead
    actions: [{ sink: hook }]
`);
    // When a delivery goes dead
    await postEvent(relay, makeEvent({ event_id: 'evt_dead' }, { call_id: 'c_dead' }));
    await until(() => fake!.requests.length === 1, { what: 'the dead letter to be forwarded' });
    // Then the receiver gets the operator event as JSON
    expect(fake.requests[0]!.body).toMatchObject({ event_type: 'delivery.dead', data: { sink: 'broken', rule_id: 'all' } });
  });
});

describe('shutdown', () => {
  let receiver: SlowReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('lets an attempt in flight finish and records it, and starts nothing new', async () => {
    // Given a receiver that answers after 300 ms, and two deliveries one at a time
    receiver = await startSlowReceiver({ delayMs: 300 });
    const relay = await start(httpRules(receiver.url, '    concurrency: 1'));
    await postEvent(relay, makeEvent({}, { call_id: 'first' }));
    await postEvent(relay, makeEvent({}, { call_id: 'second' }));
    await until(() => receiver!.received.length === 1, { what: 'one request to be in flight' });
    // When the relay is told to stop while the receiver still holds the request
    await relay.close();
    // Then the attempt finished and is in the log; the other delivery was not started. Which of
    // the two went out is not promised: they have no order key (README "Order.")
    expect(receiver.answered).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    const log = new SqliteLog(relay.dbPath);
    try {
      const rows = deliveriesOf(log);
      expect(rows).toHaveLength(2);
      const sent = rows.find((d) => d.delivery_id === receiver!.received[0]);
      expect(sent).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(rows.filter((d) => d !== sent).map((d) => [d.status, d.attempts])).toEqual([['pending', 0]]);
      expect(entriesOf(log, 'delivery.attempted').map((e) => e.data.delivery_id)).toEqual([receiver.received[0]]);
    } finally {
      log.close();
    }
  });

  it('after the grace period aborts the attempt and records it as a transient failure, to be tried again', async () => {
    // Given a receiver slower than the shutdown grace
    receiver = await startSlowReceiver({ delayMs: 3000 });
    const relay = await start(httpRules(receiver.url, ''), { shutdownGraceMs: 100 });
    await postEvent(relay, makeEvent());
    await until(() => receiver!.received.length === 1, { what: 'the request to be in flight' });
    // When
    await relay.close();
    // Then
    const log = new SqliteLog(relay.dbPath);
    try {
      expect(deliveriesOf(log)).toEqual([expect.objectContaining({ status: 'retrying', attempts: 1, last_error: expect.objectContaining({ kind: 'transient', code: 'aborted' }) })]);
    } finally {
      log.close();
    }
  });
});
