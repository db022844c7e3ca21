import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { allHaveStatus, deliveriesOf, deliveryRow, EXAMPLE_RULES, fixture, ManualClock, postEvent, settle, until, writeRules } from './helpers/pipeline.js';
import { startRoutingRelay } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

const SLACK_TOKEN = 'xoxb-conversation-token';
const HUBSPOT_TOKEN = 'pat-conversation-token';
const CALL = 'call_987654321';

let slack: FakeSlack;
let hubspot: FakeHubspot;
let relay: TestRelay | undefined;
let clock: ManualClock;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  slack = await startFakeSlack({ token: SLACK_TOKEN });
  hubspot = await startFakeHubspot({ token: HUBSPOT_TOKEN });
});
afterAll(async () => {
  await slack.close();
  await hubspot.close();
});
beforeEach(() => {
  slack.reset();
  hubspot.reset();
  clock = new ManualClock();
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  cleanup();
});

async function start(rulesPath: string): Promise<TestRelay> {
  relay = await startRoutingRelay({
    rulesPath,
    dir,
    env: { SLACK_BOT_TOKEN: SLACK_TOKEN, HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN },
    sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: hubspot.url },
    clock,
  });
  return relay;
}

/** rules.example.yaml limits Slack to 1/s: let a second pass on the relay's clock at each look. */
function ticking(r: TestRelay) {
  return () => {
    clock.advance(1000);
    r.pipeline!.wake();
  };
}

const messagesIn = (channel: string) => slack.messages.filter((m) => m.channel === slack.channelId(channel));

describe('a call through rules.example.yaml', () => {
  it('initiated → answered → completed is one Slack thread, one live card edited in place, one HubSpot call on the contact', async () => {
    // Given the example rules and the contact in HubSpot
    const contactId = hubspot.seedContact({ email: 'dana@example.com', firstname: 'Dana' });
    const r = await start(EXAMPLE_RULES);
    // When the three events of the call arrive
    for (const type of ['call.initiated', 'call.answered', 'call.completed']) await postEvent(r, fixture(type));
    await until(() => allHaveStatus(r.log, 'succeeded', 10), {
      what: 'all 10 deliveries to succeed',
      onPoll: ticking(r),
      describe: () => deliveriesOf(r.log).map((d) => [d.rule_id, d.event_type, d.status, d.last_error]),
    });

    // Then #sales-calls has one thread: the first message, then replies in its thread
    const thread = messagesIn('#sales-calls');
    expect(thread.map((m) => m.text)).toEqual([
      ':telephone_receiver: *agent_alpha* is calling +14155550123',
      ':speaking_head_in_silhouette: Answered',
      ':white_check_mark: Finished after 2m 4s: Customer confirmed appointment.',
    ]);
    expect(thread[0]?.thread_ts).toBeUndefined();
    expect(thread.slice(1).map((m) => m.thread_ts)).toEqual([thread[0]?.ts, thread[0]?.ts]);
    // and #sales-live has one card, posted once and edited twice with chat.update
    const cards = messagesIn('#sales-live');
    expect(cards).toHaveLength(1);
    expect(cards[0]?.edits).toBe(2);
    expect(JSON.stringify(cards[0]?.blocks)).toContain('Status: *completed* · 2m 4s');
    expect(slack.requests.filter((q) => q.path === '/api/chat.update')).toHaveLength(2);
    expect(slack.requests.every((q) => q.headers.authorization === `Bearer ${SLACK_TOKEN}`)).toBe(true);

    // and HubSpot has one call, associated with Dana (call → contact, type 194)
    const calls = [...hubspot.objects.calls.values()];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.properties).toMatchObject({
      hs_call_title: 'HuskyVoice call by agent_alpha',
      hs_call_body: 'Customer confirmed appointment.',
    });
    expect(hubspot.associations).toEqual([
      { fromType: 'calls', fromId: calls[0]?.id, toId: contactId, associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 },
    ]);
    expect(hubspot.objects.notes.size).toBe(0); // 124 s is not a long call
  });

  it('all five event types of one call go to its thread in order, and the two that did not go through alert the team', async () => {
    // Given
    const r = await start(EXAMPLE_RULES);
    const sameCall = (e: Record<string, any>) => void (e.data.call_id = CALL);
    const types = ['call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed'];
    // When
    for (const type of types) await postEvent(r, fixture(type, sameCall));
    await until(() => deliveriesOf(r.log, { sink: 'slack' }).length === 12 && allHaveStatus(r.log, 'succeeded', 12, 'slack'), {
      what: 'the 12 Slack deliveries to succeed',
      onPoll: ticking(r),
    });
    // Then
    const thread = messagesIn('#sales-calls');
    expect(thread.map((m) => m.text)).toEqual([
      ':telephone_receiver: *agent_alpha* is calling +14155550123',
      ':speaking_head_in_silhouette: Answered',
      ':white_check_mark: Finished after 2m 4s: Customer confirmed appointment.',
      ':x: Failed (no_answer)',
      ':no_entry: Not placed (dnd)',
    ]);
    expect(new Set(thread.slice(1).map((m) => m.thread_ts))).toEqual(new Set([thread[0]?.ts]));
    const card = messagesIn('#sales-live');
    expect(card).toHaveLength(1);
    expect(card[0]?.edits).toBe(4);
    expect(JSON.stringify(card[0]?.blocks)).toContain('Status: *disallowed*');
    // `<!here>` written by the rule author stays a mention. The alert action has no thread_key,
    // so the two alerts have no order key and run concurrently (README "Order."): either may land first
    expect(messagesIn('#sales-alerts').map((m) => m.text).sort()).toEqual([
      "<!here> agent_alpha's call to +14155550199 did not go through (failed: no_answer)",
      "<!here> agent_beta's call to +14155550177 did not go through (disallowed: dnd)",
    ]);
  });
});

