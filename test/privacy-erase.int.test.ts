import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { deliveriesOf, fixture, ManualClock, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

/**
 * Personal data (README "Personal data"): a call whose transcript holds a unique marker and
 * whose contact has an email, routed to an HTTP sink; then erased by its contact.
 */
const MARKER = 'zebra-marker-7f3c1e';
const EMAIL = 'Erin.Marker@Example.com';
const CALL = 'call_marker_1';
let fake: FakeHttp;
let dir: string;
let cleanup: () => void;
let dbPath: string;

/** Every byte of the database file and its WAL. */
function rawBytes(): Buffer {
  return Buffer.concat([dbPath, `${dbPath}-wal`].filter(existsSync).map((p) => readFileSync(p)));
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  fake = await startFakeHttp();
  const rulesPath = writeRules(
    dir,
    `version: 1
sinks:
  hook: { type: http, url: "${fake.url}" }
rules:
  - id: to-hook
    on: call.*
    actions:
      - sink: hook
        body: { transcript: "{{ data.transcript }}" }
`,
  );
  const relay = await startRoutingRelay({ dir, rulesPath, clock: new ManualClock() });
  dbPath = relay.dbPath;
  const mark = (e: Record<string, any>) => {
    e.data.call_id = CALL;
    e.data.transcript = `[customer] my code is ${MARKER}`;
    e.data.contact_email = EMAIL;
  };
  await postEvent(relay, fixture('call.completed', mark));
  await postEvent(relay, fixture('call.initiated', (e) => (e.data.call_id = 'call_other')));
  await until(() => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').length === 2, { what: 'both delivered' });
  await relay.close();
  relay.log.close();
});
afterAll(async () => {
  await fake.close();
  cleanup();
});

describe('payloads at rest (README "Personal data")', () => {
  it('are encrypted: the marker is in no byte of the database or its WAL, yet the log shows it', async () => {
    // Then the files do not hold it
    expect(rawBytes().includes(MARKER)).toBe(false);
    expect(rawBytes().includes('Erin.Marker')).toBe(false);
    // and the log, read with the key, does
    const store = new SqliteStore(dbPath);
    const entries = await store.log.read(0, { callId: CALL });
    expect(JSON.stringify(entries)).toContain(MARKER);
    await store.close();
  });

  it('a database copied without its key reveals nothing', async () => {
    // Given a copy of the database alone, read with another master key
    const store = new SqliteStore(dbPath, { masterKeys: 'ab'.repeat(32) });
    // Then reading a payload fails, naming the missing key, and the raw file has no marker
    await expect(store.log.read(0, { callId: CALL })).rejects.toThrow(/master key .* which HUSKY_RELAY_MASTER_KEY does not hold/);
    // And log --verify says the key is missing, not that the log was altered
    await expect(store.privacy.verifyChain()).rejects.toThrow(/master key .* which HUSKY_RELAY_MASTER_KEY does not hold/);
    await store.close();
  });
});

describe('erase --contact (README "Personal data")', () => {
  it('erases every payload of the call for good, keeps the chain, and the rebuild agrees', async () => {
    const store = new SqliteStore(dbPath);
    // Given the sealed bytes of the call, as stored
    const raw = new Database(dbPath, { readonly: true });
    const sealed = (raw.prepare(`SELECT sealed FROM payloads WHERE call_id = ?`).pluck().all(CALL) as Buffer[]).map((b) => b.subarray(28, 60));
    const wrapped = raw.prepare(`SELECT wrapped FROM call_keys WHERE call_id = ?`).pluck().get(CALL) as Buffer;
    raw.close();
    expect(sealed.length).toBeGreaterThanOrEqual(2); // its event's body and its plan's request
    expect(rawBytes().includes(wrapped)).toBe(true);
    const before = await store.projections.status(null);

    // When the contact is erased (an email in another case)
    const calls = await store.privacy.callsOfContact(EMAIL.toLowerCase());
    expect(calls).toEqual([CALL]);
    const result = await store.privacy.erase({ callIds: calls, reason: 'customer request', by: 'cli', downstream: false });

    // Then nothing of the payloads or the data key is in the files
    expect(result.walTruncated).toBe(true);
    expect(result.calls).toEqual([{ call_id: CALL, payloads: sealed.length, closed: 0, seq: expect.any(Number) }]);
    const bytes = rawBytes();
    for (const piece of sealed) expect(bytes.includes(piece)).toBe(false);
    expect(bytes.includes(wrapped)).toBe(false);
    // every reader shows [erased]; the other call is untouched
    const entries = await store.log.read(0, { callId: CALL });
    expect(JSON.stringify(entries)).not.toContain(MARKER);
    expect(entries.find((e) => e.type === 'event.received')?.data).toMatchObject({ call_id: CALL, body: '[erased]' });
    expect(entries.find((e) => e.type === 'delivery.planned')?.data).toMatchObject({ request: { erased: true } });
    expect(entries.at(-1)).toMatchObject({ type: 'call.erased', data: { call_id: CALL, reason: 'customer request', by: 'cli', downstream: false } });
    expect((await store.projections.call(CALL))?.story.erased).toBe(true);
    expect(JSON.stringify(await store.log.read(0, { callId: 'call_other' }))).toContain('call_other');
    // the chain holds, the projections are what a rebuild makes of the log
    expect(await store.privacy.verifyChain()).toMatchObject({ ok: true, head: await store.privacy.chainHead() });
    expect((await store.verify()).differences).toEqual([]);
    expect((await store.projections.status(null)).deliveries).toEqual(before.deliveries);
    // erasing it again does nothing
    expect((await store.privacy.erase({ callIds: [CALL], reason: 'again', by: 'cli', downstream: false })).calls).toEqual([
      { call_id: CALL, payloads: 0, closed: 0, seq: null },
    ]);
    await store.close();
  });

  it('a HuskyVoice retry of an erased event is a duplicate, and nothing is stored again', async () => {
    // Given the erased call's event, sent again
    const before = new SqliteStore(dbPath);
    const lastSeq = await before.log.lastSeq();
    await before.close();
    const relay = await startRoutingRelay({ dir, dbPath });
    const answer = await relay.postSigned(fixture('call.completed', (e) => {
      e.data.call_id = CALL;
      e.data.transcript = MARKER;
    }));
    await relay.close();
    relay.log.close();
    // Then it is a 200 duplicate, and the marker is nowhere
    expect(answer).toMatchObject({ status: 200, body: { ok: true, duplicate: true } });
    // (with no warning of different bytes: the stored bytes are erased, there is nothing to compare)
    expect(relay.lines.filter((line) => line.includes('different bytes'))).toEqual([]);
    expect(rawBytes().includes(MARKER)).toBe(false);
    // and nothing was appended for it (the relay's own rules.loaded aside), no payload stored for the call
    const store = new SqliteStore(dbPath);
    const after = await store.log.read(lastSeq);
    expect(after.filter((e) => e.type !== 'rules.loaded')).toEqual([]);
    await store.close();
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.prepare(`SELECT count(*) AS n FROM payloads WHERE call_id = ?`).get(CALL)).toEqual({ n: 0 });
    raw.close();
  });
});

