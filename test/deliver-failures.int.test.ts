import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { deliveriesOf, deliveryRow, entriesOf, fixture, ManualClock, postEvent, settle, startRoutingRelay, statusOf, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

const SLACK_TOKEN = 'xoxb-failures-token';
const HUBSPOT_TOKEN = 'pat-failures-token';

/** Slack gives up after 3 counted failures, waiting 1 s, 2 s between them. */
const RULES = `version: 1
sinks:
  slack:
    type: slack
    token: \${SLACK_BOT_TOKEN}
    retry: { max_attempts: 3, initial_delay: 1s }
  hubspot:
    type: hubspot
    access_token: \${HUBSPOT_ACCESS_TOKEN}
rules:
  - id: completed-to-slack
    on: call.completed
    actions:
      - sink: slack
        channel: "{{ data.channel | default: '#sales' }}"
        text: "{{ data.summary }}"
  - id: answered-to-hubspot
    on: call.answered
    actions:
      - sink: hubspot
        create: call
        contact: { email: "{{ data.contact_email }}" }
        if_no_contact: fail
`;

let slack: FakeSlack;
let hubspot: FakeHubspot;
let relay: TestRelay;
let clock: ManualClock;
let dir: string;
let cleanup: () => void;
let n = 0;

beforeAll(async () => {
  slack = await startFakeSlack({ token: SLACK_TOKEN });
  hubspot = await startFakeHubspot({ token: HUBSPOT_TOKEN });
});
afterAll(async () => {
  await slack.close();
  await hubspot.close();
});
beforeEach(async () => {
  slack.reset();
  hubspot.reset();
  n = 0;
  clock = new ManualClock();
  ({ dir, cleanup } = tempDir());
  relay = await startRoutingRelay({
    dir,
    rulesPath: writeRules(dir, RULES),
    env: { SLACK_BOT_TOKEN: SLACK_TOKEN, HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN },
    sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: hubspot.url },
    clock,
  });
});
afterEach(async () => {
  await relay.close();
  cleanup();
});

/** Posts a call.completed (→ one Slack delivery) and returns the delivery id once planned. */
async function completed(data: Record<string, unknown> = {}): Promise<string> {
  n += 1;
  const body = fixture('call.completed', (e) => {
    e.event_id = `evt_fail_${n}`;
    Object.assign(e.data, { summary: `summary ${n}` }, data);
  });
  await postEvent(relay, body);
  let id: string | undefined;
  await until(() => (id = deliveriesOf(relay.log).find((d) => d.event_id === `evt_fail_${n}`)?.delivery_id) !== undefined, {
    what: 'the delivery to be planned',
  });
  return id!;
}

function moveOn(ms: number): void {
  clock.advance(ms);
  relay.pipeline!.wake();
}

const attemptsOf = (id: string) => entriesOf(relay.log, 'delivery.attempted').filter((e) => e.data.delivery_id === id).map((e) => e.data);

describe('rate limited (429 with Retry-After)', () => {
  it('is not counted toward max_attempts: four 429s in a row and the delivery still succeeds', async () => {
    // Given Slack answers 429, Retry-After 30 s, four times (max_attempts is 3)
    slack.failNext({ status: 429, retryAfter: 30 }, { times: 4 });
    const id = await completed();
    // When the relay waits out each Retry-After
    for (let i = 1; i <= 4; i++) {
      await until(() => slack.requests.length === i && deliveryRow(relay.log, id)?.attempts === i, { what: `429 number ${i} to be recorded` });
      // Then each time it waits exactly the Retry-After
      expect(deliveryRow(relay.log, id)).toMatchObject({ status: 'retrying', next_attempt_at: clock.iso(30_000), last_error: { kind: 'rate_limited', status: 429 } });
      moveOn(30_000);
    }
    await until(() => statusOf(relay.log, id) === 'succeeded', { what: 'the delivery to succeed' });
    // Then
    expect(attemptsOf(id).map((a) => a.error?.kind ?? a.outcome)).toEqual(['rate_limited', 'rate_limited', 'rate_limited', 'rate_limited', 'succeeded']);
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
    expect(slack.messages.map((m) => m.text)).toEqual(['summary 1']);
  });

  it('pauses the whole sink until Retry-After has passed, then everything flows', async () => {
    // Given one delivery got a 429 with Retry-After 30 s
    slack.failNext({ status: 429, retryAfter: 30 });
    const first = await completed();
    await until(() => statusOf(relay.log, first) === 'retrying', { what: 'the 429 to be recorded' });
    // When another delivery for the sink is planned meanwhile
    const second = await completed();
    await settle();
    // Then it waits too: nothing is sent to a sink that asked us to slow down
    expect(slack.requests).toHaveLength(1);
    expect(deliveryRow(relay.log, second)).toMatchObject({ status: 'pending', attempts: 0 });
    // When 29 s pass, still nothing
    moveOn(29_000);
    await settle();
    expect(slack.requests).toHaveLength(1);
    // When the 30 s are up
    moveOn(1000);
    await until(() => statusOf(relay.log, first) === 'succeeded' && statusOf(relay.log, second) === 'succeeded', { what: 'both to succeed' });
    expect(slack.messages.map((m) => m.text).sort()).toEqual(['summary 1', 'summary 2'].sort());
  });
});

