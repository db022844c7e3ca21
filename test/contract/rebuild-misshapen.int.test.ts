import { describe, expect, it, vi } from 'vitest';
import { DamagedEntryError } from '../../src/log/damaged-entry.js';
import type { NewEntry } from '../../src/log/types.js';
import { damageEntryData } from '../helpers/damage.js';
import { ENGINES, useEngineStore } from '../helpers/engines.js';

/**
 * `replay --rebuild` and `--verify` on a log one of whose entries was rewritten by hand as JSON
 * of another shape than its type's (README "Faults"): each stops naming the entry by its seq and
 * what is wrong with it, on both engines, and the projections stay as they were. Before, a plan
 * or an event of another shape failed a NOT NULL column of a batched INSERT (SQLite: a line that
 * could not name the entry; PostgreSQL: an internal error), and a dead letter's other fields were
 * read in the projector's own words (`Cannot read properties of undefined`). And a bug of the
 * projector itself (a `TypeError` on a sound entry) is reported as what it is (an internal error,
 * exit 2), never as a damaged entry, which would send the operator to restore a sound log's backup.
 */
const bug = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/delivery/lifecycle.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/delivery/lifecycle.js')>();
  return {
    ...original,
    evolve: (...args: Parameters<typeof original.evolve>) => {
      if (bug.on) throw new TypeError("Cannot read properties of undefined (reading 'attempts')");
      return original.evolve(...args);
    },
  };
});

const AT = '2026-06-01T10:00:00.000Z';
const EVENT: NewEntry = {
  type: 'event.received',
  data: { event_id: 'e1', event_type: 'call.completed', org_id: 'o', created_at: AT, received_at: AT, call_id: 'c1', body: '{"event_id":"e1","data":{"call_id":"c1"}}' },
};
const PLAN = { delivery_id: 'd1', event_id: 'e1', event_seq: 1, event_type: 'call.completed', call_id: 'c1', rule_id: 'r', action_index: 0, sink: 'hook', request: {}, order_key: null, rules_hash: 'h' };
/** Seqs 1–6: an event, its plan, the delivery dead, the sink paused and resumed, an earlier call erased. */
const LOG: NewEntry[] = [
  EVENT,
  { type: 'delivery.planned', data: PLAN },
  { type: 'delivery.dead', data: { delivery_id: 'd1', reason: 'permanent' } },
  { type: 'sink.paused', data: { sink: 'hook', reason: 'token revoked', code: 'auth', delivery_id: 'd1' } },
  { type: 'sink.resumed', data: { sink: 'hook', reason: 'by hand', code: 'resume', by: 'cli' } },
  { type: 'call.erased', data: { call_id: 'c0', reason: 'asked', by: 'cli', downstream: false } },
];

const { rule_id: _rule, ...planWithoutRule } = PLAN;
const CASES = [
  { what: 'a dead letter whose delivery_id is {}', seq: 3, data: { delivery_id: {}, reason: 'permanent' }, problem: 'delivery\\.dead entry holds \\(delivery_id is not text \\(object\\)\\)' },
  { what: 'a dead letter whose delivery_id is null', seq: 3, data: { delivery_id: null, reason: 'permanent' }, problem: 'delivery\\.dead entry holds \\(delivery_id is not text \\(null\\)\\)' },
  { what: 'a dead letter without its delivery_id', seq: 3, data: { reason: 'permanent' }, problem: 'delivery\\.dead entry holds \\(delivery_id is missing\\)' },
  { what: 'a dead letter without its reason', seq: 3, data: { delivery_id: 'd1' }, problem: 'delivery\\.dead entry holds \\(reason is missing\\)' },
  { what: 'a sink.resumed whose sink is 5', seq: 5, data: { sink: 5, reason: 'by hand', code: 'resume' }, problem: 'sink\\.resumed entry holds \\(sink is not text \\(number\\)\\)' },
  { what: 'a plan without its rule_id', seq: 2, data: planWithoutRule, problem: 'delivery\\.planned entry holds \\(rule_id is missing\\)' },
  { what: 'an erasure whose call_id is null', seq: 6, data: { call_id: null, reason: 'asked', by: 'cli', downstream: false }, problem: 'call\\.erased entry holds \\(call_id is not text \\(null\\)\\)' },
  // SQLite's rebuild reads an event's fields one by one (a missing one reads null); PostgreSQL's reads its facts whole
  { what: 'an event rewritten as {}', seq: 1, data: {}, problem: 'event\\.received entry holds \\(event_type is (missing|not text \\(null\\))\\)' },
];

/** Seqs 1–3: an event, its plan, and the delivery's attempt that succeeded. */
const SUCCEEDED: NewEntry[] = [
  EVENT,
  { type: 'delivery.planned', data: PLAN },
  { type: 'delivery.attempted', data: { delivery_id: 'd1', attempt: 1, outcome: 'succeeded', duration_ms: 12, error: null, retry_at: null, result: { status: 200 } } },
];
const ATTEMPT = { delivery_id: 'd1', attempt: 1, duration_ms: 12, error: null, retry_at: null, result: { status: 200 } };
/** An attempt's fields are a delivery's state: any of them rewritten would change what the delivery shows. */
const ATTEMPT_CASES = [
  { what: 'without its outcome', data: ATTEMPT, problem: 'outcome is missing' },
  { what: 'whose outcome is "bogus"', data: { ...ATTEMPT, outcome: 'bogus' }, problem: 'outcome is not what it holds \\(.*\\)' },
  { what: 'whose outcome is null', data: { ...ATTEMPT, outcome: null }, problem: 'outcome is not what it holds \\(.*\\)' },
  { what: 'whose error is text', data: { ...ATTEMPT, outcome: 'succeeded', error: 'boom' }, problem: 'error is not an object \\(string\\)' },
  { what: 'whose retry_at is a number', data: { ...ATTEMPT, outcome: 'succeeded', retry_at: 5 }, problem: 'retry_at is not text \\(number\\)' },
  { what: 'whose paused is "yes"', data: { ...ATTEMPT, outcome: 'failed', paused: 'yes' }, problem: 'paused is not what it holds \\(.*\\)' },
  { what: 'whose error\'s kind is 5', data: { ...ATTEMPT, outcome: 'failed', error: { kind: 5, code: 'x', message: 'm' } }, problem: 'error\\.kind is not what it holds \\(.*\\)' },
  { what: 'whose error is {}', data: { ...ATTEMPT, outcome: 'failed', error: {} }, problem: 'error\\.kind is missing' },
  { what: 'whose error has no message', data: { ...ATTEMPT, outcome: 'failed', error: { kind: 'transient', code: 'http_503' } }, problem: 'error\\.message is missing' },
  { what: 'whose attempt is text', data: { ...ATTEMPT, outcome: 'succeeded', attempt: '1' }, problem: 'attempt is not a number \\(string\\)' },
];

