import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/log/store.js';
import type { Entry, NewEntry } from '../../src/log/types.js';
import { ROUTER_CHECKPOINT } from '../../src/route/router.js';
import { storableText } from '../../src/log/text.js';
import { D, EXPECTED_STORY, OTHER_CALL, STORY_CALL, writeStory } from '../helpers/call-scenario.js';
import { appendAsLogged, engineFixture, ENGINES, openWithClock, type EngineFixture } from '../helpers/engines.js';
import { receivedEntry } from '../helpers/entries.js';
import { tempDir } from '../helpers/relay.js';

/**
 * The storage contract (README "The log", SPEC §5 and §13), written once and run on every engine:
 * what a command, the router and the dispatcher rely on from `openStore`'s `Store`.
 */

const received = (overrides: Parameters<typeof receivedEntry>[0] = {}) => receivedEntry({ prefix: 'contract', ...overrides });
const rulesLoaded = (): NewEntry => ({ type: 'rules.loaded', data: { rules_hash: 'a'.repeat(64), path: '/etc/rules.yaml' } });

/** The story of issue 14 (test/helpers/call-scenario.ts), as the SQLite relay wrote it: the reference. */
let story: Entry[];
let storyCleanup: () => void;
beforeAll(async () => {
  const temp = tempDir();
  storyCleanup = temp.cleanup;
  const { dbPath } = await writeStory(temp.dir);
  const source = await openStore(dbPath);
  story = await source.log.read(0);
  await source.close();
});
afterAll(() => storyCleanup());

