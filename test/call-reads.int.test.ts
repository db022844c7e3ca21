import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { migrate, SCHEMA_VERSION } from '../src/log/sqlite/migrations.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { CallReads } from '../src/project/call-story.js';
import { ConsoleReads } from '../src/project/console-reads.js';
import { logNames } from '../src/project/names.js';
import { listDeliveries } from '../src/project/queries.js';
import { OLDEST_ANY_SQL, OLDEST_OPEN_SQL } from '../src/project/sink-reads.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { D, EXPECTED_STORY, OTHER_CALL, STORY_CALL, writeStory } from './helpers/call-scenario.js';
import { tempDir } from './helpers/relay.js';
import { appendSteps, sampleSteps, snapshot, stepArb, steppingClock } from './helpers/replay-scenario.js';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir('husky-call-reads-');
});
afterEach(() => temp.cleanup());

/** Every SQL statement `run` prepares on `db`, with SQLite's plan for it. */
function plans(db: Database.Database, run: () => void): { sql: string; plan: string }[] {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    seen.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  try {
    run();
  } finally {
    db.prepare = prepare;
  }
  return seen.map((sql) => {
    const params = Array((sql.match(/\?/g) ?? []).length).fill('x');
    const rows = prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return { sql, plan: rows.map((r) => r.detail).join('\n') };
  });
}

describe('the reads of a call, its deliveries and its entries are indexed (the console pages through them)', () => {
  it('no filter by call, event, rule, sink or status reads a whole table or sorts it', async () => {
    // Given a log (a few rows: the plans SQLite picks for these queries do not depend on the size without ANALYZE)
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    // When the reads run
    const seen = plans(log.db, () => {
      for (const filter of [{ call: STORY_CALL }, { event: 'evt_story_3' }, { rule: 'crm' }, { sink: 'slack' }, { status: 'dead' }, { status: 'dead', sink: 'slack' }]) {
        listDeliveries(log.db, { ...filter, limit: 50 });
      }
      log.read(0, { callId: STORY_CALL, limit: 100 });
      log.read(0, { eventId: 'evt_story_3', types: ['delivery.dead'], limit: 100 });
      log.read(0, { callId: STORY_CALL, eventId: 'evt_story_3', since: '2026-01-01T00:00:00Z', limit: 100 });
      new CallReads(log.db).callView(STORY_CALL);
      logNames(log.db);
    });
    // Then each one searches an index, never scans a table, never sorts
    expect(seen.length).toBeGreaterThanOrEqual(14);
    for (const { sql, plan } of seen) {
      expect(plan, sql).not.toMatch(/TEMP B-TREE/);
      expect(plan, sql).not.toMatch(/^SCAN (p_deliveries|entries|p_call_entries|e|r|p_calls)\b/m);
      expect(plan, sql).toMatch(/SEARCH/);
    }
    log.close();
  });

  it("the console's pages: every event search, every delivery filter and the chart's counts search an index, never scan or sort", async () => {
    // Given the same log, read as the console's read thread reads it
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    const seen = plans(log.db, () => {
      const reads = new ConsoleReads(log.db, () => null);
      // the events page: newest first, by call, event id, type, time, and a page further down
      for (const search of [{}, { callId: STORY_CALL }, { eventId: 'evt_story_3' }, { eventType: 'call.completed' }, { since: '2026-01-01T00:00:00Z', until: '2030-01-01T00:00:00Z' }, { before: 5 }]) {
        reads.events({ ...search, limit: 50 });
      }
      // the deliveries page: no filter, each filter, filters together, a page further down
      for (const search of [{}, { status: 'dead' }, { sink: 'slack' }, { rule: 'crm' }, { call: STORY_CALL }, { event: 'evt_story_3' }, { status: 'dead', sink: 'slack' }, { status: 'dead', rule: 'crm' }, { status: 'dead', before: 5 }]) {
        reads.deliveries({ ...search, limit: 50 });
      }
      reads.activity('2026-01-01T00:00:00.000Z', 3);
    });
    // Then each one searches an index (the log's primary key included), never scans a table, never sorts
    expect(seen.length).toBeGreaterThanOrEqual(12);
    for (const { sql, plan } of seen) {
      expect(plan, sql).not.toMatch(/TEMP B-TREE/);
      expect(plan, sql).not.toMatch(/^SCAN (p_deliveries|entries|p_call_entries|e|c)\b/m);
      expect(plan, sql).toMatch(/SEARCH/);
    }
    log.close();
  });
});

