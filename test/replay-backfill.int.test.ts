import { createHash } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { DeliveryPlanned, NewEntry } from '../src/log/types.js';
import { listDeliveries } from '../src/project/queries.js';
import type { Envelope } from '../src/receive/envelope.js';
import { backfill } from '../src/route/backfill.js';
import { newGeneration } from '../src/route/delivery-id.js';
import { operatorEvent } from '../src/route/operator-events.js';
import { planEvent } from '../src/route/plan-event.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import type { LoadedRules } from '../src/rules/types.js';
import { tempDir, seamOf } from './helpers/relay.js';
import { envelopeOf, steppingClock } from './helpers/replay-scenario.js';

const TRACE_RULE = `
  - id: trace
    on: "*"
    actions:
      - sink: console
        text: "{{ event.event_type }} {{ data.call_id }}"
`;
const NEW_RULE = `
  - id: completed-audit
    on: call.*ed
    when: data.duration_seconds >= 60
    actions:
      - sink: audit
        text: "done {{ data.call_id }} after {{ data.duration_seconds }}s"
      - sink: console
        text: "audited {{ event.event_id }}"
`;

function rules(...ruleTexts: string[]): LoadedRules {
  const text = `version: 1\nsinks:\n  console: { type: log }\n  audit: { type: log }\nrules:${ruleTexts.join('')}`;
  const loaded = loadRulesFromText(text, 'rules.yaml', {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.rules;
}

const TYPES = ['call.initiated', 'call.answered', 'call.completed', 'call.failed'];

/** Appends events, one transaction each (so each has its own `at`); returns them as the router sees them. */
function appendEvents(log: SqliteLog, specs: { type: string; call: number }[], prefix: string) {
  return specs.map((spec, i) => {
    const envelope = envelopeOf(`${prefix}_${i}`, spec.type, spec.call) as unknown as Envelope;
    const [r] = log.append([
      {
        type: 'event.received',
        data: { event_id: envelope.event_id, event_type: spec.type, org_id: envelope.org_id, created_at: envelope.created_at, received_at: '2026-06-01T09:00:00.000Z', call_id: envelope.data.call_id, body: JSON.stringify(envelope) },
      },
    ]);
    return { seq: r!.seq!, received_at: '2026-06-01T09:00:00.000Z', envelope };
  });
}

const planned = (log: SqliteLog, afterSeq: number): DeliveryPlanned[] =>
  log.read(afterSeq, { types: ['delivery.planned'] }).map((e) => e.data as DeliveryPlanned);
const asEntries = (plans: DeliveryPlanned[]): NewEntry[] => plans.map((data) => ({ type: 'delivery.planned', data }));
const specArb = fc.array(fc.record({ type: fc.constantFrom(...TYPES), call: fc.nat(3) }), { minLength: 1, maxLength: 40 });

describe('replay: run the current rules over past events', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir('husky-backfill-');
  });
  afterEach(() => temp.cleanup());

  it('plans exactly the deliveries that do not exist yet, and nothing twice', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(specArb, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), async (specs, routed) => {
        // Given past events, some of them already routed under the old rules
        const log = new SqliteLog(join(temp.dir, `prop-${run++}.db`), { now: steppingClock() });
        const events = appendEvents(log, specs, 'evt');
        const oldRules = rules(TRACE_RULE);
        for (const [i, ev] of events.entries()) if (routed[i]) log.append(asEntries(planEvent(oldRules, ev)));
        const existing = new Set(planned(log, 0).map((p) => p.delivery_id));
        const before = log.lastSeq();

        // When a new rule is added and the current rules are replayed
        const current = rules(TRACE_RULE, NEW_RULE);
        const first = await backfill(seamOf(log), current);

        // Then the plans appended are exactly those the current rules make that were missing
        const expected = events.flatMap((ev) => planEvent(current, ev)).filter((p) => !existing.has(p.delivery_id));
        expect(planned(log, before)).toEqual(expected);
        expect(first.planned).toBe(expected.length);
        expect(first.by_rule['trace']!.existing).toBe(existing.size);

        // And replaying again plans nothing
        const lastSeq = log.lastSeq();
        const second = await backfill(seamOf(log), current);
        expect(second.planned).toBe(0);
        expect(log.lastSeq()).toBe(lastSeq);
        expect(second.by_rule['trace']!.existing + second.by_rule['completed-audit']!.existing).toBe(existing.size + expected.length);
        log.close();
      }),
      { numRuns: 40 },
    );
  });

  it('a dry run appends nothing and shows exactly what the real run then plans', async () => {
    // Given past events and a new rule
    const log = new SqliteLog(join(temp.dir, 'dry.db'), { now: steppingClock() });
    appendEvents(log, fc.sample(specArb, { numRuns: 1, seed: 5 })[0]!, 'evt');
    const current = rules(TRACE_RULE, NEW_RULE);
    const lastSeq = log.lastSeq();

    // When it is dry run
    const shown: DeliveryPlanned[] = [];
    const dry = await backfill(seamOf(log), current, { dryRun: true, onPlan: (p) => shown.push(p) });

    // Then the log did not move, and what was shown is what the real run plans
    expect(log.lastSeq()).toBe(lastSeq);
    expect(dry.planned).toBe(shown.length);
    expect(shown.length).toBeGreaterThan(0);
    const real = await backfill(seamOf(log), current);
    expect(planned(log, lastSeq)).toEqual(shown);
    expect(real.by_rule).toEqual(dry.by_rule);
    log.close();
  });

  it('--force plans every matching action again, under new delivery ids', async () => {
    // Given events whose deliveries were all planned (and one delivered)
    const log = new SqliteLog(join(temp.dir, 'force.db'), { now: steppingClock() });
    const current = rules(TRACE_RULE, NEW_RULE);
    const events = appendEvents(log, [{ type: 'call.completed', call: 2 }, { type: 'call.failed', call: 1 }, { type: 'call.answered', call: 1 }], 'evt');
    await backfill(seamOf(log), current);
    const originals = listDeliveries(log.db);
    expect(originals).toHaveLength(events.flatMap((ev) => planEvent(current, ev)).length);

    // When replayed with a new generation
    const forced = await backfill(seamOf(log), current, { generation: 'g1' });

    // Then each original delivery has a twin, pending, with its own id
    expect(forced.planned).toBe(originals.length);
    const twins = listDeliveries(log.db).filter((d) => d.delivery_id.endsWith('_g1'));
    expect(twins.map((d) => d.status)).toEqual(originals.map(() => 'pending'));
    expect(new Set(twins.map((d) => d.delivery_id)).size).toBe(originals.length);
    expect(twins.every((d) => !originals.some((o) => o.delivery_id === d.delivery_id))).toBe(true);
    // And the same generation twice is still planned once; a newer one plans again
    expect((await backfill(seamOf(log), current, { generation: 'g1' })).planned).toBe(0);
    expect((await backfill(seamOf(log), current, { generation: 'g2' })).planned).toBe(originals.length);
    log.close();
  });

  it('two --force runs that start in the same millisecond (or after the clock was set back) each plan every action again', async () => {
    // Given events whose deliveries were all planned
    const log = new SqliteLog(join(temp.dir, 'force-same-ms.db'), { now: steppingClock() });
    const current = rules(TRACE_RULE, NEW_RULE);
    appendEvents(log, [{ type: 'call.completed', call: 2 }, { type: 'call.failed', call: 1 }], 'evt');
    const originals = (await backfill(seamOf(log), current)).planned;
    expect(originals).toBeGreaterThan(0);

    // When two --force runs take their generation at the same instant
    const at = Date.parse('2026-12-03T15:00:00.000Z');
    const first = await backfill(seamOf(log), current, { generation: newGeneration(at) });
    const second = await backfill(seamOf(log), current, { generation: newGeneration(at) });

    // Then each planned every action again (a shared generation made the second plan nothing and deliver nothing)
    expect([first.planned, second.planned]).toEqual([originals, originals]);
    expect(listDeliveries(log.db).filter((d) => d.status === 'pending')).toHaveLength(3 * originals);
    log.close();
  });

  it('a generation is g, the time in base 36 and five random base-36 digits', () => {
    const at = Date.parse('2026-12-03T15:00:00.000Z');
    expect(newGeneration(at, () => Buffer.from([0, 0, 0]))).toBe(`g${at.toString(36)}00000`);
    expect(newGeneration(at, () => Buffer.from([0xff, 0xff, 0xff]))).toBe(`g${at.toString(36)}9zldr`);
  });

  it('--force stopped by Ctrl-C: what it read is planned whole, and a new generation --since where it stopped plans only the rest', async () => {
    // Given 1,200 past events, each received at its own instant
    const log = new SqliteLog(join(temp.dir, 'stopped.db'), { now: steppingClock() });
    const current = rules(TRACE_RULE, NEW_RULE);
    const events = appendEvents(log, Array.from({ length: 1200 }, (_, i) => ({ type: TYPES[i % 4]!, call: i % 7 })), 'evt');
    const plansOf = (evs: typeof events) => evs.flatMap((ev) => planEvent(current, ev)).length;

    // When a --force replay is interrupted once its first batch is appended
    const controller = new AbortController();
    const first = await backfill(seamOf(log), current, { generation: 'g1', signal: controller.signal, onBatch: () => controller.abort() });

    // Then it says where it stopped, and every event read has all its plans under g1, no more
    const stopped = first.stopped!;
    expect(stopped.after_seq).toBeGreaterThanOrEqual(500);
    expect(stopped.after_seq).toBeLessThan(1200);
    expect(stopped.next.seq).toBe(stopped.after_seq + 1);
    expect(stopped.since_next_is_exact).toBe(true);
    const g1 = listDeliveries(log.db).filter((d) => d.delivery_id.endsWith('_g1'));
    expect(g1).toHaveLength(plansOf(events.filter((ev) => ev.seq <= stopped.after_seq)));
    expect(first.planned).toBe(g1.length);

    // And a new --force generation from --since next.at plans the rest only: each delivery once in all
    const rest = await backfill(seamOf(log), current, { generation: 'g2', since: stopped.next.at });
    expect(rest.stopped).toBeUndefined();
    const g2 = listDeliveries(log.db).filter((d) => d.delivery_id.endsWith('_g2'));
    expect(g1.length + g2.length).toBe(plansOf(events));
    expect(g2.some((d) => g1.some((o) => o.event_id === d.event_id))).toBe(false);
    log.close();
  });

  it('works while events arrive: plans what was there when it started, leaves the rest to the router', async () => {
    // Given 1,200 past events (three batches) and a relay appending new ones meanwhile
    const dbPath = join(temp.dir, 'live.db');
    const log = new SqliteLog(dbPath, { now: steppingClock() });
    const past = appendEvents(log, Array.from({ length: 1200 }, (_, i) => ({ type: TYPES[i % 4]!, call: i % 7 })), 'old');
    const relay = new SqliteLog(dbPath, { now: steppingClock(Date.parse('2026-07-01T00:00:00Z')) });
    const current = rules(TRACE_RULE, NEW_RULE);

    // When the replay runs and new events are appended between its batches
    let batches = 0;
    const arrived: ReturnType<typeof appendEvents> = [];
    const result = await backfill(seamOf(log), current, {
      onBatch: () => {
        arrived.push(...appendEvents(relay, [{ type: 'call.completed', call: 9 }], `new${batches++}`));
      },
    });

    // Then every past event got its deliveries, and the new ones none yet
    expect(batches).toBe(3);
    expect(result.events).toBe(1200);
    expect(result.through_seq).toBe(past[past.length - 1]!.seq);
    const ids = new Set(listDeliveries(log.db).map((d) => d.delivery_id));
    expect(past.flatMap((ev) => planEvent(current, ev)).every((p) => ids.has(p.delivery_id))).toBe(true);
    expect(listDeliveries(log.db).filter((d) => d.event_id.startsWith('new'))).toEqual([]);
    // And the next replay plans the new events' deliveries only
    const next = await backfill(seamOf(log), current);
    expect(next.planned).toBe(arrived.flatMap((ev) => planEvent(current, ev)).length);
    relay.close();
    log.close();
  });

  it('--since/--until (time received), --type and --rule narrow what is replayed', async () => {
    // Given events received a second apart
    const log = new SqliteLog(join(temp.dir, 'filters.db'), { now: steppingClock(Date.parse('2026-06-01T09:00:00.000Z')) });
    const events = appendEvents(log, TYPES.map((type, call) => ({ type, call })), 'evt'); // at 09:00:01 … 09:00:04
    const current = rules(TRACE_RULE, NEW_RULE);

    // When replaying only a window, a type, or a rule
    const window = await backfill(seamOf(log), current, { dryRun: true, since: '2026-06-01T09:00:02.000Z', until: '2026-06-01T09:00:04.000Z' });
    const completed = await backfill(seamOf(log), current, { dryRun: true, type: 'call.complete*' });
    const onlyTrace = await backfill(seamOf(log), current, { dryRun: true, rule: 'trace' });

    // Then only those events and rules count
    expect(window.events).toBe(2); // 09:00:02 and 09:00:03; --until is exclusive
    expect(completed.events).toBe(1);
    expect(completed.by_rule['completed-audit']!.planned).toBe(planEvent(current, events[2]!, { onlyRule: 'completed-audit' }).length);
    expect(Object.keys(onlyTrace.by_rule)).toEqual(['trace']);
    expect(onlyTrace.planned).toBe(events.length);
    log.close();
  });

  it('a log from before delivery ids had namespaces: replay plans the delivery an alert\'s id took, and nothing else again', async () => {
    // Given a log written by the old relay: a dead letter at seq N, its alert (rule both) under
    // event id op-N, then a HuskyVoice event op-N whose trace was planned under the old id and
    // whose `both` plan was swallowed (same old id as the alert)
    const log = new SqliteLog(join(temp.dir, 'old.db'), { now: steppingClock() });
    const current = rules(TRACE_RULE, '\n  - id: both\n    on: [delivery.dead, "call.*"]\n    actions:\n      - { sink: console, text: "{{ event.event_type }}" }\n');
    const oldId = (eventId: string, rule: string) => `dlv_${createHash('sha256').update(`${eventId}\u0000${rule}\u00000`).digest('base64url').slice(0, 22)}`;
    const [failed] = appendEvents(log, [{ type: 'call.failed', call: 1 }], 'evt');
    log.append(asEntries(planEvent(current, failed!)));
    const dead = planEvent(current, failed!)[0]!.delivery_id;
    const n = log.append([{ type: 'delivery.dead', data: { delivery_id: dead, reason: 'gone' } }])[0]!.seq!;
    const alert = planEvent(current, operatorEvent(n, 'delivery.dead', '2026-06-01T09:00:00.000Z', { delivery_id: dead, reason: 'gone' }));
    expect(alert.map((p) => [p.rule_id, p.event_id, p.delivery_id])).toEqual([['both', `op-${n}`, oldId(`op-${n}`, 'both')]]);
    log.append(asEntries(alert));
    const envelope = envelopeOf(`op-${n}`, 'call.completed', 2) as unknown as Envelope;
    const body = JSON.stringify(envelope);
    const { event_id, event_type, org_id, created_at } = envelope;
    const seq = log.append([{ type: 'event.received', data: { event_id, event_type, org_id, created_at, received_at: '2026-06-01T09:00:00.000Z', call_id: envelope.data.call_id, body } }])[0]!.seq!;
    const [trace] = planEvent(current, { seq, received_at: '2026-06-01T09:00:00.000Z', envelope, body });
    log.append(asEntries([{ ...trace!, delivery_id: oldId(`op-${n}`, 'trace') }]));
    const before = log.lastSeq();

    // When the new relay replays it
    const result = await backfill(seamOf(log), current);

    // Then only the swallowed delivery is planned: the trace it sent already is not sent again
    expect(planned(log, before).map((p) => [p.rule_id, p.event_type, p.event_id])).toEqual([['both', 'call.completed', `op-${n}`]]);
    expect(result.by_rule).toEqual({ trace: { planned: 0, existing: 2, failed: 0 }, both: { planned: 1, existing: 1, failed: 0 } });
    log.close();
  });
});