describe.each(ENGINES)('the storage contract on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  const clock = { at: '2026-06-01T12:34:56.789Z' };
  beforeEach(async () => {
    fx = await engineFixture(engine);
    store = await openWithClock(fx.location, clock);
  });
  afterEach(async () => {
    await store.close();
    await fx.cleanup();
  });

  it('appends with consecutive seqs, stamps `at` from the clock, and reads back exactly what was written', async () => {
    // Given three entries, one with non-ASCII text in its body
    const entries = [received({ body: '{"name":"Zoë 🎧","esc":"\\u00fc"}' }), rulesLoaded(), received()];
    // When they are appended together
    const results = await store.writer.append(entries);
    // Then they get seqs 1, 2, 3 and read back as written, in order
    expect(results).toEqual([1, 2, 3].map((seq) => ({ seq, duplicate: false })));
    expect(await store.log.read(0)).toEqual(entries.map((e, i) => ({ ...e, seq: i + 1, at: clock.at })));
    expect((await store.log.read(1, { types: ['rules.*'] })).map((e) => e.seq)).toEqual([2]);
    expect(await store.log.lastSeq()).toBe(3);
  });

  it('stores a plan and an attempt whose texts hold U+0000 and unpaired surrogates (a thread key, a sink\'s answer) without failing the commit', async () => {
    // Given an event, a plan whose order key holds U+0000, and a failed attempt quoting an answer with U+0000 and a lone surrogate
    const [ev] = await store.writer.append([received({ event_id: 'evt_nul_text', call_id: 'call_nul_text' })]);
    const plan: NewEntry = {
      type: 'delivery.planned',
      data: { delivery_id: 'dlv_nul_text', event_id: 'evt_nul_text', event_seq: ev!.seq!, event_type: 'call.completed', call_id: 'call_nul_text', rule_id: 'r', action_index: 0, sink: 'hook', request: { body: {} }, order_key: 'k\u0000y', rules_hash: 'h' },
    };
    const attempt: NewEntry = {
      type: 'delivery.attempted',
      data: { delivery_id: 'dlv_nul_text', attempt: 1, outcome: 'failed', duration_ms: 3, error: { kind: 'permanent', code: 'http_500', message: 'HTTP 500: {"error":"bad\u0000nul \ud800"}', status: 500 }, retry_at: null, result: null },
    };
    // When they are appended (on PostgreSQL, a U+0000 in a text parameter failed every commit after it)
    await store.writer.append([plan]);
    await store.writer.append([attempt, { type: 'delivery.dead', data: { delivery_id: 'dlv_nul_text', reason: 'permanent http_500' } }]);
    // Then the log holds them exactly, and the projection shows the delivery dead with its error
    // (PostgreSQL's text columns show U+FFFD where SQLite keeps U+0000 and the lone surrogate)
    expect((await store.log.read(ev!.seq!)).map((e) => e.data)).toEqual([plan.data, attempt.data, { delivery_id: 'dlv_nul_text', reason: 'permanent http_500' }]);
    const [row] = await store.projections.deliveries({ call: 'call_nul_text' });
    expect(row).toMatchObject({ delivery_id: 'dlv_nul_text', status: 'dead' });
    expect(storableText((row!.last_error as { message: string }).message)).toBe(storableText('HTTP 500: {"error":"bad\u0000nul \ud800"}'));
    // And the log goes on
    expect((await store.writer.append([received()]))[0]!.duplicate).toBe(false);
  });

  it('keeps the thread of a plan whose channel was rendered from a long field (PostgreSQL\'s index refused key scopes over ~2,700 bytes)', async () => {
    // Given two plans of one thread key to a channel of 8,000 characters that do not compress, the first delivered
    const channel = `#${randomBytes(6_000).toString('base64')}`;
    const [ev] = await store.writer.append([received({ event_id: 'evt_long_scope', call_id: 'call_long_scope' })]);
    const planOf = (id: string): NewEntry => ({
      type: 'delivery.planned',
      data: { delivery_id: id, event_id: 'evt_long_scope', event_seq: ev!.seq!, event_type: 'call.completed', call_id: 'call_long_scope', rule_id: 'r', action_index: 0, sink: 'slack', request: { channel, text: 'hi' }, order_key: 'call_long_scope', rules_hash: 'h' },
    });
    // When they and the first one's success are appended
    await store.writer.append([planOf('dlv_scope_1')]);
    await store.writer.append([{ type: 'delivery.attempted', data: { delivery_id: 'dlv_scope_1', attempt: 1, outcome: 'succeeded', duration_ms: 3, error: null, retry_at: null, result: { channel: 'C1', ts: '1.2' } } }]);
    await store.writer.append([planOf('dlv_scope_2')]);
    // Then the second finds the thread the first started, and the log holds the channel exactly
    expect((await store.projections.attemptContext('dlv_scope_2')).keyState).toMatchObject({ channel: 'C1', ts: '1.2' });
    const [plan] = await store.log.read(ev!.seq!, { types: ['delivery.planned'], limit: 1 });
    expect((plan!.data as unknown as { request: { channel: string } }).request.channel).toBe(channel);
  });

  it('appends an event id or a delivery id once, forever: later and within one append, the first wins', async () => {
    // Given an event in the log
    await store.writer.append([received({ event_id: 'evt_once', body: 'first' })]);
    // When it comes again, alone and twice within one append, with different bytes
    const again = await store.writer.append([received({ event_id: 'evt_once', body: 'second' })]);
    const twice = await store.writer.append([received({ event_id: 'evt_new', body: 'a' }), received({ event_id: 'evt_new', body: 'b' })]);
    // Then only the first of each is appended, and the first body is the one kept
    expect(again).toEqual([{ seq: null, duplicate: true }]);
    expect(twice).toEqual([{ seq: 2, duplicate: false }, { seq: null, duplicate: true }]);
    expect(await store.log.eventBody('evt_once')).toBe('first');
    expect(await store.log.eventBody('evt_new')).toBe('a');
    expect(await store.log.eventBody('evt_never')).toBeNull();
    expect(await store.log.lastSeq()).toBe(2);
    expect((await store.projections.status(null)).events.total).toBe(2);
  });

  it('says what the router has not routed yet (status and husky_relay_unrouted_age_seconds): events and operator events after its checkpoint', async () => {
    const unroutedAge = async () => {
      const registry = new Registry();
      store.registerGauges(registry, () => Date.parse('2026-06-01T12:40:00.000Z'));
      return /^husky_relay_unrouted_age_seconds (\S+)$/m.exec(await registry.metrics())?.[1];
    };
    // Given two events and a rules.loaded (not a routed type), none routed yet
    clock.at = '2026-06-01T12:34:56.789Z';
    await store.writer.append([received({ event_id: 'evt_u1' }), rulesLoaded()]);
    clock.at = '2026-06-01T12:35:00.000Z';
    await store.writer.append([received({ event_id: 'evt_u2' })]);
    // Then both events wait, the oldest since the first was appended, and the gauge says how long
    expect((await store.projections.status(null)).unrouted).toEqual({ entries: 2, oldest_at: '2026-06-01T12:34:56.789Z' });
    expect(await unroutedAge()).toBe('303.211');
    // When the router routes the first, then the second with an operator event after it
    await store.writer.append([], { name: ROUTER_CHECKPOINT, seq: 1 });
    expect((await store.projections.status(null)).unrouted).toEqual({ entries: 1, oldest_at: '2026-06-01T12:35:00.000Z' });
    await store.writer.append([{ type: 'sink.paused', data: { sink: 'hook', reason: 'invalid_auth: no', code: 'invalid_auth', delivery_id: 'd_x' } }], { name: ROUTER_CHECKPOINT, seq: 3 });
    expect((await store.projections.status(null)).unrouted).toEqual({ entries: 1, oldest_at: '2026-06-01T12:35:00.000Z' });
    await store.writer.append([], { name: ROUTER_CHECKPOINT, seq: 4 });
    // Then nothing waits
    expect((await store.projections.status(null)).unrouted).toEqual({ entries: 0, oldest_at: null });
    expect(await unroutedAge()).toBe('0');
  });

  it('refuses UPDATE and DELETE of entries, from any connection (append-only triggers)', async () => {
    // Given a log with one entry
    await store.writer.append([received()]);
    const before = await store.log.read(0);
    // When another program tries to change or remove it
    // Then the engine refuses, saying why
    await expect(fx.raw(`UPDATE entries SET type = 'x'`)).rejects.toThrow(/append-only/);
    await expect(fx.raw(`DELETE FROM entries WHERE seq = 1`)).rejects.toThrow(/append-only/);
    // And the entry is unchanged
    expect(await store.log.read(0)).toEqual(before);
  });

  it('advances a checkpoint in the same transaction as the entries', async () => {
    // When the router appends its plans and its checkpoint together, and later the checkpoint alone
    await store.writer.append([received()], { name: ROUTER_CHECKPOINT, seq: 1 });
    await store.writer.append([], { name: 'other', seq: 7 });
    // Then each reads back, and an unknown one is 0
    expect(await store.log.checkpoint(ROUTER_CHECKPOINT)).toBe(1);
    expect(await store.log.checkpoint('other')).toBe(7);
    expect(await store.log.checkpoint('nobody')).toBe(0);
  });

  describe('with the story of one call (issue 14) in the log', () => {
    beforeEach(async () => {
      await appendAsLogged(store, clock, story);
    });

    it('keeps every seq, `at` and byte of data', async () => {
      expect(await store.log.read(0)).toEqual(story);
    });

    it("tells the call's story as README \"What happened to this call?\" writes it", async () => {
      expect((await store.projections.call(STORY_CALL))?.story).toEqual(EXPECTED_STORY);
      expect(await store.projections.call('call_nobody')).toBeUndefined();
      expect(await store.projections.hasCall(OTHER_CALL)).toBe(true);
      expect(await store.projections.hasEvent('evt_story_3')).toBe(true);
      expect(await store.projections.hasEvent('evt_nobody')).toBe(false);
    });

    it('filters reads by type glob, time, call, event and limit, in seq order', async () => {
      const seqs = async (after: number, options: Parameters<Store['log']['read']>[1]) => (await store.log.read(after, options)).map((e) => e.seq);
      const expected = (pick: (e: Entry) => boolean) => story.filter(pick).map((e) => e.seq);
      expect(await seqs(0, { types: ['delivery.*'] })).toEqual(expected((e) => e.type.startsWith('delivery.')));
      expect(await seqs(3, { types: ['event.received', 'delivery.retried'], limit: 3 })).toEqual(
        expected((e) => e.seq > 3 && (e.type === 'event.received' || e.type === 'delivery.retried')).slice(0, 3),
      );
      const mid = story[5]!.at;
      expect(await seqs(0, { since: mid, until: story[9]!.at })).toEqual(expected((e) => e.at >= mid && e.at < story[9]!.at));
      const ofCall = await seqs(0, { callId: OTHER_CALL });
      expect(ofCall.length).toBeGreaterThan(0);
      expect(ofCall).toEqual([...ofCall].sort((a, b) => a - b));
      const aboutEvent3 = (e: Entry) => e.seq === 10 || (e.type.startsWith('delivery.') && [D.d3, D.d4].includes((e.data as { delivery_id: string }).delivery_id));
      expect(await seqs(0, { eventId: 'evt_story_3' })).toEqual(expected(aboutEvent3));
    });

    it('answers the named reads the router, replay and the operator events make', async () => {
      expect((await store.log.lastOfType('delivery.retried'))?.data).toEqual({ delivery_id: D.d4, reason: 're-driven by id' });
      expect(await store.log.lastOfType('sink.paused')).toBeUndefined();
      const events = await store.log.events({ afterSeq: 1, throughSeq: 19, eventType: 'call.*_ready', limit: 10 });
      expect(events.map((e) => e.data.event_id)).toEqual(['evt_story_4', 'evt_story_5']);
      expect(await store.log.plannedAlready([D.d1, D.d4, 'nope'])).toEqual(new Set([D.d1, D.d4]));
      const origins = await store.log.deliveryOrigins([D.d4, 'nope']);
      expect([...origins.values()]).toEqual([
        { delivery_id: D.d4, rule_id: 'crm', sink: 'crm', event_id: 'evt_story_3', event_type: 'call.completed', call_id: STORY_CALL, from_operator: false },
      ]);
      expect(await store.log.checkpoint(ROUTER_CHECKPOINT)).toBe(0); // a checkpoint is not an entry: not copied
    });

    it('projects status, deliveries and the dispatcher reads as the SQLite reference does', async () => {
      const { path, cleanup } = await referenceCopy();
      const reference = await openStore(path);
      try {
        for (const read of READS) expect(await read(store), read.name).toEqual(await read(reference));
      } finally {
        await reference.close();
        cleanup();
      }
    });

    it("answers the console's pages: newest first, a summary from the body, the chart's minutes", async () => {
      const first = await store.projections.eventPage({ limit: 2 });
      expect(first.rows.map((r) => [r.seq, r.event_id])).toEqual([[20, 'evt_other_2'], [19, 'evt_story_5']]);
      expect(first.next).toBe(19);
      expect((await store.projections.eventPage({ eventType: 'call.completed' })).rows.map((r) => [r.seq, r.summary])).toEqual([[20, null], [10, 'Booked a demo']]);
      expect((await store.projections.deliveryPage({ status: 'dead' })).rows.map((r) => r.delivery_id)).toEqual([D.d2]);
      expect(await store.projections.activity('2026-06-01T08:59:00.000Z', 3)).toEqual({ minutes: [1780304340, 1780304400, 1780304460], events: [0, 7, 0], attempts: [0, 5, 0] });
    });

    it('rebuilds the projections exactly, and verify finds them identical', async () => {
      const before = await Promise.all(READS.map((read) => read(store)));
      const rebuilt = await store.rebuild();
      expect(rebuilt.last_seq).toBe(story.at(-1)!.seq);
      expect(await Promise.all(READS.map((read) => read(store)))).toEqual(before);
      const verified = await store.verify();
      expect(verified).toMatchObject({ identical: true, count: 0, last_seq: story.at(-1)!.seq });
    });
  });
});

