import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireServeLock, heldBy, lockFilePath, pidFilePath } from '../src/log/sqlite/serve-lock.js';
import { tempDir } from './helpers/relay.js';

describe('the serve lock (<db>.lock, with <db>.serve.pid naming the holder)', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  beforeEach(() => {
    temp = tempDir('husky-lock-');
    dbPath = join(temp.dir, 'relay.db');
  });
  afterEach(() => temp.cleanup());

  it('is taken by one holder at a time, and released on a clean stop', () => {
    // Given nobody holds the database
    expect(heldBy(dbPath)).toBeNull();

    // When serve takes the lock
    const lock = acquireServeLock(dbPath);

    // Then its pid is in the file beside the database, and a second taker is refused by name
    expect(readFileSync(pidFilePath(dbPath), 'utf8')).toBe(`${process.pid}\nserve\n`);
    expect(heldBy(dbPath)).toMatchObject({ pid: process.pid, holder: 'serve' });
    expect(() => acquireServeLock(dbPath, 'replay --rebuild')).toThrow(`${dbPath} is held by serve (pid ${process.pid}); stop it first`);

    // And after release the pid file is gone and the lock can be taken again
    lock.release();
    lock.release();
    expect(existsSync(pidFilePath(dbPath))).toBe(false);
    expect(heldBy(dbPath)).toBeNull();
    acquireServeLock(dbPath, 'replay --rebuild').release();
  });

  it('is one lock for a database however --db reaches it: through a symlink, a dangling one, or its real path', () => {
    // Given a database file reached through a symlink in another folder, and a link made before its target exists
    mkdirSync(join(temp.dir, 'link'));
    writeFileSync(dbPath, '');
    const link = join(temp.dir, 'link', 'relay.db');
    symlinkSync(dbPath, link);
    const later = join(temp.dir, 'later.db');
    const dangling = join(temp.dir, 'link', 'later.db');
    symlinkSync(later, dangling);
    for (const [first, second] of [[link, dbPath], [dbPath, link], [dangling, later]] as const) {
      // When serve takes the lock through one spelling
      const lock = acquireServeLock(first);
      try {
        // Then a rebuild through the other is refused (two locks let two serves send every delivery twice)
        expect(() => acquireServeLock(second, 'replay --rebuild'), `${first}, then ${second}`).toThrow(/is held by serve/);
        expect(heldBy(second)).toMatchObject({ pid: process.pid, holder: 'serve' });
      } finally {
        lock.release();
      }
    }
    // And the lock files sit beside the real files, none beside the links
    expect(existsSync(`${dbPath}.lock`)).toBe(true);
    expect(existsSync(`${later}.lock`)).toBe(true);
    expect(existsSync(`${link}.lock`)).toBe(false);
  });

  it('a pid file naming a live unrelated process holds nothing', () => {
    // Given a pid file left behind whose pid now belongs to another, running process
    writeFileSync(pidFilePath(dbPath), `${process.ppid}\nserve\n`);

    // Then nobody holds the database, and serve takes it and writes its own pid
    expect(heldBy(dbPath)).toBeNull();
    const lock = acquireServeLock(dbPath);
    expect(heldBy(dbPath)).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('a lock file someone wrote a live pid into holds nothing either', () => {
    // Given the lock file overwritten with a pid (a script, an editor)
    writeFileSync(lockFilePath(dbPath), `${process.ppid}\nserve\n`);

    // Then serve takes it anyway
    expect(heldBy(dbPath)).toBeNull();
    const lock = acquireServeLock(dbPath);
    expect(heldBy(dbPath)).toMatchObject({ pid: process.pid });
    expect(() => acquireServeLock(dbPath)).toThrow('is held by serve');
    lock.release();
  });

  it('garbage in the pid file holds nothing', () => {
    writeFileSync(pidFilePath(dbPath), 'not a pid\n');
    expect(heldBy(dbPath)).toBeNull();
    acquireServeLock(dbPath).release();
  });

  it('while held, a pid file not (yet) naming a live holder reads as another process starting', () => {
    // Given the lock held, and its pid file replaced by one naming nobody alive
    const lock = acquireServeLock(dbPath);
    writeFileSync(pidFilePath(dbPath), 'garbage\n');
    // Then the database is still held, by a process the message cannot name
    expect(heldBy(dbPath)).toMatchObject({ pid: null, description: 'another husky-relay process (starting)' });
    expect(() => acquireServeLock(dbPath)).toThrow('is held by another husky-relay process (starting); stop it first');
    lock.release();
  });

  it('release leaves a pid file that names another holder alone', () => {
    // Given the pid file rewritten by someone else while we hold the lock
    const lock = acquireServeLock(dbPath);
    writeFileSync(pidFilePath(dbPath), `${process.ppid}\nserve\n`);

    // When the first holder releases
    lock.release();

    // Then that file stays
    expect(readFileSync(pidFilePath(dbPath), 'utf8')).toBe(`${process.ppid}\nserve\n`);
  });

  it('lock and pid files are mode 0600, and advertise adds the URL for send', () => {
    const lock = acquireServeLock(dbPath);
    lock.advertise('http://127.0.0.1:4321');
    expect(statSync(lockFilePath(dbPath)).mode & 0o777).toBe(0o600);
    expect(statSync(pidFilePath(dbPath)).mode & 0o777).toBe(0o600);
    expect(heldBy(dbPath)).toMatchObject({ pid: process.pid, holder: 'serve', url: 'http://127.0.0.1:4321' });
    lock.release();
  });
});
