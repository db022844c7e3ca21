import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { downstreamPlans } from '../src/privacy/downstream.js';
import { loadRules } from '../src/rules/load-rules.js';
import { sinkKind } from '../src/sinks/registry.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { deliveriesOf, fixture, ManualClock, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * `erase --downstream` (README "Personal data"): deletions planned as ordinary deliveries, sent
 * by the relay's dispatcher, with the real Slack and HubSpot SDKs against the fakes.
 */
const CALL = 'call_down_1';
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * `erase --downstream` of each group of calls in turn (one erasure each), on a store of the
 * test's own while the relay runs; resolves once `deletions` erase deliveries have succeeded.
 */
async function eraseDownstream(relay: TestRelay, rulesPath: string, groups: string[][], deletions: number): Promise<void> {
  const store = new SqliteStore(relay.dbPath);
  const loaded = await loadRules(rulesPath, {});
  if (!loaded.ok) throw new Error('rules');
  const kindOf = (sink: string) => sinkKind(loaded.rules.sinks[sink]!.config.type);
  for (const callIds of groups) {
    await store.privacy.erase({
      callIds,
      reason: 'request',
      by: 'cli',
      downstream: true,
      also: async (calls) => (await Promise.all(calls.map(async (id) => downstreamPlans((await store.projections.call(id))!.story, kindOf, loaded.rules.hash)))).flat(),
    });
  }
  await store.close();
  relay.pipeline!.wake();
  await until(() => deliveriesOf(relay.log).filter((d) => d.rule_id === 'erase' && d.status === 'succeeded').length === deletions, {
    what: 'the deletions',
    onPoll: () => relay.pipeline!.wake(),
    describe: () => deliveriesOf(relay.log).filter((d) => d.rule_id === 'erase').map((d) => [d.call_id, d.sink, d.status, d.last_error]),
  });
}

describe('erase --downstream (README "Personal data")', () => {
  it('deletes each Slack message posted, archives each HubSpot object created, and sends each HTTP sink a signed call.erased', async () => {
    // Given a call posted to Slack (a message per event), logged in HubSpot, and sent to an endpoint
    const slack: FakeSlack = await startFakeSlack({ token: 'xoxb-down' });
    const hubspot: FakeHubspot = await startFakeHubspot({ token: 'pat-down' });
    const hook: FakeHttp = await startFakeHttp();
    cleanups.push(() => slack.close(), () => hubspot.close(), () => hook.close());
    hubspot.seedContact({ email: 'dana@example.com' });
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const rulesPath = writeRules(
      dir,
      `version: 1
sinks:
  slack: { type: slack, token: xoxb-down }
  hubspot: { type: hubspot, access_token: pat-down }
  hook: { type: http, url: "${hook.url}", secret: "a-signing-secret-0123456789" }
rules:
  - id: post
    on: call.*
    actions:
      - { sink: slack, channel: "#calls", text: "{{ event_type }} {{ data.call_id }}" }
      - { sink: hook }
  - id: crm
    on: call.completed
    actions:
      - { sink: hubspot, create: note, contact: { email: "{{ data.contact_email }}" } }
`,
    );
    const relay: TestRelay = await startRoutingRelay({ dir, rulesPath, clock: new ManualClock(), sinkEnv: { slackApiUrl: slack.url, hubspotBaseUrl: hubspot.url } });
    cleanups.push(() => relay.stop());
    await postEvent(relay, fixture('call.initiated', (e) => (e.data.call_id = CALL)));
    await postEvent(relay, fixture('call.completed', (e) => Object.assign(e.data, { call_id: CALL, contact_email: 'dana@example.com' })));
    await until(() => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').length === 5, { what: 'five deliveries' });
    const posted = slack.messages.map((m) => m.ts);
    const notes = [...hubspot.objects.notes.keys()];
    expect(posted).toHaveLength(2);
    expect(notes).toHaveLength(1);

    // When the call is erased with --downstream, while the relay runs
    await eraseDownstream(relay, rulesPath, [[CALL]], 4);

    // Then Slack was asked to delete each posted ts, HubSpot to archive the note, the endpoint told once
    const deletes = slack.requests.filter((r) => r.path.endsWith('chat.delete')).map((r) => new URLSearchParams(r.rawBody).get('ts') ?? JSON.parse(r.rawBody).ts);
    expect(deletes.sort()).toEqual([...posted].sort());
    expect(hubspot.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`/crm/v3/objects/notes/${notes[0]}`]);
    const notices = hook.requests.filter((r) => r.rawBody.includes('call.erased'));
    expect(notices.map((r) => JSON.parse(r.rawBody))).toEqual([{ type: 'call.erased', call_id: CALL }]);
    expect(Object.keys(notices[0]!.headers).some((h) => h.includes('signature'))).toBe(true);
  }, 120_000);

  it('a call id holding ":" is its own call: erasing "a" then "a:b" tells the endpoint of both, though "a"/"b:c" and "a:b"/"c" read alike', async () => {
    // Given two calls sent to an endpoint: call "a" with event "b:c", call "a:b" with event "c"
    const hook: FakeHttp = await startFakeHttp();
    cleanups.push(() => hook.close());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const rulesPath = writeRules(dir, `version: 1\nsinks:\n  hook: { type: http, url: "${hook.url}" }\nrules:\n  - id: post\n    on: call.*\n    actions:\n      - { sink: hook }\n`);
    const relay: TestRelay = await startRoutingRelay({ dir, rulesPath, clock: new ManualClock() });
    cleanups.push(() => relay.stop());
    await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: 'b:c', data: { ...e.data, call_id: 'a' } })));
    await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: 'c', data: { ...e.data, call_id: 'a:b' } })));
    await until(() => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').length === 2, { what: 'both calls sent' });

    // When each call is erased with --downstream, one after the other
    await eraseDownstream(relay, rulesPath, [['a'], ['a:b']], 2);

    // Then the endpoint was told of each call's erasure
    const notices = hook.requests.filter((r) => r.rawBody.includes('call.erased')).map((r) => JSON.parse(r.rawBody) as { call_id: string });
    expect(notices.map((n) => n.call_id).sort()).toEqual(['a', 'a:b']);
  }, 120_000);
});
