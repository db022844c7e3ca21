import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/log/store.js';
import type { Entry, NewEntry } from '../../src/log/types.js';
import { sweepAndTruncate } from '../../src/privacy/retention.js';
import { ENGINES, engineFixture, openWithClock, type EngineFixture } from '../helpers/engines.js';

/**
 * Retention's truncation (README "Retention", SPEC §12: under retention the file stops growing)
 * on every engine: the entries of calls erased a window ago leave the front of the log, the
 * chain goes on from where they ended, and the projections stay what a rebuild from the entries
 * left makes, even where a removed entry made them (counts, sink health, a key two calls share).
 */
const DAY = 86_400_000;
/** The retention window of these tests: 18 hours (payloads go after one window, facts after two). */
const WINDOW = 0.75 * DAY;
const at = (day: number) => new Date(Date.UTC(2026, 5, 1) + day * DAY).toISOString();

function event(id: string, callId: string, day: number): NewEntry {
  const body = JSON.stringify({ event_id: id, event_type: 'call.completed', data: { call_id: callId, transcript: `secret of ${callId}` } });
  return { type: 'event.received', data: { event_id: id, event_type: 'call.completed', org_id: 'org_1', created_at: at(day), received_at: at(day), call_id: callId, body } };
}

function plan(id: string, eventId: string, eventSeq: number, callId: string): NewEntry {
  return {
    type: 'delivery.planned',
    data: { delivery_id: id, event_id: eventId, event_seq: eventSeq, event_type: 'call.completed', call_id: callId, rule_id: 'r', action_index: 0, sink: 'slack', request: { channel: '#sales', text: `about ${callId}` }, order_key: 'org_1', rules_hash: 'h' },
  };
}

function attempt(id: string, ts: string): NewEntry {
  return { type: 'delivery.attempted', data: { delivery_id: id, attempt: 1, outcome: 'succeeded', duration_ms: 5, error: null, retry_at: null, result: { channel: 'C1', ts } } };
}

