import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPostgresUrl } from '../../src/log/location.js';
import type { Store } from '../../src/log/store.js';
import type { Entry, NewEntry } from '../../src/log/types.js';
import { ENGINES, engineFixture, engineQuery, openWithClock, type EngineFixture } from '../helpers/engines.js';
import { TEST_MASTER_KEY } from '../helpers/pg.js';
import { sweepRetention } from '../../src/privacy/retention.js';
import { redrive } from '../../src/delivery/redrive.js';

/**
 * The personal-data contract (README "Personal data", SPEC §12) on every engine (SPEC §13):
 * erasure of a call's payloads and key, retention's choice of calls, the hash chain and its
 * head, `[erased]` in every read, and a retried event of an erased call still a duplicate.
 */
const MARKER = 'okapi-marker-41d9';
const EMAIL = 'Ann.Marker@Example.com';
const OLD = '2026-06-01T10:00:00.000Z';
const NEW = '2026-06-03T10:00:00.000Z';

function event(id: string, callId: string, extra: Record<string, unknown> = {}): NewEntry {
  const body = JSON.stringify({ event_id: id, event_type: 'call.completed', data: { call_id: callId, ...extra } });
  return {
    type: 'event.received',
    data: { event_id: id, event_type: 'call.completed', org_id: 'org_1', created_at: OLD, received_at: OLD, call_id: callId, body },
  };
}

function plan(id: string, eventId: string, eventSeq: number, callId: string): NewEntry {
  return {
    type: 'delivery.planned',
    data: {
      delivery_id: id,
      event_id: eventId,
      event_seq: eventSeq,
      event_type: 'call.completed',
      call_id: callId,
      rule_id: 'to-hook',
      action_index: 0,
      sink: 'hook',
      request: { body: { transcript: `my code is ${MARKER}` } },
      order_key: null,
      rules_hash: 'h',
    },
  };
}

/** Rows of `sql` on the engine's own connection, as another program would read them. */
const query = (fx: EngineFixture, sql: string) => engineQuery(fx.location, sql);