describe('erase while serve runs (README "Personal data")', () => {
  it('erases through a second connection while the relay writes, and the relay goes on', async () => {
    // Given a running relay on the log, and a new call it has stored
    const relay = await startRoutingRelay({ dir, dbPath });
    const live = fixture('call.completed', (e) => {
      e.event_id = 'evt_live_1';
      e.data.call_id = 'call_live';
      e.data.transcript = `live ${MARKER}`;
    });
    await postEvent(relay, live);
    // When a command erases it meanwhile
    const store = new SqliteStore(dbPath);
    const result = await store.privacy.erase({ callIds: ['call_live'], reason: 'while serving', by: 'cli', downstream: false });
    // Then the relay still takes events, and the erased call is gone from the log it reads
    expect(result.calls[0]).toMatchObject({ call_id: 'call_live', payloads: 1 });
    await postEvent(relay, fixture('call.initiated', (e) => ((e.event_id = 'evt_live_2'), (e.data.call_id = 'call_after'))));
    expect(await relay.store.log.eventBody('evt_live_1')).toBe('[erased]');
    expect(await relay.store.log.eventBody('evt_live_2')).toContain('call_after');
    expect(await store.privacy.verifyChain()).toMatchObject({ ok: true });
    await store.close();
    await relay.close();
    relay.log.close();
  });
});

