import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/log/store.js';
import type { NewEntry } from '../src/log/types.js';
import { SCAN_WINDOW } from '../src/project/console-reads.js';
import { tempDir } from './helpers/relay.js';

/**
 * The console's list reads (README "Console"): pages of events newest first by keyset, each
 * search through an index, a search by event type bounded per page, and the 24 h chart's
 * per-minute counts found by time without reading the entries' data.
 */

const START = Date.parse('2026-06-01T10:00:00.000Z');
let clock = START;
let store: Store;
let cleanup: () => void;

/** An `event.received` as the receiver logs it: `e<i>` of call `c<i mod 5>`, with a summary. */
function eventEntry(i: number, type: string): NewEntry {
  const envelope = { event_id: `e${i}`, event_type: type, created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i % 5}`, agent_id: 'a', status: 's', summary: `summary ${i}` } };
  const data = { event_id: `e${i}`, event_type: type, org_id: 'o', call_id: `c${i % 5}`, created_at: envelope.created_at, received_at: new Date(clock).toISOString() };
  return { type: 'event.received', data: { ...data, body: JSON.stringify(envelope) } } as NewEntry;
}

/** `n` events, one every 20 s from `clock`: every third a call.completed, the others call.initiated; call ids c0..c4. */
async function appendEvents(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.writer.append([eventEntry(i, i % 3 === 0 ? 'call.completed' : 'call.initiated')]);
    clock += 20_000;
  }
}

beforeEach(async () => {
  clock = START;
  const temp = tempDir();
  cleanup = temp.cleanup;
  store = await openStore(join(temp.dir, 'relay.db'), { now: () => new Date(clock) });
});
afterEach(async () => {
  await store.close();
  cleanup();
});

describe('the console reads', () => {
  it('pages events newest first, each page going on below the last seq shown', async () => {
    await appendEvents(30);
    const first = await store.projections.eventPage({ limit: 12 });
    expect(first.rows.map((r) => r.event_id)).toEqual(Array.from({ length: 12 }, (_, i) => `e${29 - i}`));
    expect(first.rows[0]).toMatchObject({ event_type: 'call.initiated', call_id: 'c4', summary: 'summary 29' });
    const second = await store.projections.eventPage({ limit: 12, before: first.next! });
    const third = await store.projections.eventPage({ limit: 12, before: second.next! });
    expect([...first.rows, ...second.rows, ...third.rows].map((r) => r.event_id)).toEqual(Array.from({ length: 30 }, (_, i) => `e${29 - i}`));
    expect(third.next).toBeNull();
  });

  it('finds events by call id, event id, event type and time', async () => {
    await appendEvents(30);
    const byCall = await store.projections.eventPage({ callId: 'c2' });
    expect(byCall.rows.map((r) => r.event_id)).toEqual(['e27', 'e22', 'e17', 'e12', 'e7', 'e2']);
    expect((await store.projections.eventPage({ eventId: 'e13' })).rows.map((r) => r.event_id)).toEqual(['e13']);
    expect((await store.projections.eventPage({ eventId: 'nope' })).rows).toEqual([]);
    const completed = await store.projections.eventPage({ eventType: 'call.completed' });
    expect(completed.rows.map((r) => r.event_id)).toEqual(['e27', 'e24', 'e21', 'e18', 'e15', 'e12', 'e9', 'e6', 'e3', 'e0']);
    // e3 was appended at START + 60 s, e5 at START + 100 s
    const window = await store.projections.eventPage({ since: new Date(START + 60_000).toISOString(), until: new Date(START + 100_000).toISOString() });
    expect(window.rows.map((r) => r.event_id)).toEqual(['e4', 'e3']);
    const both = await store.projections.eventPage({ callId: 'c2', eventType: 'call.completed' });
    expect(both.rows.map((r) => r.event_id)).toEqual(['e27', 'e12']);
  });

  it('looks through at most one window of entries per page when searching by event type, and says where to go on', async () => {
    // one call.completed, then more call.initiated than one window holds
    await store.writer.append([eventEntry(0, 'call.completed'), ...Array.from({ length: SCAN_WINDOW + 10 }, (_, i) => eventEntry(i + 1, 'call.initiated'))]);
    const top = SCAN_WINDOW + 12; // the log's last seq + 1
    const page = await store.projections.eventPage({ eventType: 'call.completed' });
    // nothing in the newest window: the next page starts where this one stopped
    expect(page.rows.map((r) => r.event_id)).toEqual([]);
    expect(page.next).toBe(top - SCAN_WINDOW);
    const next = await store.projections.eventPage({ eventType: 'call.completed', before: page.next! });
    expect(next.rows.map((r) => r.event_id)).toEqual(['e0']);
  });

  it('counts events per minute for the chart', async () => {
    await appendEvents(9); // 3 a minute, over minutes 10:00, 10:01, 10:02
    const activity = await store.projections.activity('2026-06-01T09:59:00.000Z', 5);
    expect(activity.minutes).toEqual([0, 1, 2, 3, 4].map((i) => (Date.parse('2026-06-01T09:59:00.000Z') + i * 60_000) / 1000));
    expect(activity.events).toEqual([0, 3, 3, 3, 0]);
    expect(activity.attempts).toEqual([0, 0, 0, 0, 0]);
  });

  it('pages deliveries newest first with their seq (an empty log has none)', async () => {
    expect(await store.projections.deliveryPage({ status: 'dead' })).toEqual({ rows: [], next: null });
  });
});
