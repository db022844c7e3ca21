import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { WriteInterruptedError } from '../src/errors.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { openStore, type Store } from '../src/log/store.js';
import type { NewEntry } from '../src/log/types.js';
import { codeOf } from '../src/os-errors.js';
import { backfill } from '../src/route/backfill.js';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { tempDir } from './helpers/relay.js';

const AT = '2026-06-01T10:00:00.000Z';

/** HuskyVoice's call.completed `evt_I` of call `call_I`, as the log receives it. */
function event(i: number): NewEntry {
  const body = JSON.stringify({ event_id: `evt_${i}`, event_type: 'call.completed', data: { call_id: `call_${i}` } });
  return { type: 'event.received', data: { event_id: `evt_${i}`, event_type: 'call.completed', org_id: 'org', created_at: AT, received_at: AT, call_id: `call_${i}`, body } };
}

/** What a caught rejection was. */
const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: unknown) => error);

/**
 * A command's write (erase, retry, resume, replay) meets a write lock another process holds:
 * SQLite's wait held the thread for the whole busy timeout, so Ctrl-C was not heard until it
 * ended (QA: `erase` exited 130 saying nothing; `replay --force` ignored it for 5 s). Given the
 * command's signal (`OpenStoreOptions.interrupt`), the wait is cut into slices and the event
 * loop runs between them.
 */
describe("a direct write waiting for another process's write lock", () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  let blocker: Database.Database;
  let store: Store | undefined;
  beforeEach(() => {
    temp = tempDir('husky-write-wait-');
    dbPath = join(temp.dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([event(1)]);
    log.close();
    // another process's connection; BEGIN IMMEDIATE takes the write lock and leaves reads free
    blocker = new Database(dbPath);
  });
  afterEach(async () => {
    if (blocker.inTransaction) blocker.exec('ROLLBACK');
    blocker.close();
    await store?.close();
    store = undefined;
    temp.cleanup();
  });
  const entries = () => blocker.prepare('SELECT seq, type FROM entries ORDER BY seq').all();

  it('Ctrl-C while it waits: WriteInterruptedError (it waited) well before the busy timeout, and nothing appended', async () => {
    const controller = new AbortController();
    store = await openStore(dbPath, { interrupt: controller.signal });
    blocker.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);
    const error = await failure(store.writer.append([event(2)]));
    expect(error).toBeInstanceOf(WriteInterruptedError);
    expect((error as WriteInterruptedError).waited).toBe(true);
    expect(performance.now() - started).toBeLessThan(DEFAULTS.log.busyTimeoutMs / 2);
    blocker.exec('ROLLBACK');
    expect(entries()).toEqual([{ seq: 1, type: 'event.received' }]);
  });

  it('the event loop runs while it waits: a lock let go meanwhile (by a timer of this process) is taken, and the write lands', async () => {
    store = await openStore(dbPath, { interrupt: new AbortController().signal });
    blocker.exec('BEGIN IMMEDIATE');
    setTimeout(() => blocker.exec('ROLLBACK'), 200);
    expect(await store.writer.append([event(2)])).toEqual([{ seq: 2, duplicate: false }]);
    expect(entries()).toEqual([
      { seq: 1, type: 'event.received' },
      { seq: 2, type: 'event.received' },
    ]);
  });

  it('a lock held past the busy timeout fails as before, with SQLITE_BUSY after that long; timers ran meanwhile', async () => {
    store = await openStore(dbPath, { interrupt: new AbortController().signal, busyTimeoutMs: 400 });
    blocker.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const started = performance.now();
    const error = await failure(store.writer.append([event(2)]));
    clearInterval(timer);
    expect(codeOf(error)).toBe('SQLITE_BUSY');
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(ticks).toBeGreaterThan(0);
  });

  it('a signal aborted before the write: not tried (WriteInterruptedError, no wait), nothing appended', async () => {
    const controller = new AbortController();
    controller.abort();
    store = await openStore(dbPath, { interrupt: controller.signal });
    const error = await failure(store.writer.append([event(2)]));
    expect(error).toBeInstanceOf(WriteInterruptedError);
    expect((error as WriteInterruptedError).waited).toBe(false);
    expect(entries()).toEqual([{ seq: 1, type: 'event.received' }]);
  });

  it("erase: Ctrl-C while it waits leaves the call's payload and data key, and appends nothing", async () => {
    const controller = new AbortController();
    store = await openStore(dbPath, { interrupt: controller.signal });
    blocker.exec('BEGIN IMMEDIATE');
    setTimeout(() => controller.abort(), 200);
    const error = await failure(store.privacy.erase({ callIds: ['call_1'], reason: 'asked', by: 'cli', downstream: false }));
    expect(error).toBeInstanceOf(WriteInterruptedError);
    blocker.exec('ROLLBACK');
    expect(entries()).toEqual([{ seq: 1, type: 'event.received' }]);
    const count = (table: string) => blocker.prepare(`SELECT count(*) FROM ${table} WHERE call_id = 'call_1'`).pluck().get();
    expect({ payloads: count('payloads'), keys: count('call_keys'), erased: count('erased_calls') }).toEqual({ payloads: 1, keys: 1, erased: 0 });
  });

  it('replay: Ctrl-C while its second batch waits: the first batch stays planned, and the result says it stopped after it', async () => {
    // Given 600 events (two batches of a backfill) and a rule that plans one delivery for each
    const log = new SqliteLog(dbPath);
    log.append(Array.from({ length: 599 }, (_, i) => event(i + 2)));
    log.close();
    const loaded = loadRulesFromText('version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions:\n      - sink: console\n        text: "{{ data.call_id }}"\n', 'rules.yaml', {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const controller = new AbortController();
    store = await openStore(dbPath, { interrupt: controller.signal });
    // When another process takes the write lock once the first batch is appended, and Ctrl-C comes while the second waits
    const takeLock = () => {
      if (blocker.inTransaction) return;
      blocker.exec('BEGIN IMMEDIATE');
      setTimeout(() => controller.abort(), 200);
    };
    const result = await backfill({ reader: store.log, writer: store.writer }, loaded.rules, { generation: 'g1', signal: controller.signal, onBatch: takeLock });
    blocker.exec('ROLLBACK');
    // Then the first batch's plans stand, the second's are not there, and it says where it stopped
    const first = DEFAULTS.routing.backfillBatch;
    expect(result.stopped).toMatchObject({ after_seq: first, next: { seq: first + 1 } });
    expect({ events: result.events, planned: result.planned }).toEqual({ events: first, planned: first });
    expect(blocker.prepare(`SELECT count(*) FROM entries WHERE type = 'delivery.planned'`).pluck().get()).toBe(first);
  });
});
