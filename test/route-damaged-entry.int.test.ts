import { join } from 'node:path';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { damageEntryData, damagePayload, eventsLog } from './helpers/damage.js';
import { deliveriesOf, postEvent, routerCheckpoint, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';
import { TRACE_RULES } from './helpers/replay-scenario.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A log of three events (calls c0, c1, c2: seqs 1, 2, 3), not routed yet, in a fresh folder. */
function logOfThreeEvents(): { dir: string; dbPath: string } {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const dbPath = join(temp.dir, 'relay.db');
  eventsLog(dbPath, 3);
  return { dir: temp.dir, dbPath };
}

async function relayOn(dir: string): Promise<TestRelay> {
  const relay = await startRoutingRelay({ dir, rulesPath: writeRules(dir, TRACE_RULES) });
  cleanups.push(() => relay.close());
  cleanups.push(() => relay.log.close());
  return relay;
}

const DAMAGES = [
  { what: 'its data is not JSON', damage: (dbPath: string) => damageEntryData(dbPath, 2), said: /its data is not valid JSON \(.*\)/ },
  { what: 'its payload does not decrypt', damage: (dbPath: string) => damagePayload(dbPath, 2), said: /its payload does not decrypt: it was altered/ },
];

describe.each(DAMAGES)('router: a damaged entry ($what)', ({ damage, said }) => {
  it('is skipped with one warning naming its seq; the events before and after it are delivered, and so are new ones', async () => {
    // Given a log whose second event was damaged on disk
    const { dir, dbPath } = logOfThreeEvents();
    damage(dbPath);
    // When serve starts on it, and a new event arrives
    const relay = await relayOn(dir);
    const seq = await postEvent(relay, makeEvent({ event_id: 'evt_new' }, { call_id: 'c_new' }));
    // Then the events around the damaged one and the new one are planned and delivered
    const delivered = () => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').map((d) => d.event_id);
    await until(() => delivered().length === 3, { what: 'three deliveries', describe: () => ({ deliveries: deliveriesOf(relay.log), checkpoint: routerCheckpoint(relay.log), lines: relay.lines.slice(-5) }) });
    expect(delivered().sort()).toEqual(['e0', 'e2', 'evt_new']);
    expect(routerCheckpoint(relay.log)).toBe(seq);
    // And one warning names the damaged entry, once; the router never stopped on it
    const warnings = relay.lines.map((l) => JSON.parse(l) as { level: number; msg: string; seq?: number }).filter((l) => /damaged/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, seq: 2 });
    expect(warnings[0]!.msg).toMatch(/^entry 2 skipped: it is damaged \(/);
    expect(warnings[0]!.msg).toMatch(said);
    expect(warnings[0]!.msg).toMatch(/\); nothing is planned from it \(husky-relay log --verify\)$/);
    expect(relay.lines.filter((l) => /"level":50/.test(l))).toEqual([]);
  }, 30_000);
});

describe("the router's reads of the log past a damaged entry", () => {
  it('deliveryOrigins gives no origin for a plan whose data is not JSON, and the others; lastAboutSink passes over a damaged entry of its type', () => {
    // Given two plans and two pauses, the second plan and the later pause damaged on disk
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const dbPath = join(temp.dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    const plan = (delivery_id: string): NewEntry => ({
      type: 'delivery.planned',
      data: { delivery_id, event_id: 'evt_x', event_seq: 99, event_type: 'call.completed', rule_id: 'r', action_index: 0, sink: 'hook', request: {}, order_key: null, rules_hash: 'h' },
    });
    const paused = (sink: string, delivery_id: string): NewEntry => ({ type: 'sink.paused', data: { sink, reason: 'invalid_auth: no', code: 'invalid_auth', delivery_id } });
    log.append([plan('d_sound'), plan('d_damaged'), paused('hook', 'd_sound'), paused('hook', 'd_damaged')]);
    log.close();
    damageEntryData(dbPath, 2);
    damageEntryData(dbPath, 4);
    // When the router reads them
    const reader = new SqliteLog(dbPath);
    cleanups.push(() => reader.close());
    // Then the sound plan has its origin and the damaged one none, instead of the statement failing on SQLite's `malformed JSON`
    const origins = reader.deliveryOrigins(['d_sound', 'd_damaged']);
    expect([...origins.keys()]).toEqual(['d_sound']);
    expect(origins.get('d_sound')).toMatchObject({ rule_id: 'r', sink: 'hook', event_id: 'evt_x' });
    // and the last readable pause of the sink is found past the damaged one
    expect(reader.lastAboutSink('sink.paused', 'hook', 10)?.seq).toBe(3);
  });
});