describe('transient failures (5xx)', () => {
  it('retry on the backoff schedule, showing next_attempt_at, then succeed', async () => {
    // Given
    slack.failNext({ status: 500 });
    slack.failNext({ status: 503 });
    const id = await completed();
    // When the first attempt meets a 500
    await until(() => deliveryRow(relay.log, id)?.attempts === 1, { what: 'the first attempt' });
    // Then it is retrying 1 s later (initial_delay of the sink, no jitter)
    expect(deliveryRow(relay.log, id)).toMatchObject({ status: 'retrying', next_attempt_at: clock.iso(1000), last_error: { kind: 'transient', code: 'http_500', status: 500 } });
    await settle();
    expect(slack.requests).toHaveLength(1);
    // When that time comes and the second attempt meets a 503
    moveOn(1000);
    await until(() => deliveryRow(relay.log, id)?.attempts === 2, { what: 'the second attempt' });
    // Then the wait doubles
    expect(deliveryRow(relay.log, id)).toMatchObject({ status: 'retrying', next_attempt_at: clock.iso(2000), last_error: { code: 'http_503' } });
    // When that time comes
    moveOn(2000);
    await until(() => statusOf(relay.log, id) === 'succeeded', { what: 'the delivery to succeed' });
    expect(deliveryRow(relay.log, id)).toMatchObject({ attempts: 3, next_attempt_at: null });
    expect(slack.messages).toHaveLength(1);
  });

  it('a 503 with Retry-After waits at least the Retry-After, not just the backoff', async () => {
    // Given Slack is down for maintenance and says when to come back (RFC 9110 §10.2.3)
    slack.failNext({ status: 503, retryAfter: 120 });
    const id = await completed();
    // When
    await until(() => deliveryRow(relay.log, id)?.attempts === 1, { what: 'the first attempt' });
    // Then the next attempt is not before then (README "Delivery": backoff never below a Retry-After)
    expect(deliveryRow(relay.log, id)).toMatchObject({ status: 'retrying', next_attempt_at: clock.iso(120_000) });
  });

  it('after max_attempts failures the delivery is dead; `retry ID` re-drives it while serve runs and it succeeds', async () => {
    // Given Slack fails three times, the sink's max_attempts
    slack.failNext({ status: 503 }, { times: 3 });
    const id = await completed();
    for (const wait of [1000, 2000]) {
      await until(() => deliveryRow(relay.log, id)?.next_attempt_at === clock.iso(wait), { what: `a retry in ${wait} ms` });
      moveOn(wait);
    }
    await until(() => statusOf(relay.log, id) === 'dead', { what: 'the delivery to be dead' });
    // Then
    expect(deliveryRow(relay.log, id)).toMatchObject({ attempts: 3, next_attempt_at: null, last_error: { code: 'http_503' } });
    expect(entriesOf(relay.log, 'delivery.dead').map((e) => e.data)).toEqual([
      { delivery_id: id, reason: 'gave up after 3 failed attempts; last: http_503: HTTP 503' },
    ]);
    moveOn(3_600_000);
    await settle();
    expect(slack.requests).toHaveLength(3); // dead means no more attempts

    // When the operator re-drives it with the CLI, on the database serve is using
    const cli = await runCli(['--db', relay.dbPath, 'retry', id], { cwd: dir, env: cliEnv() });
    // Then
    expect(cli).toMatchObject({ code: 0, stdout: 're-driven: 1 delivery\n' });
    await until(() => statusOf(relay.log, id) === 'succeeded', { what: 'the re-driven delivery to succeed', timeoutMs: 8000 });
    expect(deliveryRow(relay.log, id)?.attempts).toBe(4);
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data)).toEqual([{ delivery_id: id, reason: 're-driven by id' }]);
    expect(slack.messages.map((m) => m.text)).toEqual(['summary 1']);
  });
});

