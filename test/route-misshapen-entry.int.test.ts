import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { damageEntryData } from './helpers/damage.js';
import { deliveriesOf, postEvent, routerCheckpoint, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * An operator entry the router has yet to read, rewritten by hand as JSON of another shape than
 * its type's (README "Faults"): it is damaged, and skipped as data that is not JSON is, with one
 * warning naming it. Before, a `sink` that is no text failed the router's every pass (SQLite
 * cannot bind it: routing stopped for good, each new event acknowledged and never planned), and
 * a dead letter or clearing without its fields raised an alert about nothing.
 */

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const RULES = `version: 1
sinks:
  console: { type: log }
rules:
  - id: trace
    on: "*"
    actions: [{ sink: console, text: "{{ event.event_type }}" }]
  - id: alerts
    on: [delivery.dead, "sink.*", "pending.*"]
    actions: [{ sink: console, text: "{{ event.event_type }}" }]
`;

function event(i: number): NewEntry {
  const body = JSON.stringify({ event_id: `e${i}`, event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i}` } });
  return { type: 'event.received', data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body } };
}

const OPERATOR: Record<string, NewEntry> = {
  'delivery.dead': { type: 'delivery.dead', data: { delivery_id: 'd_gone', reason: 'http_400: no' } },
  'sink.resumed': { type: 'sink.resumed', data: { sink: 'gone', reason: 'fixed', code: 'resume' } },
  'pending.cleared': { type: 'pending.cleared', data: { sink: 'gone', oldest_pending_at: null, count: 0 } },
};

const SHAPES = [
  { type: 'delivery.dead', data: '{}', problem: 'delivery_id is missing' },
  { type: 'delivery.dead', data: '{"delivery_id":"d_gone","reason":null}', problem: 'reason is not text (null)' },
  { type: 'sink.resumed', data: '{"sink":{"name":"gone"},"reason":"fixed","code":"resume"}', problem: 'sink is not text (object)' },
  { type: 'sink.resumed', data: '{"sink":true,"reason":"fixed","code":"resume"}', problem: 'sink is not text (boolean)' },
  { type: 'pending.cleared', data: '{"sink":["gone"],"oldest_pending_at":null,"count":0}', problem: 'sink is not text (an array)' },
  { type: 'pending.cleared', data: '{"sink":"gone","oldest_pending_at":null,"count":"0"}', problem: 'count is not a number (string)' },
];

describe('router: an operator entry rewritten as JSON of another shape', () => {
  it.each(SHAPES)('$type as $data is skipped with one warning naming it; the events around it and new ones are routed', async ({ type, data, problem }) => {
    // Given a log of an event, an operator entry and an event, not routed yet, the operator entry rewritten by hand
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const dbPath = join(temp.dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([event(0), OPERATOR[type]!, event(1)]);
    log.close();
    damageEntryData(dbPath, 2, data);
    // When serve starts on it, and a new event arrives
    const relay: TestRelay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, RULES) });
    cleanups.push(() => relay.close());
    cleanups.push(() => relay.log.close());
    const seq = await postEvent(relay, makeEvent({ event_id: 'evt_new' }, { call_id: 'c_new' }));
    // Then the events are planned and delivered, and no alert is planned from the damaged entry
    const delivered = () => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').map((d) => d.event_id);
    await until(() => routerCheckpoint(relay.log) === seq && delivered().length === 3, {
      what: 'the three events delivered',
      describe: () => ({ deliveries: deliveriesOf(relay.log), checkpoint: routerCheckpoint(relay.log), lines: relay.lines.slice(-5) }),
    });
    expect(delivered().sort()).toEqual(['e0', 'e1', 'evt_new']);
    expect(deliveriesOf(relay.log).map((d) => d.event_id)).not.toContain('op-2');
    // And one warning names the entry and what is wrong with it; nothing failed
    const warnings = relay.lines.map((l) => JSON.parse(l) as { level: number; msg: string; seq?: number }).filter((l) => /damaged/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, seq: 2 });
    expect(warnings[0]!.msg).toBe(`entry 2 skipped: it is damaged (its data is not what a ${type} entry holds (${problem})); nothing is planned from it (husky-relay log --verify)`);
    expect(relay.lines.filter((l) => /"level":50/.test(l))).toEqual([]);
  }, 30_000);
});
