import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redrive } from '../src/delivery/redrive.js';
import { statusReport } from '../src/project/queries.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { deliveriesOf, entriesOf, fixture, ManualClock, postEvent, settle, startClockedRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Stale work (README "When a rule fails at run time"): a sink down past `alerts.pending_after` gets one `pending.stale`, and
 * one `pending.cleared` once it catches up. Time is the relay's ManualClock: no sleeping.
 */

let hook: FakeHttp;
let relay: TestRelay;
let clock: ManualClock;
let cleanup: () => void;

beforeAll(async () => {
  hook = await startFakeHttp();
});
afterAll(async () => {
  await hook.close();
});
beforeEach(async () => {
  hook.reset();
  clock = new ManualClock();
  const temp = tempDir();
  cleanup = temp.cleanup;
  relay = await startClockedRelay({
    dir: temp.dir,
    rulesPath: writeRules(
      temp.dir,
      `version: 1
sinks:
  hook: { type: http, url: "${hook.url}", retry: { initial_delay: 10s, max_delay: 10s, max_attempts: 100 } }
  ops: { type: log }
alerts:
  pending_after: 1m
rules:
  - id: to-hook
    on: call.completed
    actions: [{ sink: hook }]
  - id: ops-alerts
    on: "pending.*"
    actions: [{ sink: ops, text: "{{ event.event_type }} {{ data.sink }}: {{ data.count }} waiting" }]
`,
    ),
    clock,
  });
});
afterEach(async () => {
  await relay.close();
  cleanup();
});

/** Moves the relay's clock in steps of at most 10 s (each retry comes due and fails again), then lets it look. */
async function pass(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10_000) {
    clock.advance(Math.min(10_000, left));
    relay.pipeline!.wake();
    await settle(2);
  }
}

const stale = () => entriesOf(relay.log, 'pending.stale');
const cleared = () => entriesOf(relay.log, 'pending.cleared');

describe('a sink down past alerts.pending_after', () => {
  it('gets one pending.stale, however long it stays down, and one pending.cleared when it catches up', async () => {
    // Given the hook is down (503) when two calls complete
    hook.failNext({ status: 503 }, { times: 10_000 });
    await postEvent(relay, fixture('call.completed', (e) => (e.event_id = 'evt_stale_1')));
    await postEvent(relay, fixture('call.completed', (e) => (e.event_id = 'evt_stale_2')));
    await until(() => deliveriesOf(relay.log, { sink: 'hook' }).every((d) => d.status === 'retrying') && deliveriesOf(relay.log, { sink: 'hook' }).length === 2, {
      what: 'both deliveries to be retrying',
    });
    const [first] = deliveriesOf(relay.log, { sink: 'hook' });

    // When less than a minute passes: nothing
    await pass(50_000);
    expect(stale()).toEqual([]);

    // When the oldest has waited longer than a minute
    await pass(20_000);
    await until(() => stale().length === 1, { what: 'pending.stale' });
    // Then one pending.stale names the sink, the oldest delivery and how many wait
    expect(stale().map((e) => e.data)).toEqual([{ sink: 'hook', oldest_pending_at: first!.planned_at, count: 2, delivery_id: first!.delivery_id, pending_after: '1m' }]);
    expect(statusReport(relay.log.db, null).sinks['hook']!.stale_since).toBe(stale()[0]!.at);

    // and however long it stays down, no second one
    await pass(5 * 60_000);
    expect(stale()).toHaveLength(1);
    expect(cleared()).toEqual([]);

    // When the hook comes back and the next retries deliver both
    hook.reset();
    await pass(10_000);
    await until(() => deliveriesOf(relay.log, { sink: 'hook' }).every((d) => d.status === 'succeeded'), { what: 'both delivered' });
    await until(() => cleared().length === 1, { what: 'pending.cleared' });
    await pass(3 * 60_000);
    // Then one pending.cleared, and status shows it is no longer stale
    expect(cleared().map((e) => e.data)).toEqual([{ sink: 'hook', oldest_pending_at: null, count: 0 }]);
    expect(stale()).toHaveLength(1);
    expect(statusReport(relay.log.db, null).sinks['hook']!.stale_since).toBeNull();
    // and the ops rule heard of both, no more
    await until(() => deliveriesOf(relay.log, { sink: 'ops' }).length === 2 && deliveriesOf(relay.log, { sink: 'ops' }).every((d) => d.status === 'succeeded'), {
      what: 'two alerts delivered',
    });
    expect(deliveriesOf(relay.log, { sink: 'ops' }).map((d) => d.event_type)).toEqual(['pending.stale', 'pending.cleared']);
  }, 60_000);

  it('a dead letter re-driven long after it was planned waits from its re-drive: no pending.stale at once, one once it has waited past pending_after since', async () => {
    // Given a delivery the hook refused (400: dead at once), ten minutes ago
    hook.failNext({ status: 400 }, { times: 1 });
    await postEvent(relay, fixture('call.completed', (e) => (e.event_id = 'evt_stale_dead')));
    await until(() => deliveriesOf(relay.log, { sink: 'hook' })[0]?.status === 'dead', { what: 'the delivery to be dead' });
    const [dead] = deliveriesOf(relay.log, { sink: 'hook' });
    await pass(10 * 60_000);
    // When it is re-driven while the hook is down (503), and 50 s pass
    hook.failNext({ status: 503 }, { times: 10_000 });
    await redrive(relay.store.projections, relay.store.writer, { ids: [dead!.delivery_id] });
    await pass(50_000);
    // Then it is not stale: it has waited 50 s since its re-drive, not ten minutes; status (and the
    // oldest-pending gauge, the same read) says it waits since then
    expect(deliveriesOf(relay.log, { sink: 'hook' })[0]!.status).toBe('retrying');
    expect(stale()).toEqual([]);
    expect(statusReport(relay.log.db, null).oldest_pending_at).toBe(entriesOf(relay.log, 'delivery.retried')[0]!.at);
    // When it has waited over a minute since its re-drive
    await pass(20_000);
    await until(() => stale().length === 1, { what: 'pending.stale' });
    // Then pending.stale says it waits since its re-drive
    const [retried] = entriesOf(relay.log, 'delivery.retried');
    expect(stale()[0]!.data).toEqual({ sink: 'hook', oldest_pending_at: retried!.at, count: 1, delivery_id: dead!.delivery_id, pending_after: '1m' });
  }, 60_000);

  it('a reload that raises pending_after past the backlog clears it', async () => {
    // Given a stale sink
    hook.failNext({ status: 503 }, { times: 10_000 });
    await postEvent(relay, fixture('call.completed', (e) => (e.event_id = 'evt_stale_3')));
    await until(() => deliveriesOf(relay.log, { sink: 'hook' }).length === 1, { what: 'the delivery to be planned' });
    await pass(70_000);
    await until(() => stale().length === 1, { what: 'pending.stale' });
    // When pending_after becomes an hour
    const rules = relay.pipeline!.rulesPath;
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('pending_after: 1m', 'pending_after: 1h'));
    expect(await relay.pipeline!.reload('pending_after raised')).toBe(true);
    // Then the spell is over: one pending.cleared, the delivery still waiting
    await until(() => cleared().length === 1, { what: 'pending.cleared' });
    expect(cleared()[0]!.data).toMatchObject({ sink: 'hook', count: 1 });
    await settle();
    expect(stale()).toHaveLength(1);
  }, 60_000);
});