describe('permanent failures: dead at once, with the reason', () => {
  it('Slack channel_not_found', async () => {
    // Given
    slack.failNext({ slackError: 'channel_not_found' });
    // When
    const id = await completed({ channel: '#nowhere' });
    await until(() => statusOf(relay.log, id) === 'dead', { what: 'the delivery to be dead' });
    // Then: one attempt, no retry scheduled, and the CLI says why
    const cli = await runCli(['--db', relay.dbPath, 'deliveries', '--json', '--status', 'dead'], { cwd: dir, env: cliEnv() });
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual([
      expect.objectContaining({
        delivery_id: id,
        status: 'dead',
        attempts: 1,
        next_attempt_at: null,
        last_error: expect.objectContaining({ kind: 'permanent', code: 'channel_not_found', message: 'Slack answered ok:false, error "channel_not_found"' }),
      }),
    ]);
    expect(entriesOf(relay.log, 'delivery.dead').map((e) => e.data.reason)).toEqual(['channel_not_found: Slack answered ok:false, error "channel_not_found"']);
    moveOn(3_600_000);
    await settle();
    expect(slack.requests).toHaveLength(1);
  });

  it('HubSpot without a contact, with if_no_contact: fail', async () => {
    // Given nobody with that email in HubSpot
    hubspot.seedContact({ email: 'someone-else@example.com' });
    // When
    await postEvent(relay, fixture('call.answered', (e) => void (e.data.contact_email = 'nobody@example.com')));
    await until(() => deliveriesOf(relay.log, { sink: 'hubspot', status: 'dead' }).length === 1, { what: 'the HubSpot delivery to be dead' });
    // Then
    const [row] = deliveriesOf(relay.log, { sink: 'hubspot' });
    expect(row).toMatchObject({
      status: 'dead',
      attempts: 1,
      last_error: { kind: 'permanent', code: 'no_contact', message: 'HubSpot: no contact for email nobody@example.com' },
    });
    expect(entriesOf(relay.log, 'delivery.dead').map((e) => e.data.reason)).toEqual(['no_contact: HubSpot: no contact for email nobody@example.com']);
    expect(hubspot.objects.calls.size).toBe(0);
  });

  it('`retry --dead --sink slack` re-drives every dead Slack delivery and leaves the other sinks\' dead ones', async () => {
    // Given two dead Slack deliveries and a dead HubSpot one
    slack.failNext({ slackError: 'channel_not_found' }, { times: 2 });
    const first = await completed();
    const second = await completed();
    await postEvent(relay, fixture('call.answered', (e) => void (e.data.contact_email = 'nobody@example.com')));
    await until(() => deliveriesOf(relay.log, { status: 'dead' }).length === 3, { what: 'three dead deliveries' });
    // When the operator re-drives the dead ones of Slack only
    const cli = await runCli(['--db', relay.dbPath, 'retry', '--dead', '--sink', 'slack'], { cwd: dir, env: cliEnv() });
    // Then both Slack deliveries go again and succeed; HubSpot's stays dead
    expect(cli).toMatchObject({ code: 0, stdout: 're-driven: 2 deliveries\n' });
    await until(() => statusOf(relay.log, first) === 'succeeded' && statusOf(relay.log, second) === 'succeeded', {
      what: 'the re-driven Slack deliveries to succeed',
      timeoutMs: 8000,
    });
    expect(deliveriesOf(relay.log, { sink: 'hubspot' }).map((d) => d.status)).toEqual(['dead']);
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data)).toEqual([
      { delivery_id: expect.any(String), reason: 're-driven with --dead --sink slack' },
      { delivery_id: expect.any(String), reason: 're-driven with --dead --sink slack' },
    ]);
    expect(new Set(entriesOf(relay.log, 'delivery.retried').map((e) => e.data.delivery_id))).toEqual(new Set([first, second]));
  });
});