describe('log --verify (README "Personal data")', () => {
  it('names the first entry whose facts were changed in the file, triggers dropped', async () => {
    // Given someone with the file changes an entry
    const copy = join(dir, 'tampered.db');
    const source = new Database(dbPath);
    await source.backup(copy);
    source.close();
    const raw = new Database(copy);
    raw.exec(`DROP TRIGGER entries_no_update`);
    raw.prepare(`UPDATE entries SET data = json_set(data, '$.org_id', 'org_evil') WHERE seq = 2`).run();
    raw.close();
    // When the chain is verified
    const store = new SqliteStore(copy);
    const verdict = await store.privacy.verifyChain();
    await store.close();
    // Then it names that entry
    expect(verdict).toEqual({ ok: false, entries: 1, seq: 2, reason: 'its hash does not match its contents' });
  });

  it.each([
    ['payload row', `DELETE FROM payloads WHERE seq = ?`, 'its payload is gone, yet no call.erased entry erased its call'],
    ["call's data key", `DELETE FROM call_keys WHERE call_id = (SELECT call_id FROM payloads WHERE seq = ?)`, "its payload's data key is gone, yet no call.erased entry erased its call"],
  ])('names the entry whose %s was deleted from a call that was never erased (a silent erasure is tampering)', async (_what, sql, reason) => {
    // Given someone with the file deletes the payload (or the key) of a call no erase touched
    const copy = join(dir, `tampered-${reason.length}.db`);
    const source = new Database(dbPath);
    await source.backup(copy);
    source.close();
    const raw = new Database(copy);
    const seq = raw.prepare(`SELECT seq FROM entries WHERE type = 'event.received' AND json_extract(data, '$.call_id') = 'call_other'`).pluck().get() as number;
    raw.prepare(sql).run(seq);
    raw.close();
    // When the chain is verified
    const store = new SqliteStore(copy);
    const verdict = await store.privacy.verifyChain();
    await store.close();
    // Then it names that entry, though every hash still matches
    expect(verdict).toEqual({ ok: false, entries: seq - 1, seq, reason });
  });

  it.each([
    ['one entry', 'seq = 2'],
    ['every entry from one on', 'seq >= 2'],
  ])('names the entry whose hash was removed (%s), and opening the file does not chain it anew', async (_what, where) => {
    // Given someone with the file changes an entry and removes its hash, as if it predated the chain
    const copy = join(dir, `unhashed-${where.length}.db`);
    const source = new Database(dbPath);
    await source.backup(copy);
    source.close();
    const raw = new Database(copy);
    raw.exec(`DROP TRIGGER entries_no_update`);
    raw.prepare(`UPDATE entries SET data = json_set(data, '$.org_id', 'org_evil'), hash = NULL WHERE ${where}`).run();
    raw.close();
    // When the chain is verified
    const store = new SqliteStore(copy);
    const verdict = await store.privacy.verifyChain();
    await store.close();
    // Then it names that entry, rather than sealing the change into a sound chain
    expect(verdict).toEqual({ ok: false, entries: 1, seq: 2, reason: 'it has no hash' });
  });
});

