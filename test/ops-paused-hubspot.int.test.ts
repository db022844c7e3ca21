import { afterEach, describe, expect, it } from 'vitest';
import { statusReport } from '../src/project/queries.js';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';
import { deliveriesOf, entriesOf, fixture, ManualClock, postEvent, settle, startClockedRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Refused credentials are one kind of fault, whatever the sink (README "When a rule fails at run time"): HubSpot's 401 pauses
 * its sink as Slack's `token_revoked` does, with the real HubSpot SDK against the fake.
 */

const RIGHT = 'pat-right-token';
const WRONG = 'pat-expired-token';

const RULES = `version: 1
sinks:
  hubspot: { type: hubspot, access_token: "\${HUBSPOT_ACCESS_TOKEN}" }
  ops: { type: log }
rules:
  - id: completed-to-hubspot
    on: call.completed
    actions:
      - { sink: hubspot, create: call, contact: { email: "{{ data.contact_email }}" } }
  - id: ops-alerts
    on: "sink.*"
    actions:
      - { sink: ops, text: "{{ event.event_type }} {{ data.sink }} {{ data.code }}" }
`;

let hubspot: FakeHubspot | undefined;
let relay: TestRelay | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await relay?.close();
  await hubspot?.close();
  for (const c of cleanups.splice(0)) c();
});

describe('HubSpot 401 (README "When a rule fails at run time")', () => {
  it('pauses the sink instead of killing the deliveries; a reload with the right token resumes it and they go out', async () => {
    // Given a HubSpot sink whose token HubSpot refuses
    hubspot = await startFakeHubspot({ token: RIGHT });
    hubspot.seedContact({ email: 'dana@example.com' });
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new ManualClock();
    relay = await startClockedRelay({
      dir,
      rulesPath: writeRules(dir, RULES),
      env: { HUBSPOT_ACCESS_TOKEN: WRONG },
      sinkEnv: { slackApiUrl: 'http://127.0.0.1:9/api/', hubspotBaseUrl: hubspot.url },
      clock,
    });
    // When three calls complete
    for (let i = 1; i <= 3; i++) await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: `evt_hs_${i}` }, { data: { ...e.data, contact_email: 'dana@example.com' } })));
    await until(() => deliveriesOf(relay!.log, { sink: 'hubspot' }).length === 3 && entriesOf(relay!.log, 'sink.paused').length === 1, { what: 'the pause' });
    await settle();
    // Then nothing is dead, the sink is paused once with the 401, and the ops rule saw it
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
    expect(deliveriesOf(relay.log, { sink: 'hubspot' }).map((d) => d.status)).toEqual(['pending', 'pending', 'pending']);
    expect(entriesOf(relay.log, 'sink.paused').map((e) => e.data)).toEqual([
      expect.objectContaining({ sink: 'hubspot', code: 'unauthorized', reason: expect.stringMatching(/^unauthorized: .*HTTP 401/) }),
    ]);
    expect(statusReport(relay.log.db, null).sinks['hubspot']).toMatchObject({ paused: true, paused_reason: expect.stringMatching(/^unauthorized: /) });
    await until(() => deliveriesOf(relay!.log, { sink: 'ops' }).some((d) => d.status === 'succeeded'), { what: 'the alert' });
    expect(deliveriesOf(relay.log, { sink: 'ops' }).map((d) => d.event_type)).toEqual(['sink.paused']);

    // When the rules reload with the right token
    await relay.pipeline!.reload('token fixed', { HUBSPOT_ACCESS_TOKEN: RIGHT });
    // Then it resumes and every call reaches HubSpot
    await until(() => deliveriesOf(relay!.log, { sink: 'hubspot' }).every((d) => d.status === 'succeeded'), { what: 'the calls in HubSpot' });
    expect(hubspot.objects.calls.size).toBe(3);
    expect(entriesOf(relay.log, 'sink.resumed').map((e) => e.data.code)).toEqual(['reload']);
    expect(entriesOf(relay.log, 'delivery.dead')).toEqual([]);
  });
});