describe.each(ENGINES)('retention truncation on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  const clock = { at: at(0) };
  beforeEach(async () => {
    fx = await engineFixture(engine);
    clock.at = at(1);
    store = await openWithClock(fx.location, clock);
    // Given call A on day 1, delivered to Slack under the org's order key (seqs 1-3)
    await store.writer.append([event('evt_a', 'call_a', 1)]);
    await store.writer.append([plan('d_a', 'evt_a', 1, 'call_a')]);
    await store.writer.append([attempt('d_a', '100.1')]);
    // and call B at noon on day 2, planned under the same key, not delivered yet (seqs 4-5)
    clock.at = at(2.5);
    await store.writer.append([event('evt_b', 'call_b', 2.5)]);
    await store.writer.append([plan('d_b', 'evt_b', 4, 'call_b')]);
  });
  afterEach(async () => {
    await store.close();
    await fx.cleanup();
  });

  it("removes an erased call's entries, and keeps what they made that lives on: the chain, the counts, the key's thread", async () => {
    const hash3 = (await store.log.read(2, { hashes: true, limit: 1 }))[0]!.hash;
    // When retention with an 18-hour window sweeps on day 3: A was last seen over a window ago,
    // its entries over two windows ago; B under a window ago
    clock.at = at(3);
    const swept = await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW);
    // Then call A is erased (seq 6) and its three entries removed; B, within the window, stays
    expect(swept).toEqual({ erased: 1, removed: 3 });
    const left = await store.log.read(0);
    expect(left.map((e) => [e.seq, e.type])).toEqual([
      [4, 'event.received'],
      [5, 'delivery.planned'],
      [6, 'call.erased'],
      [7, 'log.truncated'],
    ]);
    const truncated = (left[3] as Entry & { type: 'log.truncated' }).data;
    expect([truncated.before_seq, truncated.prev_hash, truncated.entries, truncated.calls]).toEqual([4, hash3, 3, 1]);
    // And nothing of A's events is left to read: its erasure is all that remains of it
    expect(await store.privacy.erasable(['call_a'])).toEqual([{ call_id: 'call_a', events: 0, payloads: 0, erased: true }]);
    expect(await store.log.eventBody('evt_a')).toBeNull();
    // And the chain verifies from where the log now starts
    expect(await store.privacy.verifyChain()).toEqual({ ok: true, entries: 4, head: (await store.privacy.chainHead())!, from: { seq: 4, prev: hash3 } });
    // And the truncation kept what A's entries made that lives on: the org key's thread (B's
    // delivery will reply in it), the event counts, Slack's health
    expect(truncated.snapshot.key_state.map((k) => [k[0], k[1], k[2], JSON.parse(k[3]).ts])).toEqual([['slack', 'org_1', '#sales', '100.1']]);
    const status = await store.projections.status(null);
    expect(status.events).toEqual({ total: 2, by_type: { 'call.completed': 2 } });
    expect(status.sinks['slack']).toMatchObject({ last_success_at: at(1) });
    // And the projections are what a rebuild from the entries left makes, before and after B's delivery
    expect((await store.verify()).differences).toEqual([]);
    await store.writer.append([attempt('d_b', '100.2')]);
    expect((await store.verify()).differences).toEqual([]);
    // And a second sweep finds nothing more to remove
    expect(await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).toEqual({ erased: 0, removed: 0 });
  });

  it('holds back at a call not erased yet and at an open delivery; takes each once it is done', async () => {
    // Given an alert to #relay-ops (no call) planned on day 2.5 and not sent yet (seq 6)
    await store.writer.append([
      { type: 'delivery.planned', data: { delivery_id: 'alert_1', event_id: 'op-3', event_seq: 3, event_type: 'delivery.dead', rule_id: 'ops', action_index: 0, sink: 'ops', request: { channel: '#relay-ops', text: 'dead' }, order_key: null, rules_hash: 'h' } },
    ]);
    // When the log is truncated on day 3, A's entries two windows old but A not erased: nothing goes
    clock.at = at(3);
    expect(await store.privacy.truncate(new Date(clock.at), WINDOW)).toBeNull();
    // When on day 4.1 retention erases A and B (B's delivery dies): their entries go, up to the open alert
    clock.at = at(4.1);
    expect(await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).toEqual({ erased: 2, removed: 5 });
    expect((await store.log.read(0)).map((e) => e.type)).toEqual(['delivery.planned', 'call.erased', 'call.erased', 'delivery.dead', 'log.truncated']);
    expect((await store.verify()).differences).toEqual([]);
    // When the alert is sent, and retention sweeps on day 6: all but the last truncation goes
    await store.writer.append([attempt('alert_1', '200.1')]);
    clock.at = at(6);
    expect(await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).toEqual({ erased: 0, removed: 6 });
    expect((await store.log.read(0)).map((e) => [e.seq, e.type])).toEqual([[12, 'log.truncated']]);
    // and an idle log is left alone: removing one truncation's entry to append another would only churn
    clock.at = at(9);
    expect(await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).toEqual({ erased: 0, removed: 0 });
    expect((await store.privacy.verifyChain()).ok).toBe(true);
    expect((await store.verify()).differences).toEqual([]);
    expect((await store.projections.status(null)).events.total).toBe(2);
  });

  it("keeps what the router has yet to read looks back at: a dead letter's plan, until it is routed", async () => {
    // Given the router has read A and B (checkpoint at seq 5)
    await store.writer.append([], { name: 'router', seq: 5 });
    // When on day 4.1 retention erases both, B's open delivery dying (seq 8), not yet routed
    clock.at = at(4.1);
    const swept = await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW);
    // Then B's plan stays (the router will read the dead letter's rule and sink from it), and so does its event
    expect(swept).toEqual({ erased: 2, removed: 3 });
    expect((await store.log.read(0)).map((e) => e.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(await store.log.deliveryOrigins(['d_b'])).toEqual(new Map([['d_b', expect.objectContaining({ rule_id: 'r', sink: 'slack', call_id: 'call_b' })]]));
    // And once the router has read the dead letter, they go
    await store.writer.append([], { name: 'router', seq: 9 });
    expect((await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW)).removed).toBe(2);
    expect((await store.verify()).differences).toEqual([]);
  });

  it('cuts through a call that never goes quiet: its old events go, its row counts them all', async () => {
    // Given call S (a monitoring check reusing one call id) with an event on days 2.6, 3.2, 3.8 and 4.4
    for (const day of [2.6, 3.2, 3.8, 4.4]) {
      clock.at = at(day);
      await store.writer.append([event(`evt_s_${day}`, 'call_s', day)]);
    }
    // When retention sweeps on day 4.5: A and B are erased, S is not (seen 0.1 day ago)
    clock.at = at(4.5);
    const swept = await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW);
    // Then everything older than two windows (day 3) goes, S's first event with A's and B's entries
    expect(swept).toEqual({ erased: 2, removed: 6 });
    expect((await store.log.read(0, { types: ['event.received'] })).map((e) => (e as Entry & { type: 'event.received' }).data.event_id)).toEqual(['evt_s_3.2', 'evt_s_3.8', 'evt_s_4.4']);
    // And S's row still counts its four events, as a rebuild from the entries left does (the snapshot)
    const truncated = (await store.log.lastOfType('log.truncated'))!.data;
    expect(truncated.snapshot.calls).toEqual([['call_s', 'org_1', 'call.completed', 9, 4]]);
    expect((await store.verify()).differences).toEqual([]);
    // And once S went quiet it is erased, its events leave, and its row with them, live as in a rebuild
    clock.at = at(7);
    await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW);
    expect(await store.privacy.erasable(['call_s'])).toEqual([{ call_id: 'call_s', events: 0, payloads: 0, erased: true }]);
    expect(await store.projections.call('call_s')).toBeUndefined();
    expect((await store.verify()).differences).toEqual([]);
  });

  it('refuses to delete a kept entry, or to move the start back; a start moved on by hand fails verification', async () => {
    clock.at = at(3);
    await sweepAndTruncate(store.privacy, new Date(clock.at), WINDOW);
    await expect(fx.raw(`DELETE FROM entries WHERE seq = 4`)).rejects.toThrow('append-only');
    await expect(fx.raw(`UPDATE log_start SET seq = 2`)).rejects.toThrow('only moves forward');
    // When someone with the file moves the start past entry 4 and deletes it
    const hash4 = (await store.log.read(3, { hashes: true, limit: 1 }))[0]!.hash;
    await fx.raw(`UPDATE log_start SET seq = 5, prev_hash = '${hash4}'`);
    await fx.raw(`DELETE FROM entries WHERE seq = 4`);
    // Then verification names the start the last truncation does not
    expect(await store.privacy.verifyChain()).toEqual({ ok: false, entries: 0, seq: 5, reason: 'the log starts at entry 5, but its last truncation says it starts at 4' });
  });
});