describe('the oldest waiting delivery (status, the oldest-pending gauge, stale work)', () => {
  it('is a seek on an index of what each open delivery waits since, over every sink and per sink', () => {
    const db = new SqliteLog(join(temp.dir, 'oldest.db')).db;
    const plan = (sql: string, ...params: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(plan(OLDEST_ANY_SQL('sqlite'))).toBe('SEARCH p_deliveries USING INDEX p_deliveries_open_since_all');
    expect(plan(OLDEST_OPEN_SQL('?'), 'hook')).toBe('SEARCH p_deliveries USING INDEX p_deliveries_open_since (sink=?)');
    db.close();
  });
});

describe("the console's deliveries page", () => {
  it('lists what `deliveries` lists for each filter and filters together, newest first, page by page below the last seq shown', async () => {
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    const reads = new ConsoleReads(log.db, () => null);
    const filters = [{}, { call: STORY_CALL }, { call: OTHER_CALL }, { event: 'evt_story_3' }, { rule: 'thread' }, { sink: 'slack' }, { status: 'dead' }, { status: 'succeeded', sink: 'slack', call: STORY_CALL }, { rule: 'crm', status: 'dead' }];
    for (const filter of filters) {
      // When the console pages through them two at a time
      const seen: string[] = [];
      let before: number | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = reads.deliveries({ ...filter, before, limit: 2 });
        expect(page.rows.length, JSON.stringify(filter)).toBeLessThanOrEqual(2);
        seen.push(...page.rows.map((r) => r.delivery_id));
        if (page.next === null) break;
        before = page.next;
      }
      // Then it saw what `deliveries` shows, in its order
      expect(seen, JSON.stringify(filter)).toEqual(listDeliveries(log.db, filter).map((d) => d.delivery_id));
    }
    expect(reads.deliveries({ call: STORY_CALL, limit: 50 }).rows.map((r) => r.delivery_id)).toEqual([D.d4, D.d3, D.d2, D.d1]);
    expect(reads.deliveries({ status: 'dead', call: STORY_CALL, limit: 50 }).rows.map((r) => [r.delivery_id, r.dead_reason])).toEqual([[D.d2, EXPECTED_STORY.deliveries[1]!.dead_reason]]);
    log.close();
  });
});

