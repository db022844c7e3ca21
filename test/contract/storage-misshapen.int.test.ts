import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/log/store.js';
import type { NewEntry } from '../../src/log/types.js';
import { logBoundsOf } from '../../src/commands/log-bounds.js';
import { sweepAndTruncate } from '../../src/privacy/retention.js';
import { damageEntryData } from '../helpers/damage.js';
import { engineFixture, ENGINES, openWithClock, type EngineFixture } from '../helpers/engines.js';

/**
 * The router's look at a dead letter's delivery (`deliveryOrigins`: its rule, sink and event)
 * when the plan was rewritten by hand with an `event_seq` that is no seq (README "Faults"): the
 * plan has no event, on either engine. On PostgreSQL the cast of it to a seq failed the whole
 * statement, and with it every pass of the router: routing stopped for good. And retention's
 * read of a `log.truncated` of another shape: the failed sweep names it (it failed with a
 * TypeError, at every sweep, saying nothing of where).
 */
const AT = '2026-06-01T10:00:00.000Z';

const EVENT: NewEntry = {
  type: 'event.received',
  data: { event_id: 'e1', event_type: 'call.completed', org_id: 'o', created_at: AT, received_at: AT, call_id: 'c1', body: '{"event_id":"e1","data":{"call_id":"c1"}}' },
};
const PLAN = { delivery_id: 'd1', event_id: 'e1', event_seq: 1, event_type: 'call.completed', call_id: 'c1', rule_id: 'r', action_index: 0, sink: 'hook', request: {}, order_key: null, rules_hash: 'h' };

const DAY = 86_400_000;
/** Retention's window here: 18 hours (payloads go after one window, facts after two). */
const WINDOW = 0.75 * DAY;
const day = (n: number) => new Date(Date.UTC(2026, 5, 1) + n * DAY).toISOString();

/** An alert's plan (no call), open until attempted. */
function alert(id: string): NewEntry {
  return { type: 'delivery.planned', data: { delivery_id: id, event_id: 'op-99', event_seq: 99, event_type: 'delivery.dead', rule_id: 'ops', action_index: 0, sink: 'ops', request: {}, order_key: null, rules_hash: 'h' } };
}

const RETENTION_SHAPES = [
  { data: '{}', problem: 'before_seq is missing' },
  { data: '{"before_seq":2,"prev_hash":"x","entries":1,"calls":1,"snapshot":null}', problem: 'snapshot is not an object \\(null\\)' },
  {
    data: '{"before_seq":2,"prev_hash":"x","entries":1,"calls":1,"snapshot":{"events_by_type":[],"sink_health":[],"sink_state":[],"key_state":"x","calls":[]}}',
    problem: 'snapshot\\.key_state is not an array \\(string\\)',
  },
];

describe.each(ENGINES)('on %s, an entry rewritten as JSON of another shape', (engine) => {
  const clock = { at: AT };
  let fx: EngineFixture;
  let store: Store | undefined;
  beforeEach(async () => void (fx = await engineFixture(engine)));
  afterEach(async () => {
    await Promise.resolve(store?.close()).finally(() => fx.cleanup());
    store = undefined;
  });

  it.each(['"x"', '1.5', '"99999999999999999999"', 'true', '-1'])('deliveryOrigins of a plan whose event_seq is %s, no seq: its rule and sink, and no event', async (eventSeq) => {
    // Given an event and its plan, the plan rewritten by hand, the append-only trigger lifted
    clock.at = AT;
    const writer = await openWithClock(fx.location, clock);
    await writer.writer.append([EVENT, { type: 'delivery.planned', data: PLAN }]);
    await writer.close();
    const data = JSON.stringify(PLAN).replace('"event_seq":1', `"event_seq":${eventSeq}`);
    if (engine === 'postgres') await fx.raw(`ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET data = '${data}' WHERE seq = 2; ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    else damageEntryData(fx.location, 2, data);
    store = await openWithClock(fx.location, clock);
    // When the router looks at the delivery of a dead letter about it
    const origins = await store.log.deliveryOrigins(['d1']);
    // Then it has the plan's own fields, and is from no operator event
    expect([...origins.values()]).toEqual([{ delivery_id: 'd1', rule_id: 'r', sink: 'hook', event_id: 'e1', event_type: 'call.completed', call_id: 'c1', from_operator: false }]);
  }, 30_000);

  it.each(RETENTION_SHAPES)('retention past a log.truncated rewritten as $data: the next sweep fails naming it, and the log may have lost calls', async ({ data, problem }) => {
    // Given call A on day 1 (seq 1) and two alerts planned then, open (seqs 2, 3)
    clock.at = day(1);
    store = await openWithClock(fx.location, clock);
    const event = { ...EVENT, data: { ...EVENT.data, received_at: day(1) } } as NewEntry;
    await store.writer.append([event, alert('x'), alert('y')]);
    // and on day 3 A erased (seq 4) and removed, up to the first open alert (log.truncated: seq 5)
    clock.at = day(3);
    expect(await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).toEqual({ erased: 1, removed: 1 });
    // and the first alert sent (seq 6), then the truncation's entry rewritten by hand
    await store.writer.append([{ type: 'delivery.attempted', data: { delivery_id: 'x', attempt: 1, outcome: 'succeeded', duration_ms: 5, error: null, retry_at: null, result: null } }]);
    await store.close();
    if (engine === 'postgres') await fx.raw(`ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET data = '${data}' WHERE seq = 5; ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    else damageEntryData(fx.location, 5, data);
    store = await openWithClock(fx.location, clock);
    // When the call that is not in the log is looked for, the hint may say retention removed it
    expect((await logBoundsOf(store.log)).callsRemoved).toBe(true);
    // When retention sweeps on day 5, which would remove the sent alert (it reads what the kept truncation restored)
    clock.at = day(5);
    // Then the sweep fails naming the entry and what is wrong with it, not a TypeError
    await expect(sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).rejects.toThrow(
      new RegExp(`^entry 5 of the log (at .* )?is damaged: its data is not what a log\\.truncated entry holds \\(${problem}\\); run \`husky-relay log --verify\``),
    );
  }, 30_000);
});