describe.each(ENGINES)('personal data on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  const clock = { at: OLD };
  beforeEach(async () => {
    clock.at = OLD;
    fx = await engineFixture(engine);
    store = await openWithClock(fx.location, clock);
    // Given call A (with the contact and a marker, and an open delivery) logged long ago, and call B lately
    await store.writer.append([event('evt_a', 'call_a', { contact_email: EMAIL, transcript: MARKER })]);
    await store.writer.append([plan('d_a', 'evt_a', 1, 'call_a')]);
    clock.at = NEW;
    await store.writer.append([event('evt_b', 'call_b')]);
  });
  afterEach(async () => {
    await store.close();
    await fx.cleanup();
  });

  it('keeps payloads apart and encrypted, chains every entry, and says which calls hold a contact', async () => {
    // Then no entry's stored data holds the marker; the payload rows exist, sealed
    const stored = await query(fx, `SELECT seq, data, hash, digest FROM entries ORDER BY seq`);
    expect(stored).toHaveLength(3);
    expect(JSON.stringify(stored)).not.toContain(MARKER);
    expect(stored.every((r) => typeof r['hash'] === 'string' && /^[0-9a-f]{64}$/.test(r['hash'] as string))).toBe(true);
    expect(await query(fx, `SELECT CAST(seq AS integer) AS seq FROM payloads ORDER BY seq`)).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    // And reads open them again
    expect(await store.log.eventBody('evt_a')).toContain(MARKER);
    // And the chain verifies, its head the last entry's hash, status says so
    const verdict = await store.privacy.verifyChain();
    expect(verdict).toEqual({ ok: true, entries: 3, head: stored[2]!['hash'] });
    expect(await store.privacy.chainHead()).toBe(stored[2]!['hash']);
    expect((await store.projections.status(null)).chain_head).toBe(stored[2]!['hash']);
    const withHashes = await store.log.read(0, { hashes: true });
    expect(withHashes.map((e) => (e as Entry & { hash?: string }).hash)).toEqual(stored.map((r) => r['hash']));
    // And the contact, in any case, names call A only; what erasing it would delete is counted
    expect(await store.privacy.callsOfContact('ann.marker@example.com')).toEqual(['call_a']);
    expect(await store.privacy.erasable(['call_a', 'call_unknown'])).toEqual([{ call_id: 'call_a', events: 1, payloads: 2, erased: false }]);
    // And retention picks the call last seen before the window only
    expect(await store.privacy.callsLastSeenBefore('2026-06-02T00:00:00.000Z', 10)).toEqual(['call_a']);
    expect(await store.privacy.callsLastSeenBefore('2026-06-04T00:00:00.000Z', 10)).toEqual(['call_a', 'call_b']);
  });

  it('reads the facts alone when asked (the due index): no payload, the same facts and order, by type and by call', async () => {
    // When the log is read for its facts, of several types and of one call
    const byType = await store.log.read(0, { types: ['event.received', 'delivery.planned'], facts: true, hashes: true });
    const byCall = await store.log.read(0, { callId: 'call_a', facts: true });
    // Then the entries are the full reads' without the payload fields, in log order
    const full = await store.log.read(0, { hashes: true });
    expect(byType.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(byType.map((e) => (e as Entry & { hash?: string }).hash)).toEqual(full.map((e) => (e as Entry & { hash?: string }).hash));
    const { body, ...eventFacts } = (full[0] as Entry & { type: 'event.received' }).data;
    expect(body).toContain(MARKER);
    expect(byType[0]!.data).toEqual(eventFacts);
    expect(byType[1]!.data).toEqual({ ...(full[1]!.data as object), request: {} });
    expect(byCall.map((e) => e.seq)).toEqual([1, 2]);
    expect(JSON.stringify([byType, byCall])).not.toContain(MARKER);
    // And after the call is erased its facts read the same, never [erased]
    await store.privacy.erase({ callIds: ['call_a'], reason: 'request', by: 'test', downstream: false });
    expect((await store.log.read(0, { types: ['event.received', 'delivery.planned'], facts: true })).slice(0, 2)).toEqual(byType.slice(0, 2).map(({ hash: _, ...e }) => e));
  });

  it('erases a call: its payloads and key are gone, reads show [erased], open deliveries die, the chain still verifies', async () => {
    // When call A is erased
    const result = await store.privacy.erase({ callIds: ['call_a'], reason: 'request', by: 'test', downstream: false });
    // Then one call.erased and one delivery.dead were appended, two payloads deleted
    expect(result.calls).toEqual([{ call_id: 'call_a', payloads: 2, closed: 1, seq: 4 }]);
    // and nothing of them is left behind (SQLite: the WAL truncated; PostgreSQL: the dead rows vacuumed)
    expect([result.walTruncated, result.leftover]).toEqual([true, null]);
    const appended = await store.log.read(3);
    expect(appended.map((e) => e.type)).toEqual(['call.erased', 'delivery.dead']);
    expect(appended[0]!.data).toEqual({ call_id: 'call_a', reason: 'request', by: 'test', downstream: false });
    // And no row of the call's payloads or key remains for any query
    expect(await query(fx, `SELECT seq FROM payloads WHERE call_id = 'call_a'`)).toEqual([]);
    expect(await query(fx, `SELECT call_id FROM call_keys WHERE call_id = 'call_a'`)).toEqual([]);
    expect(await query(fx, `SELECT call_id, CAST(seq AS integer) AS seq FROM erased_calls`)).toEqual([{ call_id: 'call_a', seq: 4 }]);
    // And every read shows [erased] in place of the payloads, and the rest as it was
    const [ev, pl] = await store.log.read(0, { callId: 'call_a', limit: 2 });
    expect((ev as Entry & { type: 'event.received' }).data.body).toBe('[erased]');
    expect((ev as Entry & { type: 'event.received' }).data.event_id).toBe('evt_a');
    expect((pl as Entry & { type: 'delivery.planned' }).data.request).toEqual({ erased: true });
    expect(await store.log.eventBody('evt_a')).toBe('[erased]');
    expect(JSON.stringify(await store.log.read(0))).not.toContain(MARKER);
    const page = await store.projections.eventPage({ callId: 'call_a' });
    expect(page.rows.find((r) => r.event_id === 'evt_a')?.summary).toBe('[erased]');
    expect((await store.projections.deliveries({ ids: ['d_a'] }))[0]).toMatchObject({ status: 'dead' });
    // and its dead letter is not re-driven (README "Erasure"): refused by id, skipped by --dead, nothing appended
    await expect(redrive(store.projections, store.writer, { ids: ['d_a'] })).rejects.toThrow('retry: d_a was erased with its call; nothing to re-drive');
    expect(await redrive(store.projections, store.writer, { dead: true })).toEqual({ done: [], erased: ['d_a'], succeeded: [], unknown: [] });
    expect((await store.projections.attemptContext('d_a')).request).toMatchObject({ not_planned: { code: 'erased' } });
    // And call B is untouched
    expect(await store.log.eventBody('evt_b')).toContain('call_b');
    // And the chain still verifies over all five entries
    const head = await store.privacy.chainHead();
    expect(await store.privacy.verifyChain()).toEqual({ ok: true, entries: 5, head });
    expect(await store.privacy.erasable(['call_a'])).toMatchObject([{ call_id: 'call_a', payloads: 0, erased: true }]);
    // And retention no longer picks it
    expect(await store.privacy.callsLastSeenBefore('2026-06-04T00:00:00.000Z', 10)).toEqual(['call_b']);
  });

  it("gives a plan whose payload no longer decrypts the entry_damaged placeholder: its attempt fails at once, naming the entry, and nothing is sent", async () => {
    // Given the sealed payload of d_a's plan (entry 2) altered on disk, one byte flipped
    const flip = isPostgresUrl(fx.location)
      ? `UPDATE payloads SET sealed = overlay(sealed PLACING (CASE get_byte(sealed, 40) WHEN 0 THEN '\\x01'::bytea ELSE '\\x00'::bytea END) FROM 41 FOR 1) WHERE seq = 2`
      : `UPDATE payloads SET sealed = cast(substr(sealed, 1, 40) || CASE substr(sealed, 41, 1) WHEN x'00' THEN x'01' ELSE x'00' END || substr(sealed, 42) AS BLOB) WHERE seq = 2`;
    await fx.raw(flip);
    // When the dispatcher reads what to send
    const context = await store.projections.attemptContext('d_a');
    // Then the request is the placeholder, its message the damage's one line, and the counts are the delivery's
    expect(context.request).toEqual({
      not_planned: {
        code: 'entry_damaged',
        message: expect.stringMatching(/^entry 2 of the log is damaged: its payload does not decrypt: it was altered; run `husky-relay log --verify`/),
      },
    });
    expect(JSON.stringify(context)).not.toContain(MARKER);
    expect(context).toMatchObject({ event_type: 'call.completed', attempts: 0, keyState: null });
  });

  it('erases a call once; its retried event is a duplicate, and a new event of it is logged with its payload [erased]', async () => {
    await store.privacy.erase({ callIds: ['call_a'], reason: 'request', by: 'test', downstream: false });
    // When it is erased again
    const again = await store.privacy.erase({ callIds: ['call_a'], reason: 'request', by: 'test', downstream: false });
    // Then nothing is done
    expect(again.calls).toEqual([{ call_id: 'call_a', payloads: 0, closed: 0, seq: null }]);
    expect(await store.log.lastSeq()).toBe(5);
    // When the sender retries the erased event
    const [retried] = await store.writer.append([event('evt_a', 'call_a', { contact_email: EMAIL, transcript: MARKER })]);
    // Then it is a duplicate: nothing of it is stored again
    expect(retried).toEqual({ seq: null, duplicate: true });
    // When a new event of the erased call arrives, it is logged, its body not kept
    const [late] = await store.writer.append([event('evt_a2', 'call_a', { transcript: MARKER })]);
    expect(late).toEqual({ seq: 6, duplicate: false });
    expect(await store.log.eventBody('evt_a2')).toBe('[erased]');
    expect(await query(fx, `SELECT seq FROM payloads WHERE call_id = 'call_a'`)).toEqual([]);
    expect((await store.privacy.verifyChain()).ok).toBe(true);
  });

  it('log --verify names an entry whose facts were changed behind its back', async () => {
    // Given a fact changed by hand (the append-only trigger lifted, as an attacker with the database would)
    const edit = isPostgresUrl(fx.location)
      ? `ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET at = '2026-06-01T10:00:00.001Z' WHERE seq = 2; ALTER TABLE entries ENABLE TRIGGER entries_no_change`
      : `UPDATE entries SET at = '2026-06-01T10:00:00.001Z' WHERE seq = 2`;
    if (isPostgresUrl(fx.location)) await fx.raw(edit);
    else {
      const db = new Database(fx.location);
      db.exec(`DROP TRIGGER IF EXISTS entries_no_update; ${edit}`);
      db.close();
    }
    // Then the chain breaks there
    expect(await store.privacy.verifyChain()).toMatchObject({ ok: false, seq: 2, reason: 'its hash does not match its contents' });
  });

  it('retention erases the calls last seen before its window, once', async () => {
    // When a sweep with a one-day window runs on 2026-06-03 12:00
    const erased = await sweepRetention(store.privacy, new Date('2026-06-03T12:00:00.000Z'), 86_400_000);
    // Then call A (last seen two days before) is erased with reason retention, call B kept
    expect(erased).toBe(1);
    const [mark] = await store.log.read(0, { types: ['call.erased'] });
    expect(mark!.data).toEqual({ call_id: 'call_a', reason: 'retention', by: 'retention', downstream: false });
    expect(await store.log.eventBody('evt_a')).toBe('[erased]');
    expect(await store.log.eventBody('evt_b')).toContain('call_b');
    // And the next sweep finds nothing more to do
    expect(await sweepRetention(store.privacy, new Date('2026-06-03T12:00:00.000Z'), 86_400_000)).toBe(0);
    expect((await store.privacy.verifyChain()).ok).toBe(true);
  });

  it('re-wraps the data keys under a new master key listed first, so the old one can be dropped', async () => {
    // Given the log's current master key (generated beside a SQLite file; the test key on PostgreSQL)
    const old = isPostgresUrl(fx.location) ? TEST_MASTER_KEY : readFileSync(join(dirname(fx.location), 'master-key'), 'utf8').trim();
    const fresh = 'c4'.repeat(32);
    await store.close();
    // When the log is opened with NEW,OLD, then with NEW alone
    store = await openWithClock(fx.location, clock, { masterKeys: `${fresh},${old}` });
    await store.close();
    store = await openWithClock(fx.location, clock, { masterKeys: fresh });
    // Then every payload still opens, and the chain verifies
    expect(await store.log.eventBody('evt_a')).toContain(MARKER);
    expect(await store.privacy.verifyChain()).toMatchObject({ ok: true, entries: 3 });
  });

  it('refuses to open for serve (checkKeys) with a new master key that lacks the one its data keys were wrapped by, before anything is appended', async () => {
    // Given a log holding data keys (of the current master key)
    const seq = (await store.log.read(0)).length;
    await store.close();
    // When it is opened with another key only (pasted a new one, forgot NEW,OLD)
    const opening = openWithClock(fx.location, clock, { masterKeys: 'd5'.repeat(32), checkKeys: true });
    // Then the open is refused, naming the key it needs and how to give it
    await expect(opening).rejects.toThrow(/the log's data keys were wrapped by master key [0-9a-f]{16}, which HUSKY_RELAY_MASTER_KEY does not hold: set HUSKY_RELAY_MASTER_KEY=NEW,OLD/);
    // And the log is as it was, opened with its own key
    store = await openWithClock(fx.location, clock, isPostgresUrl(fx.location) ? { masterKeys: TEST_MASTER_KEY } : {});
    expect((await store.log.read(0)).length).toBe(seq);
    expect(await store.log.eventBody('evt_a')).toContain(MARKER);
  });

  it("answers an event it cannot seal (the call's key re-wrapped by a key serve lacks) as unavailable, to be retried, never as refused", async () => {
    // Given serve's writer with the log's key, and a command run meanwhile with NEW,OLD (rotation before the restart)
    const writer = store.serveWriter(() => {});
    const old = isPostgresUrl(fx.location) ? TEST_MASTER_KEY : readFileSync(join(dirname(fx.location), 'master-key'), 'utf8').trim();
    const command = await openWithClock(fx.location, clock, { masterKeys: `${'e6'.repeat(32)},${old}` });
    await command.close();
    try {
      // When an event of call A (its key now wrapped by NEW only) reaches serve's writer
      const appending = writer.append([event('evt_a2', 'call_a')]);
      // Then it fails as the log being unavailable (503: HuskyVoice retries), not as a refused entry (422: lost)
      await expect(appending).rejects.toMatchObject({ name: 'LogUnavailableError', message: expect.stringMatching(/master key [0-9a-f]{16}/) });
    } finally {
      await writer.close();
    }
  });

  it('appends `also`\'s entries (the --downstream plans) after the erasures, in the same transaction, told which calls were erased', async () => {
    await store.privacy.erase({ callIds: ['call_b'], reason: 'request', by: 'test', downstream: false });
    let told: string[] = [];
    // When A and B (erased already) are erased, with more entries to append
    await store.privacy.erase({
      callIds: ['call_a', 'call_b'],
      reason: 'request',
      by: 'test',
      downstream: true,
      also: (erased) => {
        told = erased;
        return [{ type: 'sink.resumed', data: { sink: 'hook', reason: 'test', code: 'resume' } } as NewEntry];
      },
    });
    // Then `also` heard of A only, and its entry follows A's call.erased and delivery.dead
    expect(told).toEqual(['call_a']);
    expect((await store.log.read(4)).map((e) => e.type)).toEqual(['call.erased', 'delivery.dead', 'sink.resumed']);
    expect((await store.privacy.verifyChain()).ok).toBe(true);
  });
});