describe("the console's chart", () => {
  it('counts, per minute, the events received and the delivery attempts the log holds in it', async () => {
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    const from = Date.parse('2026-06-01T08:58:00.000Z');
    const activity = new ConsoleReads(log.db, () => null).activity(new Date(from).toISOString(), 5);
    // counted by hand from the entries' times
    const entries = log.read(0, { limit: 10_000 });
    const count = (type: string, i: number) => entries.filter((e) => e.type === type && Date.parse(e.at) >= from + i * 60_000 && Date.parse(e.at) < from + (i + 1) * 60_000).length;
    const minutes = [0, 1, 2, 3, 4];
    expect(activity).toEqual({ minutes: minutes.map((i) => (from + i * 60_000) / 1000), events: minutes.map((i) => count('event.received', i)), attempts: minutes.map((i) => count('delivery.attempted', i)) });
    expect(activity.attempts.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(5);
    expect(activity.events.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(5);
    log.close();
  });
});

describe('filters by call, event and rule, over a log written now and one written before plans carried call_id', () => {
  for (const withCallIds of [true, false]) {
    it(`deliveries: every filter AND-ed with the others, newest first (${withCallIds ? 'plans with' : 'plans without'} call_id)`, async () => {
      const { dbPath } = await writeStory(temp.dir, { withCallIds });
      const log = new SqliteLog(dbPath);
      const ids = (filter: Parameters<typeof listDeliveries>[1]) => listDeliveries(log.db, filter).map((d) => d.delivery_id);
      expect(ids({ call: STORY_CALL })).toEqual([D.d4, D.d3, D.d2, D.d1]);
      expect(ids({ call: STORY_CALL, status: 'dead' })).toEqual([D.d2]);
      expect(ids({ call: STORY_CALL, rule: 'thread' })).toEqual([D.d3, D.d1]);
      expect(ids({ rule: 'crm' })).toEqual([listDeliveries(log.db, { call: OTHER_CALL, rule: 'crm' })[0]!.delivery_id, D.d4]);
      expect(ids({ event: 'evt_story_3' })).toEqual([D.d4, D.d3]);
      expect(ids({ event: 'evt_story_3', sink: 'crm' })).toEqual([D.d4]);
      expect(ids({ event: 'evt_story_3', call: OTHER_CALL })).toEqual([]);
      expect(ids({ call: OTHER_CALL, rule: 'stars' })).toEqual([]);
      expect(ids({ call: STORY_CALL, limit: 2 })).toEqual([D.d4, D.d3]);
      expect(listDeliveries(log.db, { call: OTHER_CALL }).map((d) => d.call_id)).toEqual([OTHER_CALL, OTHER_CALL, OTHER_CALL]);
      log.close();
    });

    it(`log entries by call and event, AND-ed with type and time (${withCallIds ? 'plans with' : 'plans without'} call_id)`, async () => {
      const { dbPath } = await writeStory(temp.dir, { withCallIds });
      const log = new SqliteLog(dbPath);
      const seqs = (options: Parameters<SqliteLog['read']>[1]) => log.read(0, options).map((e) => e.seq);
      expect(seqs({ callId: STORY_CALL })).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect(seqs({ callId: OTHER_CALL })).toEqual([3, 4, 20, 21, 22]);
      expect(seqs({ eventId: 'evt_story_3' })).toEqual([10, 11, 12, 13, 14, 15, 17, 18]);
      expect(seqs({ callId: STORY_CALL, types: ['delivery.dead'] })).toEqual([8, 15]);
      expect(seqs({ callId: STORY_CALL, types: ['delivery.*'], since: '2026-06-01T09:00:12.000Z' })).toEqual([14, 15, 17, 18]);
      expect(seqs({ eventId: 'evt_story_3', until: '2026-06-01T09:00:11.000Z' })).toEqual([10, 11, 12]);
      log.close();
    });
  }
});

describe('a call read from the log', () => {
  it('log.read with a call or event pages through its entries in log order, as `log --follow` does', async () => {
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    const pages: number[][] = [];
    for (let after = 0; ; ) {
      const page = log.read(after, { callId: STORY_CALL, limit: 5 }).map((e) => e.seq);
      if (page.length === 0) break;
      pages.push(page);
      after = page[page.length - 1]!;
    }
    expect(pages).toEqual([[1, 2, 5, 6, 7], [8, 9, 10, 11, 12], [13, 14, 15, 16, 17], [18, 19]]);
    expect(log.read(0, { eventId: 'evt_other_2' }).map((e) => e.seq)).toEqual([20, 21, 22]);
    expect(log.read(0, { eventId: 'evt_nope' })).toEqual([]);
    // a call and an event of another call: nothing
    expect(log.read(0, { callId: STORY_CALL, eventId: 'evt_other_2' })).toEqual([]);
    log.close();
  });

  it('is erased once a call.erased entry names it, and only that call', async () => {
    // Given the story, and an erasure of the other call (README "The log" `call.erased`)
    const { dbPath } = await writeStory(temp.dir);
    const log = new SqliteLog(dbPath);
    const reads = new CallReads(log.db);
    expect(reads.callView(OTHER_CALL)?.story.erased).toBe(false);
    const erasure = { type: 'call.erased', data: { call_id: OTHER_CALL, reason: 'request', by: 'cli', downstream: false } } as unknown as NewEntry;
    log.append([erasure]);
    // Then
    expect(reads.callView(OTHER_CALL)?.story.erased).toBe(true);
    expect(reads.callView(STORY_CALL)?.story.erased).toBe(false);
    expect(reads.callView('call_nope')).toBeNull();
    log.close();
  });
});

describe('schema version 2 over a log written by version 1', () => {
  it('derives call ids, dead reasons and the entries of each call exactly as a rebuild does', async () => {
    // Given logs as husky-relay left them before issue 14: plans without call_id, and a
    // version 1 schema (the new columns, table and indexes taken away again)
    const { dbPath } = await writeStory(temp.dir, { withCallIds: false });
    const mixed = new SqliteLog(dbPath, { now: steppingClock(Date.parse('2026-06-02T00:00:00Z')) });
    appendSteps(mixed, sampleSteps(stepArb, 150, 14).map((s) => (s.kind === 'plan' ? { ...s, withCall: false } : s)));
    const expected = snapshot(mixed.db);
    mixed.close();
    downgradeToVersion1(dbPath);
    const v1 = new Database(join(temp.dir, 'fresh-v1.db'));
    migrate(v1, 1);
    expect(schemaOf(new Database(dbPath, { readonly: true }))).toEqual(schemaOf(v1));

    // When husky-relay opens it (and migrates it)
    const log = new SqliteLog(dbPath);

    // Then every projection is what the projector makes of the log, and a rebuild agrees
    expect(log.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // (the chain is computed afresh over the upgraded log: new data keys, new digests, another head)
    const headless = (snap: ReturnType<typeof snapshot>) => ({ ...snap, status: snap.status.replace(/"chain_head":"[0-9a-f]{64}"/, '') });
    expect(headless(snapshot(log.db))).toEqual(headless(expected));
    expect((await SqliteStore.over(log).privacy.verifyChain()).ok).toBe(true);
    expect((await verifyProjections(log.db)).differences).toEqual([]);
    expect(listDeliveries(log.db, { call: STORY_CALL }).map((d) => [d.delivery_id, d.dead_reason])).toEqual([
      [D.d4, null],
      [D.d3, null],
      [D.d2, 'render_failed: text: memory alloc limit exceeded, line:1, col:1'],
      [D.d1, null],
    ]);
    log.close();
  });
});

/** Takes away what migrations 2 to 8 added, as if they had never run. */
function downgradeToVersion1(dbPath: string): void {
  const db = new Database(dbPath);
  db.exec(`
    DROP TRIGGER entries_no_delete; DROP TABLE log_start; DROP INDEX p_calls_last_event; -- migration 8's, and migration 1's trigger as it was
    CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;
    DROP INDEX p_deliveries_open_since; DROP INDEX p_deliveries_open_since_all; ALTER TABLE p_deliveries DROP COLUMN redriven_at; -- migration 5's
    DROP TABLE payloads; DROP TABLE call_keys; DROP TABLE erased_calls; -- migration 4's
    ALTER TABLE entries DROP COLUMN hash; ALTER TABLE entries DROP COLUMN digest;
    DROP TABLE p_sink_state; -- migration 3's, taken away first
    DROP TABLE p_call_entries;
    DROP INDEX p_deliveries_call; DROP INDEX p_deliveries_event; DROP INDEX p_deliveries_rule;
    DROP INDEX p_deliveries_sink; DROP INDEX p_deliveries_status_seq;
    ALTER TABLE p_deliveries DROP COLUMN call_id;
    ALTER TABLE p_deliveries DROP COLUMN dead_reason;
    PRAGMA user_version = 1;
  `);
  db.close();
}

/** Tables, columns and indexes, as SQLite describes them. */
function schemaOf(db: Database.Database) {
  const objects = db.prepare(`SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`).all() as { type: string; name: string }[];
  const columns = objects
    .filter((o) => o.type === 'table')
    .map((o) => [o.name, db.prepare(`SELECT name, type, "notnull", pk FROM pragma_table_info(?)`).all(o.name)]);
  const version = db.pragma('user_version', { simple: true });
  db.close();
  return { objects, columns, version };
}
