import { closeSync, existsSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openOnRunningLog } from '../src/log/sqlite/open-running.js';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { ReadThread } from '../src/log/sqlite/read-thread.js';
import { startFakeHttp, type FakeHttp } from '../testing/fakes/fake-http.js';
import { deliveriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { groupCommitFixture, rulesLoaded } from './helpers/group-commit-fixture.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * A thread of `serve` that opens the log after its writer started (the pipeline thread started
 * again, the read thread started again) must not make a new, empty WAL where a deleted one was:
 * the writer's guard would take it for another process's ("replaced") and not save what it holds.
 */

/** A thread started from the TypeScript sources transpiles them first: on a loaded machine that takes seconds. */
const RESTART = { timeoutMs: 30_000, what: 'the pipeline thread to be tried again' };

describe('the pipeline thread started again after the WAL was deleted', () => {
  let hook: FakeHttp | undefined;
  let relay: TestRelay | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await relay?.close();
    await hook?.close();
    cleanup?.();
  });

  it('opens nothing (no new WAL), is not tried again, and /readyz says the WAL was deleted', async () => {
    // Given a relay that has delivered an event
    hook = await startFakeHttp();
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = `version: 1\nsinks:\n  hook: { type: http, url: "${hook.url}" }\nrules:\n  - id: all\n    on: "*"\n    actions:\n      - sink: hook\n`;
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, rules), pipelineRestartDelaysMs: [50] });
    await postEvent(relay, makeEvent({ event_id: 'evt_first' }));
    await until(() => deliveriesOf(relay!.log, { status: 'succeeded' }).length === 1);
    // When its WAL file is deleted, then its pipeline thread fails and is started again
    const wal = `${relay.dbPath}-wal`;
    unlinkSync(wal);
    relay.pipeline!.debugCrash();
    await until(() => /cannot start again/.test(relay!.pipeline!.down() ?? ''), RESTART);
    // Then the new thread made no WAL where the deleted one was
    expect(existsSync(wal)).toBe(false);
    // And /readyz says why, and the writer's guard found the WAL deleted (so it saved what it held), not replaced
    const ready = await fetch(`${relay.url}/readyz`);
    expect(ready.status).toBe(503);
    const reasons = ((await ready.json()) as { reasons: string[] }).reasons.join('\n');
    expect(reasons).toContain(`the pipeline thread (routing and delivery) cannot start again: the pipeline thread did not open the log: the WAL file ${wal} was deleted while serve ran`);
    expect(reasons).toMatch(/log not writable: the WAL file .* was deleted while serve ran; everything acknowledged was checkpointed into the database file; restart serve/);
    expect(reasons).not.toMatch(/replaced/);
    // And it is not started again and again
    expect(relay.pipeline!.restarts).toBe(0);
  });
});

describe('the read thread started again after the WAL was deleted', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    temp?.cleanup();
  });

  it('opens nothing (no new WAL) and refuses every read with the reason, without starting again', async () => {
    // Given serve's writer and read thread on a log, both started
    temp = tempDir();
    const path = join(temp.dir, 'relay.db');
    const store = new SqliteStore(path);
    const commit = store.serveWriter(() => {});
    const reads = store.serveReads() as ReadThread;
    close = async () => {
      await reads.close();
      await commit.close();
      await store.close();
    };
    await commit.append([rulesLoaded(1)]);
    expect(await reads.log.lastSeq()).toBe(1);
    // When the WAL file is deleted, then the read thread fails and a read starts it again
    const wal = `${path}-wal`;
    unlinkSync(wal);
    reads.debugCrash();
    await until(() => reads.restarts === 1);
    const refused = `the read thread did not open the log: the WAL file ${wal} was deleted while serve ran`;
    await expect(reads.log.lastSeq()).rejects.toMatchObject({ name: 'ReadsUnavailableError', message: expect.stringContaining(refused) });
    // Then no WAL stands where the deleted one was, and the writer's guard finds it deleted, not replaced
    expect(existsSync(wal)).toBe(false);
    expect(await commit.probe()).toMatch(/^the WAL file .* was deleted while serve ran; everything acknowledged was checkpointed/);
    // And the next read is refused the same way, without another thread
    await expect(reads.projections.openCount('hook')).rejects.toMatchObject({ message: expect.stringContaining(refused) });
    expect(reads.restarts).toBe(1);
  });
});

