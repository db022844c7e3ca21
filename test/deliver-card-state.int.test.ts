import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { useFakeSaas } from './helpers/fake-saas.js';
import { deliveriesOf, entriesOf, fixture, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Issue 12 items 4 and 5: a live card and an upserted HubSpot call show the call's own
 * progress whatever order its events arrive in, and a card, thread or object deleted on the
 * other side is started afresh, the key following the new one.
 */

const SLACK_TOKEN = 'xoxb-card-state-token';
const HUBSPOT_TOKEN = 'pat-card-state-token';

const RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
  hubspot: { type: hubspot, access_token: "\${HUBSPOT_ACCESS_TOKEN}" }
rules:
  - id: card
    on: call.*
    actions:
      - sink: slack
        channel: "#sales-live"
        thread_key: "live-{{ data.call_id }}"
        replace: true
        text: "{{ data.call_id }}: {{ data.status }}"
  - id: thread
    on: call.*
    actions:
      - sink: slack
        channel: "#sales-calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ data.call_id }}: {{ event.event_type }}"
  - id: crm
    on: call.*
    actions:
      - sink: hubspot
        create: call
        contact: { email: "{{ data.contact_email }}" }
        if_no_contact: skip
        upsert_key: "{{ data.call_id }}"
`;

const fakes = useFakeSaas({ slack: SLACK_TOKEN, hubspot: HUBSPOT_TOKEN });
let relay: TestRelay;
let cleanup: () => void;
let n = 0;

beforeEach(async () => {
  fakes.hubspot.seedContact({ email: 'dana@example.com' });
  const temp = tempDir();
  cleanup = temp.cleanup;
  relay = await startRoutingRelay({
    dir: temp.dir,
    rulesPath: writeRules(temp.dir, RULES),
    env: { SLACK_BOT_TOKEN: SLACK_TOKEN, HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN },
    sinkEnv: { slackApiUrl: fakes.slack.url, hubspotBaseUrl: fakes.hubspot.url },
  });
});
afterEach(async () => {
  await relay.close();
  cleanup();
});

/** Posts one event of the call and waits until its three deliveries are done. */
async function step(type: string, callId: string, status = type.slice('call.'.length)): Promise<void> {
  n += 1;
  const base = ['call.initiated', 'call.answered', 'call.completed'].includes(type) ? type : 'call.answered';
  const eventId = `evt_card_${n}`;
  await postEvent(relay, fixture(base, (e) => Object.assign(e, { event_id: eventId, event_type: type }) && Object.assign(e.data, { call_id: callId, status })));
  const mine = () => deliveriesOf(relay.log).filter((d) => d.event_id === eventId);
  await until(() => mine().length === 3 && mine().every((d) => d.status === 'succeeded'), {
    what: `the deliveries of ${type} for ${callId}`,
    describe: () => mine().map((d) => [d.rule_id, d.event_type, d.status, d.last_error]),
  });
}

const cardOf = (callId: string) => fakes.slack.messages.find((m) => m.channel === fakes.slack.channelId('#sales-live') && m.text?.startsWith(`${callId}:`));
const threadOf = (callId: string) => fakes.slack.messages.filter((m) => m.channel === fakes.slack.channelId('#sales-calls') && m.text?.startsWith(`${callId}:`));
const resultsOf = (rule: string) => entriesOf(relay.log, 'delivery.attempted').filter((e) => deliveriesOf(relay.log).some((d) => d.delivery_id === e.data.delivery_id && d.rule_id === rule)).map((e) => e.data.result);

describe('a late earlier event does not take the card or the CRM call back', () => {
  it('initiated → completed → (late) answered: the card reads completed, HubSpot says COMPLETED, the thread has every step', async () => {
    // When the events of one call arrive in this order
    for (const type of ['call.initiated', 'call.completed', 'call.answered']) await step(type, 'call_late');
    // Then the card was posted, edited once to completed, and the late answered left it so
    const card = cardOf('call_late');
    expect(card?.versions.map((v) => v.text)).toEqual(['call_late: initiated', 'call_late: completed']);
    expect(fakes.slack.requests.filter((r) => r.path === '/api/chat.update')).toHaveLength(1);
    // and the late delivery is a deliberate no-op that says why
    expect(resultsOf('card')[2]).toEqual({ skipped: 'superseded: call.answered is an earlier stage of the call than call.completed, which this key already shows' });
    // HubSpot's call was created at initiated, updated at completed, and not set back
    const [crmCall] = [...fakes.hubspot.objects.calls.values()];
    expect(fakes.hubspot.objects.calls.size).toBe(1);
    expect(crmCall?.properties['hs_call_status']).toBe('COMPLETED');
    expect(fakes.hubspot.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    // while the thread, which wants every step, got all three in arrival order
    expect(threadOf('call_late').map((m) => m.text)).toEqual(['call_late: call.initiated', 'call_late: call.completed', 'call_late: call.answered']);
    // and replay rebuilds exactly the same key state
    expect((await verifyProjections(relay.log.db)).differences).toEqual([]);
  });

  it('every arrival order of initiated, answered and completed ends showing completed', async () => {
    const orders = [
      ['call.initiated', 'call.answered', 'call.completed'],
      ['call.initiated', 'call.completed', 'call.answered'],
      ['call.answered', 'call.initiated', 'call.completed'],
      ['call.answered', 'call.completed', 'call.initiated'],
      ['call.completed', 'call.initiated', 'call.answered'],
      ['call.completed', 'call.answered', 'call.initiated'],
    ];
    // When each order is one call's story
    for (const [i, order] of orders.entries()) for (const type of order) await step(type, `call_p${i}`);
    // Then every card reads completed, and was edited only forwards
    const stage = { initiated: 1, answered: 2, completed: 3 } as Record<string, number>;
    for (const [i] of orders.entries()) {
      const shown = cardOf(`call_p${i}`)!.versions.map((v) => v.text!.split(': ')[1]!);
      expect(shown.at(-1)).toBe('completed');
      expect(shown.map((s) => stage[s])).toEqual([...shown.map((s) => stage[s]!)].sort());
    }
    // and every HubSpot call is COMPLETED
    expect([...fakes.hubspot.objects.calls.values()].map((c) => c.properties['hs_call_status'])).toEqual(orders.map(() => 'COMPLETED'));
  });

  it('a type without a stage is applied as it comes, and does not move the stage', async () => {
    // When a future event type arrives after completed, then a late answered
    for (const type of ['call.initiated', 'call.completed']) await step(type, 'call_future');
    await step('call.transcribed', 'call_future', 'transcribed');
    await step('call.answered', 'call_future');
    // Then the card showed the unknown event when it came, and the late answered is still skipped
    expect(cardOf('call_future')?.versions.map((v) => v.text)).toEqual(['call_future: initiated', 'call_future: completed', 'call_future: transcribed']);
    expect(resultsOf('card').at(-1)).toMatchObject({ skipped: expect.stringMatching(/^superseded: call.answered/) });
  });
});

describe('a card, thread or CRM object deleted on the other side', () => {
  it('a deleted live card is posted afresh, and later edits go to the new message', async () => {
    // Given a card someone deleted in Slack
    await step('call.initiated', 'call_del');
    const old = cardOf('call_del')!;
    expect(fakes.slack.deleteMessage('#sales-live', old.ts)).toBe(true);
    // When the call moves on, twice
    await step('call.answered', 'call_del');
    await step('call.completed', 'call_del');
    // Then a new card was posted and then edited: nothing is dead, retry is not needed
    const card = cardOf('call_del')!;
    expect(card.ts).not.toBe(old.ts);
    expect(card.versions.map((v) => v.text)).toEqual(['call_del: answered', 'call_del: completed']);
    expect(resultsOf('card')[1]).toEqual({ channel: fakes.slack.channelId('#sales-live'), ts: card.ts, restarted: 'message_not_found' });
    expect(deliveriesOf(relay.log).filter((d) => d.status === 'dead')).toEqual([]);
    expect((await verifyProjections(relay.log.db)).differences).toEqual([]);
  });

  it('a thread whose first message was deleted starts again with the next step; the rest reply there', async () => {
    // Given the thread's first message, deleted before anyone replied
    await step('call.initiated', 'call_gone');
    expect(fakes.slack.deleteMessage('#sales-calls', threadOf('call_gone')[0]!.ts)).toBe(true);
    // When the call moves on
    await step('call.answered', 'call_gone');
    await step('call.completed', 'call_gone');
    // Then answered starts a new thread and completed replies in it
    const [first, reply] = threadOf('call_gone');
    expect([first?.text, reply?.text]).toEqual(['call_gone: call.answered', 'call_gone: call.completed']);
    expect(first?.thread_ts).toBeUndefined();
    expect(reply?.thread_ts).toBe(first?.ts);
    expect(resultsOf('thread')[1]).toMatchObject({ restarted: 'invalid_thread_ts' });
  });

  it('a HubSpot call deleted (archived) in HubSpot is created afresh, and later upserts update the new one', async () => {
    // Given the CRM call of the key was deleted in HubSpot
    await step('call.initiated', 'call_crm');
    const [oldId] = [...fakes.hubspot.objects.calls.keys()];
    expect(fakes.hubspot.deleteObject('calls', oldId!)).toBe(true);
    // When the call moves on, twice
    await step('call.answered', 'call_crm');
    await step('call.completed', 'call_crm');
    // Then one new call exists, updated to COMPLETED, and no delivery is dead
    const calls = [...fakes.hubspot.objects.calls.values()];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.id).not.toBe(oldId);
    expect(calls[0]?.properties['hs_call_status']).toBe('COMPLETED');
    expect(resultsOf('crm')[1]).toMatchObject({ object_id: calls[0]?.id, restarted: 'object_not_found' });
    expect(fakes.hubspot.requests.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual([`/crm/v3/objects/calls/${oldId}`, `/crm/v3/objects/calls/${calls[0]?.id}`]);
    expect(deliveriesOf(relay.log).filter((d) => d.status === 'dead')).toEqual([]);
  });
});
