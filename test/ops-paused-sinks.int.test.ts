import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statusReport } from '../src/project/queries.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import type { FakeSlack } from './fakes/fake-slack.js';
import { useFakeSlack } from './helpers/fake-saas.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { deliveriesOf, entriesOf, fixture, ManualClock, postEvent, settle, startClockedRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Issue 14: a revoked Slack token killed all 18 pending deliveries overnight. Now the sink
 * pauses (README "When a rule fails at run time"): nothing goes dead, one `sink.paused`, an alert to the ops sink, and the
 * deliveries flow once it resumes: by `husky-relay resume`, by a reload with a new token, or by
 * a probe attempt 10 minutes later. The real Slack SDK against the fake Slack.
 */

const TOKEN = 'xoxb-sales-token';
const NEW_TOKEN = 'xoxb-sales-token-rotated';
const OPS_TOKEN = 'xoxb-ops-token';
const PENDING = 18;

const RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
  ops: { type: slack, token: "\${SLACK_OPS_TOKEN}" }
rules:
  - id: completed-to-slack
    on: call.completed
    actions:
      - { sink: slack, channel: "#sales", text: "{{ data.summary }}" }
  - id: ops-alerts
    on: [delivery.dead, "sink.*"]
    actions:
      - sink: ops
        channel: "#relay-ops"
        thread_key: "ops-{{ data.sink }}"
        text: "{{ event.event_type }} {{ data.sink }}: {{ data.reason }}"