const THREAD_RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: call-thread
    on: call.*
    actions:
      - sink: slack
        channel: "#sales-calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ event.event_type }}: {{ data.summary | default: data.status }}"
`;

describe('order and escaping', () => {
  it('deliveries of one thread go out in log order, a later one waiting while an earlier one is retrying', async () => {
    // Given the first message of the thread meets a 503
    const r = await start(writeRules(dir, THREAD_RULES));
    slack.failNext({ status: 503 });
    // When the completed event is logged before the answered one
    const eventId = (type: string) => JSON.parse(fixture(type)).event_id as string;
    const [initiated, completed, answered] = [eventId('call.initiated'), eventId('call.completed'), eventId('call.answered')];
    for (const type of ['call.initiated', 'call.completed', 'call.answered']) await postEvent(r, fixture(type));
    const row = (eventId: string) => deliveriesOf(r.log).find((d) => d.event_id === eventId);
    await until(() => row(initiated)?.status === 'retrying', { what: 'the first delivery to be retrying' });

    // Then the first waits its backoff (10 s: initial_delay, no jitter), the later two do not overtake it
    expect(row(initiated)).toMatchObject({ attempts: 1, next_attempt_at: clock.iso(10_000), last_error: { kind: 'transient', code: 'http_503' } });
    await settle();
    expect(slack.requests).toHaveLength(1);
    expect([row(completed)?.status, row(answered)?.status]).toEqual(['pending', 'pending']);

    // When its time comes
    clock.advance(10_000);
    r.pipeline!.wake();
    await until(() => allHaveStatus(r.log, 'succeeded', 3), { what: 'the thread to be delivered' });
    // Then the thread reads in log order, completed before answered
    const thread = messagesIn('#sales-calls');
    expect(thread.map((m) => m.text)).toEqual(['call.initiated: initiated', 'call.completed: Customer confirmed appointment.', 'call.answered: answered']);
    expect(thread.slice(1).map((m) => m.thread_ts)).toEqual([thread[0]?.ts, thread[0]?.ts]);
    expect(deliveryRow(r.log, row(initiated)!.delivery_id)?.attempts).toBe(2);
  });

  it('event data cannot mention @channel or make links: it reaches Slack escaped', async () => {
    // Given
    const r = await start(writeRules(dir, THREAD_RULES));
    // When
    await postEvent(r, fixture('call.completed', (e) => void (e.data.summary = 'Hi <!channel> see <https://x|y> & more')));
    await until(() => allHaveStatus(r.log, 'succeeded', 1), { what: 'the message to be delivered' });
    // Then
    expect(slack.messages.map((m) => m.text)).toEqual(['call.completed: Hi &lt;!channel&gt; see &lt;https://x|y&gt; &amp; more']);
    expect(slack.requests[0]?.rawBody).not.toContain(encodeURIComponent('<!channel>'));
  });
});