describe.each(ENGINES)('replay --rebuild and --verify on %s', (engine) => {
  const clock = { at: AT };
  const engineStore = useEngineStore(engine, clock);

  it.each(CASES)('$what: named by its seq, what is wrong said, the projections left as they were', async ({ seq, data, problem }) => {
    // Given a log whose delivery is dead and whose sink was paused and resumed, one entry then rewritten by hand
    const { fx, store } = engineStore;
    await store.writer.append(LOG);
    const json = JSON.stringify(data);
    if (engine === 'postgres') await fx.raw(`ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET data = '${json}' WHERE seq = ${seq}; ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    else damageEntryData(fx.location, seq, json);
    // When the projections are rebuilt, or verified: one line naming the entry and what it lacks
    const named = new RegExp(`^entry ${seq} of the log (at .* )?is damaged: its data is not what a ${problem}; run \`husky-relay log --verify\``);
    await expect(store.rebuild()).rejects.toThrow(named);
    await expect(store.verify()).rejects.toThrow(named);
    // And the delivery is still dead, as the live projections had it
    expect((await store.projections.deliveries({ ids: ['d1'] }))[0]).toMatchObject({ status: 'dead' });
  }, 30_000);

  it.each(ATTEMPT_CASES)('an attempt $what: named by its seq, and the delivery still succeeded', async ({ data, problem }) => {
    // Given a delivery that succeeded, its attempt then rewritten by hand
    const { fx, store } = engineStore;
    await store.writer.append(SUCCEEDED);
    const json = JSON.stringify(data);
    if (engine === 'postgres') await fx.raw(`ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET data = '${json}' WHERE seq = 3; ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    else damageEntryData(fx.location, 3, json);
    // When the projections are rebuilt, or verified: the attempt is named, never taken for a retry
    const named = new RegExp(`^entry 3 of the log (at .* )?is damaged: its data is not what a delivery\\.attempted entry holds \\(${problem}\\); run`);
    await expect(store.rebuild()).rejects.toThrow(named);
    await expect(store.verify()).rejects.toThrow(named);
    expect((await store.projections.deliveries({ ids: ['d1'] }))[0]).toMatchObject({ status: 'succeeded' });
  }, 30_000);

  it('a log as older relays wrote it, whose entries the check reads, rebuilds and verifies as it did', async () => {
    // Given a plan without call_id (before issue 14), a sink's first entry without `by`, a re-drive
    // without `by`, an attempt of a delivery the log does not hold, and rules without their sinks
    const { store } = engineStore;
    const { call_id: _call, ...oldPlan } = PLAN;
    await store.writer.append([
      EVENT,
      { type: 'rules.loaded', data: { rules_hash: 'h', path: '/etc/rules.yaml' } },
      { type: 'delivery.planned', data: oldPlan },
      { type: 'delivery.dead', data: { delivery_id: 'd1', reason: 'permanent' } },
      { type: 'delivery.retried', data: { delivery_id: 'd1', reason: 're-driven by id' } },
      { type: 'sink.resumed', data: { sink: 'ops', reason: 'by hand', code: 'resume' } },
      { type: 'delivery.attempted', data: { delivery_id: 'gone', attempt: 1, outcome: 'succeeded', duration_ms: 5, error: null, retry_at: null, result: null } },
    ] as NewEntry[]);
    // When the projections are verified and rebuilt: nothing is refused, nothing differs
    expect(await store.verify()).toMatchObject({ identical: true, entries: 7 });
    expect(await store.rebuild()).toMatchObject({ entries: 7, last_seq: 7 });
    expect((await store.projections.deliveries({ ids: ['d1'] }))[0]).toMatchObject({ status: 'pending' });
  }, 30_000);

  it('when the projector itself fails on a sound entry: its own error, not a damaged entry', async () => {
    // Given a sound log: an event, its plan, the delivery dead
    const { store } = engineStore;
    await store.writer.append(LOG.slice(0, 3));
    // When the projector fails on the dead letter (a bug), and the projections are rebuilt, or verified
    bug.on = true;
    try {
      for (const run of [() => store.rebuild(), () => store.verify()]) {
        const error = await run().then(
          () => new Error('it did not fail'),
          (e: unknown) => e,
        );
        // Then the error is the projector's, as it threw it: no entry of the log is said to be damaged
        expect(error).not.toBeInstanceOf(DamagedEntryError);
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toBe("Cannot read properties of undefined (reading 'attempts')");
      }
    } finally {
      bug.on = false;
    }
    // And the projections stay as they were
    expect((await store.projections.deliveries({ ids: ['d1'] }))[0]).toMatchObject({ status: 'dead' });
  }, 30_000);
});