/** The reads a user or the relay makes of the projections, each named for the failure message. */
const READS: ((store: Store) => Promise<unknown>)[] = [
  async function status(s) {
    // the chain head is a property of one log (its keys, its times), not of the projections: compared apart
    const { chain_head: _head, ...rest } = await s.projections.status({ sinks: { slack: { enabled: true }, crm: { enabled: false, disabled_reason: 'off' } } });
    return rest;
  },
  async function deliveries(s) {
    return [await s.projections.deliveries(), await s.projections.deliveries({ sink: 'slack', limit: 2 }), await s.projections.deliveries({ call: OTHER_CALL })];
  },
  async function names(s) {
    return s.projections.names();
  },
  async function openDeliveries(s) {
    return s.projections.openDeliveries();
  },
  async function attemptContexts(s) {
    return Promise.all([D.d1, D.d3, D.d4].map((id) => s.projections.attemptContext(id)));
  },
  async function sinks(s) {
    return [await s.projections.sinkStates(), await s.projections.oldestOpen('slack'), await s.projections.openCount('slack'), await s.projections.openCount('crm')];
  },
  async function callView(s) {
    return s.projections.call(STORY_CALL);
  },
  // the console's pages (README "Console"): every search kind, a second page, and the chart's minutes
  async function consoleEvents(s) {
    const first = await s.projections.eventPage({ limit: 2 });
    return [
      first,
      await s.projections.eventPage({ limit: 2, before: first.next ?? 0 }),
      await s.projections.eventPage({ callId: STORY_CALL }),
      await s.projections.eventPage({ eventId: 'evt_story_3' }),
      await s.projections.eventPage({ eventType: 'call.completed' }),
      await s.projections.eventPage({ since: '2026-06-01T09:00:05Z', until: '2026-06-01T09:00:10Z' }),
    ];
  },
  async function consoleDeliveries(s) {
    return [await s.projections.deliveryPage({ limit: 2 }), await s.projections.deliveryPage({ status: 'dead' }), await s.projections.deliveryPage({ call: STORY_CALL, sink: 'slack' })];
  },
  async function consoleActivity(s) {
    return s.projections.activity('2026-06-01T08:59:00.000Z', 3);
  },
];

/** A SQLite copy of the story, made the way every engine's copy is made. */
async function referenceCopy(): Promise<{ path: string; cleanup: () => void }> {
  const { dir, cleanup } = tempDir();
  const clock = { at: '' };
  const path = `${dir}/reference.db`;
  const store = await openWithClock(path, clock);
  await appendAsLogged(store, clock, story);
  await store.close();
  return { path, cleanup };
}
