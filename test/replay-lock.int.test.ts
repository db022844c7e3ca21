import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireServeLock, lockPath, serveHolding } from '../src/log/serve-lock.js';
import { tempDir } from './helpers/relay.js';

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

describe('the serve lock (<db>.serve.pid)', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  beforeEach(() => {
    temp = tempDir('husky-lock-');
    dbPath = join(temp.dir, 'relay.db');
  });
  afterEach(() => temp.cleanup());

  it('is taken by one process at a time, and released on a clean stop', () => {
    // Given nobody holds the database
    expect(serveHolding(dbPath)).toBeNull();

    // When serve takes the lock
    const lock = acquireServeLock(dbPath);

    // Then its pid is in the file beside the database, and a second taker is refused by name
    expect(readFileSync(lockPath(dbPath), 'utf8')).toBe(`${process.pid}\nserve\n`);
    expect(serveHolding(dbPath)).toBe(process.pid);
    expect(() => acquireServeLock(dbPath, 'replay --rebuild')).toThrow(`is held by serve (pid ${process.pid}); stop it first`);

    // And after release the file is gone and the lock can be taken again
    lock.release();
    lock.release();
    expect(existsSync(lockPath(dbPath))).toBe(false);
    expect(serveHolding(dbPath)).toBeNull();
    acquireServeLock(dbPath, 'replay --rebuild').release();
  });

  it('a file left by a process that died (kill -9, crash) is ignored and replaced', () => {
    // Given a pid file of a process that no longer runs
    const pid = deadPid();
    writeFileSync(lockPath(dbPath), `${pid}\nserve\n`);

    // Then nobody holds the database, and serve may take it
    expect(serveHolding(dbPath)).toBeNull();
    const lock = acquireServeLock(dbPath);
    expect(serveHolding(dbPath)).toBe(process.pid);
    lock.release();
  });

  it('garbage in the file does not hold the database', () => {
    writeFileSync(lockPath(dbPath), 'not a pid\n');
    expect(serveHolding(dbPath)).toBeNull();
    acquireServeLock(dbPath).release();
  });

  it('release leaves a lock that another process took meanwhile alone', () => {
    // Given a lock whose file was replaced by another holder (after being judged stale)
    const lock = acquireServeLock(dbPath);
    writeFileSync(lockPath(dbPath), `${process.ppid}\nserve\n`);

    // When the first holder releases
    lock.release();

    // Then the other holder's file stays
    expect(serveHolding(dbPath)).toBe(process.ppid);
  });
});
