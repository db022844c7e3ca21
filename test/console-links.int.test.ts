import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from './helpers/browser.js';
import { useFakeSaas } from './helpers/fake-saas.js';
import { deliveriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * The call page links each delivery to what it made (README "Console"): the Slack message, and
 * the HubSpot contact the call was logged on when the sink says its account (`portal_id`).
 */
const UI_TOKEN = 'console-token-for-links-0123456789';
const fakes = useFakeSaas({ slack: 'xoxb-links', hubspot: 'pat-links' });
let relay: TestRelay;
let cleanup: () => void;
let contactId: string;

beforeAll(async () => {
  const temp = tempDir();
  cleanup = temp.cleanup;
  const rules = `version: 1
sinks:
  slack: { type: slack, token: "xoxb-links" }
  crm: { type: hubspot, access_token: "pat-links", portal_id: 4711, app_url: "https://app-eu1.hubspot.com/" }
  crm_unlinked: { type: hubspot, access_token: "pat-links" }
rules:
  - id: everywhere
    on: call.completed
    actions:
      - { sink: slack, channel: "#sales", text: "{{ data.summary }}" }
      - { sink: crm, create: note, contact: { email: "{{ data.contact_email }}" } }
      - { sink: crm_unlinked, create: call, contact: { email: "{{ data.contact_email }}" } }
`;
  relay = await startRoutingRelay({
    dir: temp.dir,
    rulesPath: writeRules(temp.dir, rules),
    sinkEnv: { slackApiUrl: fakes.slack.url, hubspotBaseUrl: fakes.hubspot.url },
    ui: { token: UI_TOKEN },
  });
  contactId = fakes.hubspot.seedContact({ email: 'ada@example.com' });
  await postEvent(relay, makeEvent({}, { call_id: 'call_links', summary: 'Linked.', contact_email: 'ada@example.com' }));
  await until(() => deliveriesOf(relay.log, { status: 'succeeded' }).length === 3, { what: 'three delivered' });
}, 30_000);
afterAll(async () => {
  await relay?.stop();
  cleanup?.();
});

describe('links on the call page', () => {
  it('to the Slack message, to the HubSpot contact of a sink with portal_id, and none for one without', async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const answer = await fetch(`${relay.url}/ui/calls/call_links`, { headers: { cookie } });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    const links = [...html.matchAll(/<a href="(https:[^"]+)"[^>]*>([^<]+)<\/a>/g)].map((m) => [m[2], m[1]]);
    // (the fakes are emptied before each test: what they answered is read from the log)
    const results = Object.fromEntries((await relay.store.projections.call('call_links'))!.story.deliveries.map((d) => [d.sink, d.result as Record<string, string>]));
    expect(results['crm']!['contact_id']).toBe(contactId);
    expect(results['slack']!['ts']).toMatch(/^\d+\.\d+$/);
    expect(links).toEqual([
      ['Slack message', `https://slack.com/archives/${results['slack']!['channel']}/p${results['slack']!['ts']!.replace('.', '')}`],
      ['HubSpot contact', `https://app-eu1.hubspot.com/contacts/4711/record/0-1/${contactId}`],
    ]);
  });
});

describe('counts on the call page', () => {
  it('says "1 event, 3 deliveries" for a call of one event (not "1 events")', async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const html = await (await fetch(`${relay.url}/ui/calls/call_links`, { headers: { cookie } })).text();
    expect(html).toMatch(/ · 1 event, 3 deliveries<\/p>/);
  });
});

describe('the call page of an alert\'s event id (op-SEQ) past the end of the log', () => {
  it('404, saying where the log ends', async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const last = await relay.store.log.lastSeq();
    const answer = await fetch(`${relay.url}/ui/calls/op-${last + 7}`, { headers: { cookie } });
    expect(answer.status).toBe(404);
    expect(/<div class="error" role="alert">([^<]*)<\/div>/.exec(await answer.text())?.[1]).toBe(`no call op-${last + 7} in the log: the log ends at seq ${last}`);
  });
});
