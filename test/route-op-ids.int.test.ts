import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listDeliveries } from '../src/project/queries.js';
import { ROUTED_TYPES } from '../src/route/operator-events.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { deliveriesOf, entriesOf, fixture, postEvent, routerCheckpoint, settle, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * An alert's event id is `op-SEQ`, and HuskyVoice may send any event id, `op-5` too. A rule
 * that routes both (`on: [delivery.dead, call.completed]`) must plan and deliver both: the
 * call's delivery and the alert's ids live in separate namespaces, whichever arrives first.
 */

let hook: FakeHttp;
let gone: FakeHttp;
let relay: TestRelay;
let temp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  hook = await startFakeHttp();
  gone = await startFakeHttp({ status: 404 });
});
afterAll(async () => {
  await hook.close();
  await gone.close();
});
beforeEach(async () => {
  hook.reset();
  gone.reset();
  temp = tempDir();
  relay = await startRoutingRelay({
    dir: temp.dir,
    rulesPath: writeRules(
      temp.dir,
      `version: 1
sinks:
  hook: { type: http, url: "${hook.url}" }
  gone: { type: http, url: "${gone.url}" }
rules:
  - id: both
    on: [delivery.dead, "call.completed"]
    actions:
      - sink: hook
        body: { type: "{{ event.event_type }}", call: "{{ data.call_id }}" }
  - id: to-gone
    on: call.failed
    actions:
      - sink: gone
`,
    ),
  });
});
afterEach(async () => {
  await relay.close();
  temp.cleanup();
});

/** Waits until the router has passed every entry it routes and nothing is left to send. */
async function routedAll(): Promise<void> {
  const last = () => relay.log.read(0, { types: ROUTED_TYPES }).at(-1)?.seq ?? 0;
  await until(() => routerCheckpoint(relay.log) >= last() && deliveriesOf(relay.log).every((d) => d.status === 'succeeded' || d.status === 'dead'), {
    what: 'every routable entry routed and every delivery settled',
  });
  await settle();
}

/** A call.failed whose delivery to the 404 sink goes dead: the dead letter is the operator event. Resolves with its seq. */
async function deadLetter(): Promise<number> {
  await postEvent(relay, fixture('call.failed', (e) => Object.assign(e, { event_id: 'evt_failed_1', data: { ...e.data, call_id: 'call_failed' } })));
  await until(() => entriesOf(relay.log, 'delivery.dead').length === 1, { what: 'the dead letter' });
  return entriesOf(relay.log, 'delivery.dead')[0]!.seq;
}

/** A call.completed that HuskyVoice sent with the event id `id`. */
const completed = (id: string) => fixture('call.completed', (e) => Object.assign(e, { event_id: id, data: { ...e.data, call_id: 'call_op' } }));

/** What the hook received, by event type and call. */
const received = () => hook.requests.map((r) => r.body as { type: string; call: string }).sort((a, b) => a.type.localeCompare(b.type));

/** The hook received the call and the alert once each, and rule `both` planned them under event id op-SEQ in `order`, both succeeded. */
function expectBothDelivered(seq: number, order: string[]): void {
  expect(received()).toEqual([
    { type: 'call.completed', call: 'call_op' },
    { type: 'delivery.dead', call: 'call_failed' },
  ]);
  const both = deliveriesOf(relay.log).filter((d) => d.rule_id === 'both');
  expect(both.map((d) => [d.event_type, d.event_id, d.status])).toEqual(order.map((type) => [type, `op-${seq}`, 'succeeded']));
}

describe('a HuskyVoice event whose id is an alert\'s ("op-SEQ")', () => {
  it('sent after the alert: both are planned and delivered', async () => {
    // Given a dead letter at seq N, whose alert is planned under event id op-N
    const seq = await deadLetter();
    await routedAll();
    // When HuskyVoice sends a call.completed with the event id op-N
    await postEvent(relay, completed(`op-${seq}`));
    await routedAll();
    // Then both went to the hook, each once
    expectBothDelivered(seq, ['delivery.dead', 'call.completed']);
    // and `deliveries --event op-N` lists both, told apart by their event type; the call's own story shows its delivery
    expect(listDeliveries(relay.log.db, { event: `op-${seq}` }).map((d) => d.event_type).sort()).toEqual(['call.completed', 'delivery.dead']);
    const story = (await relay.store.projections.call('call_op'))!.story;
    expect(story.deliveries.map((d) => [d.rule_id, d.event_id, d.status])).toEqual([['both', `op-${seq}`, 'succeeded']]);
  });

  it('sent before the alert: both are planned and delivered', async () => {
    // Given HuskyVoice's call.completed op-N, delivered, where N is the seq the coming dead letter takes:
    // its event, plan and attempt come first, then the failed call's event, plan, attempt and dead letter
    const start = relay.log.read(0).at(-1)?.seq ?? 0;
    const predicted = start + 7;
    await postEvent(relay, completed(`op-${predicted}`));
    await routedAll();
    // When a delivery goes dead at seq N
    const seq = await deadLetter();
    expect(seq).toBe(predicted);
    await routedAll();
    // Then the alert was planned and delivered too
    expectBothDelivered(seq, ['call.completed', 'delivery.dead']);
  });
});