describe('openOnRunningLog: the WAL deleted between the check and the open', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  let writer: Database.Database | undefined;
  afterEach(() => {
    writer?.close();
    temp?.cleanup();
  });

  /** A log in WAL mode with a connection holding frames in its WAL (the writer's), and that WAL's identity. */
  const running = () => {
    temp = tempDir();
    const path = join(temp.dir, 'relay.db');
    writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    const { dev, ino } = statSync(`${path}-wal`);
    return { path, wal: `${path}-wal`, expected: { dev, ino } };
  };

  const changed = (wal: string) =>
    `a late thread did not use the log: the WAL file ${wal} was deleted or replaced while it opened the log (the file there now is left as it is: one its connection made cannot be told from another process's); restart serve`;

  it('a connection that made a new WAL is closed, and the failure names the WAL, not a disk I/O error', () => {
    // Given a running log whose WAL is deleted after the check, before the connection opens it
    const { path, wal, expected } = running();
    // When a late thread opens a connection on it
    const open = () => openOnRunningLog(path, expected, 'a late thread', {}, () => unlinkSync(wal));
    // Then it fails naming the WAL (its first read, against an empty WAL, would say "disk I/O error")
    expect(open).toThrow(changed(wal));
    // And the new, empty WAL stays (what remains of the race: see openOnRunningLog), and the writer's
    // connection still holds every row it committed
    expect(statSync(wal).size).toBe(0);
    expect(writer!.prepare('SELECT x FROM t').pluck().all()).toEqual([1]);
  });

  it('a WAL another process put there meanwhile is left as it is', () => {
    // Given a running log whose WAL is replaced by another, non-empty file after the check
    const { path, wal, expected } = running();
    const replace = () => {
      unlinkSync(wal);
      const fd = openSync(wal, 'w');
      writeSync(fd, Buffer.alloc(32, 1));
      closeSync(fd);
    };
    // When a late thread opens a connection on it
    // Then it fails, and the other file stays as it was
    expect(() => openOnRunningLog(path, expected, 'a late thread', {}, replace)).toThrow(changed(wal));
    expect(statSync(wal).size).toBe(32);
  });

  it('a WAL deleted before the check: nothing is opened', () => {
    const { path, wal, expected } = running();
    unlinkSync(wal);
    expect(() => openOnRunningLog(path, expected, 'a late thread')).toThrow(
      `a late thread did not open the log: the WAL file ${wal} was deleted while serve ran (a connection opened now would make a new, empty one where it was); restart serve`,
    );
    expect(existsSync(wal)).toBe(false);
  });

  it('the WAL still there: the connection is opened and reads the log', () => {
    const { path, expected } = running();
    const db = openOnRunningLog(path, expected, 'a late thread', { readonly: true });
    expect(db.prepare('SELECT x FROM t').pluck().all()).toEqual([1]);
    db.close();
  });
});

describe('the writer thread started again after the WAL was deleted', () => {
  const open = groupCommitFixture();

  it('opens nothing (no new WAL): appends fail naming the WAL, and /readyz\'s probe says so', async () => {
    // Given serve's group commit that has committed (its writer's guard watches the WAL)
    const { path, commit } = open();
    await commit.append([rulesLoaded(1)]);
    // When the WAL is deleted and the writer thread then ends (a failure), so the next append starts another
    const wal = `${path}-wal`;
    unlinkSync(wal);
    await commit.debugEndWriter();
    // Then the new writer opens nothing: the append fails naming the WAL, and no WAL stands where it was
    const refused = `the writer thread did not open the log: the WAL file ${wal} was deleted while serve ran`;
    await expect(commit.append([rulesLoaded(2)])).rejects.toThrow(refused);
    expect(existsSync(wal)).toBe(false);
    expect(await commit.probe()).toContain(refused);
  });
});