`;

const fakes = useFakeSlack([TOKEN, OPS_TOKEN]);
let slack: FakeSlack;
let relay: TestRelay;
let clock: ManualClock;
let dir: string;
let cleanup: () => void;

beforeEach(async () => {
  slack = fakes.slack;
  clock = new ManualClock();
  ({ dir, cleanup } = tempDir());
  relay = await startClockedRelay({
    dir,
    rulesPath: writeRules(dir, RULES),
    env: { SLACK_BOT_TOKEN: TOKEN, SLACK_OPS_TOKEN: OPS_TOKEN },
    sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: 'http://127.0.0.1:9' },
    clock,
  });
});
afterEach(async () => {
  await relay.close();
  cleanup();
});

const inChannel = (channel: string) => slack.messages.filter((m) => m.channel === slack.channelId(channel));
const salesDeliveries = () => deliveriesOf(relay.log, { sink: 'slack' });
/** The CLI on the database serve is using (a child process: slow on a busy machine, hence the longer test timeouts). */
const cli = (...args: string[]) => runCli(['--db', relay.dbPath, '--rules', `${dir}/rules.yaml`, ...args], { cwd: dir, env: cliEnv(), timeoutMs: 30_000 });

/** The token is revoked, then 18 calls complete: every delivery waits, the sink pauses once, ops hears of it. */
async function revokedWith18Pending(): Promise<void> {
  slack.revoke(TOKEN);
  for (let i = 1; i <= PENDING; i++) await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: `evt_rev_${i}` }, { data: { ...e.data, summary: `call ${i}` } })));
  await until(() => salesDeliveries().length === PENDING && entriesOf(relay.log, 'sink.paused').length > 0, { what: '18 deliveries and a pause' });
  await until(() => inChannel('#relay-ops').length === 1, { what: 'the ops alert', describe: () => slack.messages });
  await settle();
}

describe('a Slack token revoked with 18 deliveries pending (README "When a rule fails at run time")', () => {
  it('pauses the sink: 0 dead, 1 sink.paused, an alert in #relay-ops, status PAUSED; `resume` then delivers all 18', async () => {
    // Given the token is revoked while 18 deliveries wait
    await revokedWith18Pending();

    // Then nothing is dead: every delivery waits as pending, and the refused attempts were not counted
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
    expect(salesDeliveries().map((d) => d.status)).toEqual(Array(PENDING).fill('pending'));
    const refused = entriesOf(relay.log, 'delivery.attempted').filter((e) => e.data.paused);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(4); // at most the attempts in flight when it paused (concurrency 4)
    expect(refused.every((e) => e.data.error?.code === 'token_revoked' && e.data.retry_at === null)).toBe(true);
    // exactly one sink.paused, with the reason
    expect(entriesOf(relay.log, 'sink.paused').map((e) => e.data)).toEqual([
      { sink: 'slack', reason: 'token_revoked: Slack answered ok:false, error "token_revoked"', code: 'token_revoked', delivery_id: refused[0]!.data.delivery_id },
    ]);
    // the alert reached the ops sink's channel
    expect(inChannel('#relay-ops').map((m) => m.text)).toEqual(['sink.paused slack: token_revoked: Slack answered ok:false, error "token_revoked"']);
    expect(inChannel('#sales')).toEqual([]);
    // and status says PAUSED with the reason, in JSON and for a person
    const status = statusReport(relay.log.db, null).sinks['slack']!;
    expect(status).toMatchObject({ paused: true, paused_reason: 'token_revoked: Slack answered ok:false, error "token_revoked"', pending: PENDING, dead: 0 });
    const human = await cli('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^slack\s+PAUSED: token_revoked: Slack answered ok:false, error "token_revoked"\s+18\s+0\s+0\s+0/m);
    expect(human.stdout).toContain('slack is paused since');
    const json = await cli('status', '--json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { sinks: Record<string, unknown> }).sinks['slack']).toMatchObject({
      paused: true,
      paused_reason: 'token_revoked: Slack answered ok:false, error "token_revoked"',
      paused_at: entriesOf(relay.log, 'sink.paused')[0]!.at,
      pending: PENDING,
      dead: 0,
    });
    // and /metrics says so (README "Paused sinks"): the pause with its code, the refused attempts as outcome="paused"
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('husky_relay_sink_paused{'))).toEqual(['husky_relay_sink_paused{sink="slack",code="token_revoked"} 1']);
    expect(metrics).toContain(`husky_relay_deliveries_total{sink="slack",outcome="paused"} ${refused.length}`);
    // no more attempts while paused (the next probe is 10 minutes away)
    const requests = slack.requests.length;
    clock.advance(60_000);
    relay.pipeline!.wake();
    await settle();
    expect(slack.requests.length).toBe(requests);

    // When the token works again and the operator resumes the sink from the CLI, while serve runs
    slack.restore(TOKEN);
    const resumed = await cli('resume', 'slack');

    // Then every delivery goes out, none dead, one sink.resumed, and ops hears of it in the same thread
    expect(resumed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^resumed: slack \(paused since .*token_revoked/) });
    await until(() => salesDeliveries().every((d) => d.status === 'succeeded'), { what: 'all 18 delivered', timeoutMs: 15_000 });
    expect(inChannel('#sales').map((m) => m.text).sort()).toEqual(Array.from({ length: PENDING }, (_, i) => `call ${i + 1}`).sort());
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
    expect(entriesOf(relay.log, 'sink.resumed').map((e) => e.data)).toEqual([{ sink: 'slack', reason: 'resumed by hand (husky-relay resume)', code: 'resume' }]);
    await until(() => inChannel('#relay-ops').length === 2, { what: 'the resume alert' });
    const [paused, back] = inChannel('#relay-ops');
    expect(back).toMatchObject({ text: 'sink.resumed slack: resumed by hand (husky-relay resume)', thread_ts: paused!.ts });
    expect(statusReport(relay.log.db, null).sinks['slack']).toMatchObject({ paused: false, paused_reason: null, succeeded: PENDING, dead: 0 });
    const after = (await (await fetch(`${relay.url}/metrics`)).text()).split('\n');
    expect(after.filter((l) => l.startsWith('husky_relay_sink_paused{') && !l.endsWith(' 0'))).toEqual([]);
    // and a rebuild from the log, beside the running serve, would change nothing
    expect((await verifyProjections(relay.log.db)).differences).toEqual([]);
  }, 60_000);

  it('the same with a reload that carries a new token: it resumes by itself, and all 18 go out with the new token', async () => {
    // Given
    await revokedWith18Pending();
    // When the token is rotated: the new one works, and the rules reload with it
    slack.restore(NEW_TOKEN);
    expect(await relay.pipeline!.reload('token rotated', { SLACK_BOT_TOKEN: NEW_TOKEN, SLACK_OPS_TOKEN: OPS_TOKEN })).toBe(true);
    // Then
    await until(() => salesDeliveries().every((d) => d.status === 'succeeded'), { what: 'all 18 delivered', timeoutMs: 15_000 });
    expect(inChannel('#sales')).toHaveLength(PENDING);
    const sent = slack.requests.filter((r) => r.path.endsWith('chat.postMessage') && String(r.body && (r.body as Record<string, unknown>)['channel']) === '#sales');
    expect(sent.filter((r) => r.headers.authorization === `Bearer ${NEW_TOKEN}`)).toHaveLength(PENDING);
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
    expect(entriesOf(relay.log, 'sink.paused')).toHaveLength(1);
    expect(entriesOf(relay.log, 'sink.resumed').map((e) => e.data)).toEqual([{ sink: 'slack', reason: 'a reload changed its credentials', code: 'reload' }]);
  });

  it('a reload that does not change the token leaves it paused', async () => {
    // Given
    await revokedWith18Pending();
    // When the rules reload with the same (revoked) token
    await relay.pipeline!.reload('same token', { SLACK_BOT_TOKEN: TOKEN, SLACK_OPS_TOKEN: OPS_TOKEN, UNRELATED: 'x' });
    await settle();
    // Then it stays paused
    expect(entriesOf(relay.log, 'sink.resumed')).toEqual([]);
    expect(statusReport(relay.log.db, null).sinks['slack']).toMatchObject({ paused: true, pending: PENDING });
  });

  it('resumes by itself when the probe attempt, 10 minutes later, succeeds', async () => {
    // Given
    await revokedWith18Pending();
    const before = slack.requests.length;
    // When the token works again (fixed in Slack) and 10 minutes pass
    slack.restore(TOKEN);
    clock.advance(9 * 60_000);
    relay.pipeline!.wake();
    await settle();
    expect(slack.requests.length).toBe(before); // not yet
    clock.advance(60_000);
    relay.pipeline!.wake();
    // Then one probe goes out, succeeds, and the sink resumes: everything is delivered
    await until(() => salesDeliveries().every((d) => d.status === 'succeeded'), { what: 'all 18 delivered', timeoutMs: 15_000 });
    expect(entriesOf(relay.log, 'sink.resumed').map((e) => e.data)).toEqual([
      { sink: 'slack', reason: expect.stringMatching(/^a probe attempt succeeded \(delivery dlv_/), code: 'probe' },
    ]);
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
  });

  it('a probe refused again is recorded, not counted, and the next one is 10 minutes later', async () => {
    // Given
    await revokedWith18Pending();
    const refused = () => entriesOf(relay.log, 'delivery.attempted').filter((e) => e.data.paused).length;
    const before = refused();
    // When 10 minutes pass and the token is still revoked
    clock.advance(10 * 60_000);
    relay.pipeline!.wake();
    await until(() => refused() === before + 1, { what: 'the probe to be refused' });
    await settle();
    // Then exactly one more refused attempt, still one sink.paused, nothing dead, all pending
    expect(refused()).toBe(before + 1);
    expect(entriesOf(relay.log, 'sink.paused')).toHaveLength(1);
    expect(salesDeliveries().map((d) => d.status)).toEqual(Array(PENDING).fill('pending'));
    // and the next probe comes 10 minutes after that one
    clock.advance(5 * 60_000);
    relay.pipeline!.wake();
    await settle();
    expect(refused()).toBe(before + 1);
    clock.advance(5 * 60_000);
    relay.pipeline!.wake();
    await until(() => refused() === before + 2, { what: 'the next probe' });
  });
});

describe('husky-relay resume: user errors', () => {
  it('a sink that is not paused, and a sink that does not exist, exit 1 saying which are paused', async () => {
    // Given a relay with no paused sink
    // When
    const notPaused = await cli('resume', 'slack');
    const unknown = await cli('resume', 'slak');
    // Then
    expect(notPaused).toMatchObject({ code: 1, stderr: 'husky-relay: resume: sink "slack" is not paused (paused: none)\n' });
    expect(unknown).toMatchObject({ code: 1, stderr: 'husky-relay: resume: no sink "slak" (did you mean "slack"?) (paused: none)\n' });
    expect(entriesOf(relay.log, 'sink.resumed')).toEqual([]);
  }, 60_000);
});
