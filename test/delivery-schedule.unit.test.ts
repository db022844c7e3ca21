import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueSchedule, type ScheduledDelivery } from '../src/delivery/schedule.js';

const d = (id: string, seq: number, over: Partial<ScheduledDelivery> = {}): ScheduledDelivery => ({
  delivery_id: id,
  seq,
  sink: 'slack',
  order_key: null,
  due: 0,
  ...over,
});
const ids = (list: ScheduledDelivery[]) => list.map((x) => x.delivery_id);

describe('DueSchedule', () => {
  it('a dead delivery re-driven and failed again is not handed out before its new time (stale entries of its first life)', () => {
    // the property's counterexample: plan, fail (due 0), close (dead), re-drive, fail (due 1), take at 0
    const s = new DueSchedule();
    const x = d('d1', 1, { sink: 'b', order_key: null });
    s.put(x);
    s.put({ ...x, due: 0 });
    s.remove('d1');
    s.put({ ...x, due: 0 });
    s.put({ ...x, due: 1 });
    expect(s.take('b', 0, 1)).toEqual([]);
    expect(ids(s.take('b', 1, 1))).toEqual(['d1']);
  });

  it('hands out what is due in log order, each once, and tells when the next is due', () => {
    // Given three deliveries, one of them due later
    const s = new DueSchedule();
    s.put(d('c', 3));
    s.put(d('a', 1));
    s.put(d('b', 2, { due: 5000 }));
    // When / Then
    expect(ids(s.take('slack', 1000, 10))).toEqual(['a', 'c']);
    expect(ids(s.take('slack', 1000, 10))).toEqual([]);
    expect(s.nextDue('slack', 1000)).toBe(5000);
    expect(ids(s.take('slack', 5000, 10))).toEqual(['b']);
  });

  it('keeps per-key order: only the first open delivery of a key is eligible', () => {
    // Given a thread of three messages, the first failing
    const s = new DueSchedule();
    for (const [id, seq] of [['t1', 1], ['t2', 2], ['t3', 3]] as const) s.put(d(id, seq, { order_key: 'call_1' }));
    s.put(d('other', 4));
    expect(ids(s.take('slack', 0, 10))).toEqual(['t1', 'other']);
    // When the first fails and is due again later, the others still wait
    s.put(d('t1', 1, { order_key: 'call_1', due: 10_000 }));
    expect(ids(s.take('slack', 5000, 10))).toEqual([]);
    // When it succeeds, the next is eligible at once
    expect(ids(s.take('slack', 10_000, 10))).toEqual(['t1']);
    s.remove('t1');
    expect(ids(s.take('slack', 10_000, 10))).toEqual(['t2']);
  });

  it('a re-driven earlier delivery of a key goes first and holds the later ones back', () => {
    const s = new DueSchedule();
    s.put(d('t2', 2, { order_key: 'k' }));
    // When t1 (dead before, seq 1) is re-driven
    s.put(d('t1', 1, { order_key: 'k' }));
    // Then t1 goes first, t2 after it closes
    expect(ids(s.take('slack', 0, 10))).toEqual(['t1']);
    s.remove('t1');
    expect(ids(s.take('slack', 0, 10))).toEqual(['t2']);
  });

  it('a re-driven earlier delivery waits while a later one of its key is in flight: two of a key are never in flight at once', () => {
    // Given t2 of a thread in flight, t1 (dead before, seq 1) is re-driven
    const s = new DueSchedule();
    s.put(d('t2', 2, { order_key: 'k' }));
    expect(ids(s.take('slack', 0, 10))).toEqual(['t2']);
    s.put(d('t1', 1, { order_key: 'k' }));
    // Then t1 is not handed out while t2's attempt is out
    expect(ids(s.take('slack', 0, 10))).toEqual([]);
    // When t2's attempt fails and it is due again at once, t1 goes first, and t2 waits behind it
    s.put(d('t2', 2, { order_key: 'k', due: 0 }));
    expect(ids(s.take('slack', 0, 10))).toEqual(['t1']);
    s.remove('t1');
    expect(ids(s.take('slack', 0, 10))).toEqual(['t2']);
  });

  it('the same when the later one succeeds, or is given back unattempted', () => {
    for (const back of ['remove', 'release'] as const) {
      const s = new DueSchedule();
      s.put(d('t2', 2, { order_key: 'k' }));
      expect(ids(s.take('slack', 0, 10))).toEqual(['t2']);
      s.put(d('t1', 1, { order_key: 'k' }));
      expect(ids(s.take('slack', 0, 10))).toEqual([]);
      if (back === 'remove') s.remove('t2');
      else s.release('t2');
      expect(ids(s.take('slack', 0, 10))).toEqual(['t1']);
    }
  });

  it('gives a released delivery back', () => {
    const s = new DueSchedule();
    s.put(d('a', 1));
    expect(ids(s.take('slack', 0, 1))).toEqual(['a']);
    s.release('a');
    expect(s.hasDue('slack', 0)).toBe(true);
    expect(ids(s.take('slack', 0, 1))).toEqual(['a']);
  });

  it('agrees with the SQL definition of "due" for any sequence of changes', () => {
    // The definition the projection query used: open, not in flight, due, and no earlier open
    // delivery with the same sink and order key; in seq order. And no other of its key in flight
    // (a re-driven earlier one waits for a later one's attempt to come back).
    type Op =
      | { op: 'plan'; key: string | null; sink: string }
      | { op: 'fail'; pick: number; due: number }
      | { op: 'close'; pick: number }
      | { op: 'redrive'; pick: number }
      | { op: 'take'; sink: string; now: number; limit: number }
      | { op: 'release'; pick: number };
    const sinkArb = fc.constantFrom('a', 'b');
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('plan' as const), key: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: null }), sink: sinkArb }),
      fc.record({ op: fc.constant('fail' as const), pick: fc.nat(), due: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant('close' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('redrive' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('take' as const), sink: sinkArb, now: fc.integer({ min: 0, max: 60 }), limit: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const s = new DueSchedule();
        const all: ScheduledDelivery[] = []; // every delivery ever planned
        const open = new Map<string, ScheduledDelivery>();
        const taken = new Set<string>();
        for (const o of ops) {
          if (o.op === 'plan') {
            const x = d(`d${all.length + 1}`, all.length + 1, { sink: o.sink, order_key: o.key });
            all.push(x);
            open.set(x.delivery_id, x);
            s.put(x);
          } else if (o.op === 'take') {
            const expected = [...open.values()]
              .filter((x) => x.sink === o.sink && !taken.has(x.delivery_id) && x.due <= o.now)
              .filter((x) => x.order_key === null || ![...open.values()].some((y) => y.sink === x.sink && y.order_key === x.order_key && (y.seq < x.seq || taken.has(y.delivery_id))))
              .sort((x, y) => x.seq - y.seq)
              .slice(0, o.limit);
            const got = s.take(o.sink, o.now, o.limit);
            expect(ids(got)).toEqual(ids(expected));
            for (const x of got) taken.add(x.delivery_id);
          } else if (all.length > 0) {
            const x = all[o.pick % all.length]!;
            if (o.op === 'redrive') {
              if (open.has(x.delivery_id)) continue;
              const again = { ...x, due: 0 };
              open.set(x.delivery_id, again);
              s.put(again);
            } else if (!open.has(x.delivery_id)) continue;
            else if (o.op === 'fail') {
              const again = { ...x, due: o.due };
              open.set(x.delivery_id, again);
              taken.delete(x.delivery_id);
              s.put(again);
            } else if (o.op === 'close') {
              open.delete(x.delivery_id);
              taken.delete(x.delivery_id);
              s.remove(x.delivery_id);
            } else if (o.op === 'release') {
              taken.delete(x.delivery_id);
              s.release(x.delivery_id);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
