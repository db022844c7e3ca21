import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogUnavailableError } from '../src/errors.js';
import { GroupCommit, type CommitStats } from '../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { type Appended } from '../src/log/seam.js';
import { SCHEMA_VERSION } from '../src/log/sqlite/migrations.js';
import type { NewEntry } from '../src/log/types.js';
import { receivedEntry } from './helpers/entries.js';
import { tempDir } from './helpers/relay.js';

const received = (overrides: Parameters<typeof receivedEntry>[0] = {}) => receivedEntry({ prefix: 'log', ...overrides });

const rulesLoaded = (): NewEntry => ({ type: 'rules.loaded', data: { rules_hash: 'a'.repeat(64), path: '/etc/rules.yaml' } });

function count(db: Database.Database, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe('the log', () => {
  let temp: ReturnType<typeof tempDir>;
  let path: string;
  let log: SqliteLog;
  beforeEach(() => {
    temp = tempDir();
    path = join(temp.dir, 'relay.db');
    log = new SqliteLog(path);
  });
  afterEach(() => {
    log.close();
    temp.cleanup();
  });

  it('refuses UPDATE and DELETE of entries (append-only triggers)', () => {
    // Given a log with one entry
    log.append([received()]);
    // When anyone tries to change or remove it, even through another connection
    const other = new Database(path);
    try {
      // Then SQLite refuses, saying why
      expect(() => log.db.prepare(`UPDATE entries SET type = 'x'`).run()).toThrow(/append-only/);
      expect(() => log.db.prepare(`DELETE FROM entries`).run()).toThrow(/append-only/);
      expect(() => other.prepare(`UPDATE entries SET data = '{}' WHERE seq = 1`).run()).toThrow(/append-only/);
      expect(() => other.prepare(`DELETE FROM entries WHERE seq = 1`).run()).toThrow(/append-only/);
    } finally {
      other.close();
    }
    // And the entry is unchanged
    expect(log.read(0)).toHaveLength(1);
    expect(log.read(0)[0]?.type).toBe('event.received');
  });

  it('refuses REPLACE, which would delete an entry without a DELETE statement', () => {
    // Given a log with one event
    log.append([received({ event_id: 'evt_kept', body: 'original' })]);
    const original = log.read(0);
    // When someone overwrites it with INSERT OR REPLACE from a plain connection (the sqlite3 shell),
    // by seq or by its dedupe key
    const other = new Database(path);
    try {
      const bySeq = () =>
        other.prepare(`INSERT OR REPLACE INTO entries (seq, type, at, data) VALUES (1, 'forged', '2026-01-01', '{}')`).run();
      const byKey = () =>
        other.prepare(`REPLACE INTO entries (type, at, data, dedupe_key) VALUES ('forged', '2026-01-01', '{}', 'event:evt_kept')`).run();
      // Then the overwrite by seq is refused, saying why
      expect(bySeq).toThrow(/append-only/);
      // and the one by key is refused or ignored
      try {
        byKey();
      } catch (error) {
        expect((error as Error).message).toMatch(/append-only/);
      }
    } finally {
      other.close();
    }
    // And the entry is untouched
    expect(log.read(0)).toEqual(original);
  });

  it('appends with consecutive seqs, stamps `at` from the clock, and reads back what was written', () => {
    const at = new Date('2026-06-01T12:34:56.789Z');
    const clocked = new SqliteLog(join(temp.dir, 'clocked.db'), { now: () => at });
    try {
      const entries = [received(), rulesLoaded(), received()];
      const results = clocked.append(entries);
      expect(results).toEqual([
        { seq: 1, duplicate: false },
        { seq: 2, duplicate: false },
        { seq: 3, duplicate: false },
      ]);
      expect(clocked.read(0)).toEqual(entries.map((e, i) => ({ ...e, seq: i + 1, at: at.toISOString() })));
      expect(clocked.read(1, { types: ['rules.*'] }).map((e) => e.seq)).toEqual([2]);
      expect(clocked.lastSeq()).toBe(3);
    } finally {
      clocked.close();
    }
  });

  it('reads several types a batch at a time, in seq order, skipping none, whatever lies between them', () => {
    // Given event.received and rules.loaded entries interleaved with many of a third type
    const log = new SqliteLog(join(temp.dir, 'types.db'));
    try {
      const entries: NewEntry[] = [];
      for (let i = 0; i < 120; i++) entries.push(i % 7 === 0 ? received() : i % 5 === 0 ? rulesLoaded() : { type: 'delivery.retried', data: { delivery_id: `d${i}`, reason: 'r' } });
      log.append(entries);
      const wanted = log.read(0).filter((e) => e.type === 'event.received' || e.type === 'rules.loaded').map((e) => e.seq);
      // When read in batches of 4, as the router reads its types
      const seen: number[] = [];
      for (let after = 0; ; ) {
        const batch = log.read(after, { types: ['event.received', 'rules.loaded'], limit: 4 });
        if (batch.length === 0) break;
        seen.push(...batch.map((e) => e.seq));
        after = batch.at(-1)!.seq;
      }
      // Then every one comes, once, in order: the same as one glob query
      expect(seen).toEqual(wanted);
      expect(log.read(0, { types: ['event.*', 'rules.loaded'] }).map((e) => e.seq)).toEqual(wanted);
    } finally {
      log.close();
    }
  });

  it('keeps one entry per event_id, also after close and reopen, and keeps the first bytes', () => {
    // Given an event appended, and the log closed and reopened (a restart)
    const first = received({ event_id: 'evt_once', body: 'first bytes' });
    expect(log.append([first])).toEqual([{ seq: 1, duplicate: false }]);
    log.close();
    log = new SqliteLog(path);
    // When the same event_id is appended again, with other bytes
    const again = log.append([received({ event_id: 'evt_once', body: 'other bytes' })]);
    // Then it is a duplicate and the first one stays
    expect(again).toEqual([{ seq: null, duplicate: true }]);
    expect(log.read(0)).toHaveLength(1);
    expect(log.bodyOf('evt_once')).toBe('first bytes');
    expect(count(log.db, 'p_events_by_type')).toBe(1);
    expect((log.db.prepare(`SELECT n FROM p_events_by_type`).get() as { n: number }).n).toBe(1);
  });

  it('stores an event_id repeated within one batch once', () => {
    const results = log.append([received({ event_id: 'evt_twice' }), received({ event_id: 'evt_twice' }), received()]);
    expect(results).toEqual([
      { seq: 1, duplicate: false },
      { seq: null, duplicate: true },
      { seq: 2, duplicate: false },
    ]);
    expect(log.read(0).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('a commit that fails (disk full) leaves nothing half-written, and the next one continues the seqs', () => {
    // Given some entries, and then a disk with no room left
    log.append([received(), received()]);
    const before = { entries: log.read(0), events: count(log.db, 'p_events_by_type'), calls: count(log.db, 'p_calls') };
    log.db.pragma(`max_page_count = ${log.db.pragma('page_count', { simple: true }) as number}`);
    // When a batch is appended whose later entries do not fit
    const batch = [received(), received(), received({ body: 'x'.repeat(64 * 1024) }), received()];
    // Then the append throws, and neither the log nor any projection holds part of it
    expect(() => log.append(batch)).toThrow(/full/i);
    expect(log.read(0)).toEqual(before.entries);
    expect(count(log.db, 'p_calls')).toBe(before.calls);
    expect(count(log.db, 'p_events_by_type')).toBe(before.events);
    expect(log.db.inTransaction).toBe(false);
    // And when there is room again the same batch goes in whole, right after the old entries
    log.db.pragma('max_page_count = 1073741823');
    expect(log.append(batch).map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect(count(log.db, 'p_calls')).toBe(before.calls + 4);
  });
});

describe('migrations', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir();
  });
  afterEach(() => temp.cleanup());

  it('set user_version, and reopening keeps the data and does not run them again', () => {
    // Given a new log with one entry
    const path = join(temp.dir, 'relay.db');
    const log = new SqliteLog(path);
    expect(log.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    log.append([received()]);
    const schema = log.db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY name`).all();
    log.close();
    // When it is opened again (twice, as serve and a CLI command would)
    const a = new SqliteLog(path);
    const b = new SqliteLog(path);
    try {
      // Then the schema is as it was, the version too, and the entry is still there
      expect(a.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(a.db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY name`).all()).toEqual(schema);
      expect(b.read(0)).toHaveLength(1);
      expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(a.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    } finally {
      a.close();
      b.close();
    }
  });

  it('refuses a database made by a newer husky-relay, saying so', () => {
    const path = join(temp.dir, 'relay.db');
    new SqliteLog(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteLog(path)).toThrow(`${path} was written by a newer husky-relay (schema version ${SCHEMA_VERSION + 1}; this one reads up to ${SCHEMA_VERSION})`);
  });
});

describe('GroupCommit', () => {
  let temp: ReturnType<typeof tempDir>;
  let log: SqliteLog;
  let opened: GroupCommit[];
  /** A group commit on the test's database (its writer thread has its own connection). */
  const groupCommit = (onCommit?: (stats: CommitStats) => void) => {
    const commit = new GroupCommit(log.path, {}, onCommit);
    opened.push(commit);
    return commit;
  };
  beforeEach(() => {
    temp = tempDir();
    log = new SqliteLog(join(temp.dir, 'relay.db'));
    opened = [];
  });
  afterEach(async () => {
    await Promise.all(opened.map((c) => c.close()));
    log.close();
    temp.cleanup();
  });

  it('writes appends made in one tick in one transaction, answering each with its seq', async () => {
    // Given a group commit that reports its transactions, its writer thread started
    const batches: Array<{ size: number; lastSeq: number | null }> = [];
    const commit = groupCommit(({ size, lastSeq }) => batches.push({ size, lastSeq }));
    await commit.probe();
    // When 50 appends are made in one tick (another connection holds the write lock meanwhile,
    // so however this thread is scheduled, the writer cannot finish a commit in the middle)
    log.db.exec('BEGIN IMMEDIATE');
    const pending = Promise.all(Array.from({ length: 50 }, () => commit.appendOne(received())));
    await new Promise((resolve) => setImmediate(resolve));
    log.db.exec('COMMIT');
    const results = await pending;
    // Then they resolve with consecutive seqs, in call order; the first may go at once to the
    // idle writer, every other one shares a single transaction
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => ({ seq: i + 1, duplicate: false })));
    expect([[{ size: 50, lastSeq: 50 }], [{ size: 1, lastSeq: 1 }, { size: 49, lastSeq: 50 }]]).toContainEqual(batches);
    expect(log.read(0)).toHaveLength(50);
  });

  it('appends made while a commit is in flight share the next transaction', async () => {
    // Given a writer held up in a commit (another connection holds the write lock)
    const batches: number[] = [];
    const commit = groupCommit(({ size }) => batches.push(size));
    await commit.probe();
    log.db.exec('BEGIN IMMEDIATE');
    const first = commit.appendOne(received());
    // When 20 more appends are made meanwhile, one per loop turn
    const more: Promise<Appended>[] = [];
    for (let i = 0; i < 20; i += 1) {
      more.push(commit.appendOne(received()));
      await new Promise((resolve) => setImmediate(resolve));
    }
    log.db.exec('COMMIT');
    await Promise.all([first, ...more]);
    // Then whatever queued behind the commit in flight is written in one transaction after
    // it (how many joined the held-up one depends on when the writer thread woke)
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(21);
    expect(log.read(0)).toHaveLength(21);
  });

  it('answers only after the commit: nothing resolves before the entries are readable', async () => {
    const commit = groupCommit();
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () =>
        commit.appendOne(received()).then((appended) => {
          seen.push(log.read(0).length);
          return appended;
        }),
      ),
    );
    expect(seen).toEqual([5, 5, 5, 5, 5]);
  });

  it('an append after the last commit has returned gets a transaction of its own', async () => {
    const batches: number[] = [];
    const commit = groupCommit(({ size }) => batches.push(size));
    await Promise.all([commit.appendOne(received()), commit.appendOne(received())]);
    const before = batches.length;
    await commit.appendOne(received());
    expect(batches.slice(before)).toEqual([1]);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('the writer starts the next commit on its own, even while the event loop is busy', async () => {
    // Given a commit posted in one loop turn and another append posted in the next
    const commit = groupCommit();
    const first = commit.appendOne(received());
    await new Promise((resolve) => setImmediate(resolve));
    const second = commit.appendOne(received());
    await new Promise((resolve) => setImmediate(resolve));
    // When this thread is blocked (a burst of requests being parsed, say) and never reads
    // the writer's answer to the first commit
    const deadline = Date.now() + 5000;
    while (log.read(0).length < 2 && Date.now() < deadline) {
      // blocked: only the writer thread can make progress here
    }
    // Then the second append is already committed: the writer did not wait for this thread
    expect(log.read(0)).toHaveLength(2);
    await expect(Promise.all([first, second])).resolves.toEqual([
      { seq: 1, duplicate: false },
      { seq: 2, duplicate: false },
    ]);
  });

  it('a failed commit rejects every caller in the batch with LogUnavailableError and stores none', async () => {
    // Given a log that cannot be written
    const batches: number[] = [];
    const commit = groupCommit(({ size }) => batches.push(size));
    await commit.debugPragma('query_only = 1');
    // When several appends share a commit
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => commit.appendOne(received())));
    // Then all are rejected with the typed error, no batch is reported, nothing is stored
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as LogUnavailableError;
      expect(reason).toBeInstanceOf(LogUnavailableError);
      expect(reason.code).toBe('log_unavailable');
      expect(reason.message).toMatch(/readonly|read-only/i);
    }
    expect(batches).toEqual([]);
    await commit.debugPragma('query_only = 0');
    expect(log.read(0)).toEqual([]);
    // And the group commit keeps working afterwards
    const after: Appended = await commit.appendOne(received());
    expect(after).toEqual({ seq: 1, duplicate: false });
  });

  it('a duplicate in a batch does not fail the others', async () => {
    const commit = groupCommit();
    const results = await Promise.all([
      commit.appendOne(received({ event_id: 'evt_dup' })),
      commit.appendOne(received({ event_id: 'evt_dup' })),
      commit.appendOne(received()),
    ]);
    expect(results).toEqual([
      { seq: 1, duplicate: false },
      { seq: null, duplicate: true },
      { seq: 2, duplicate: false },
    ]);
  });

  it('close() commits what is queued before it returns (shutdown)', async () => {
    const commit = groupCommit();
    const pending = commit.appendOne(received());
    await commit.close();
    expect(log.read(0)).toHaveLength(1);
    await expect(pending).resolves.toEqual({ seq: 1, duplicate: false });
  });
});
