import { readFileSync, truncateSync, unlinkSync } from 'node:fs';
import { isPostgresUrl } from '../location.js';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

import { UserError } from '../../errors.js';
import { codeOf, fileError } from '../../os-errors.js';
import { createPrivateFile, ensurePrivateFolder, writePrivateFile } from '../private-files.js';
import { DEFAULTS } from '../../config/defaults.js';
import { dbFileOf } from '../db-files.js';

/**
 * Who holds a database for work that must not overlap with `serve`: `serve` itself, or
 * `replay --rebuild` (which swaps every projection table and would pull them from under a
 * running dispatcher).
 *
 * The lock is an exclusive SQLite lock (an fcntl lock, taken by `BEGIN EXCLUSIVE`) on a small
 * empty file beside the database, `<db>.lock`, held by an open connection for the holder's
 * whole life. The kernel drops it when the process ends however it ends (kill -9, a crash,
 * a reboot), so nothing stale can ever block a start, and a pid that now names an unrelated
 * process means nothing. The lock file is never deleted (deleting it could let two processes
 * lock two different files of one name).
 *
 * `<db>.serve.pid` says who holds it, for messages and for `send`: the pid, what holds it,
 * and (serve, once listening) its URL, one per line. It is only information: the lock decides.
 */
export interface ServeLock {
  lockPath: string;
  pidPath: string;
  pid: number;
  /** Adds the URL `serve` listens on to the pid file, for `send` (default URL). */
  advertise(url: string): void;
  /** Drops the lock and removes the pid file if it is still ours. Safe to call twice. */
  release(): void;
}

/** What `<db>.serve.pid` says, when the lock is held. */
export interface Holder {
  /** The holder's pid, or null when its pid file is not written yet (it is starting). */
  pid: number | null;
  /** `serve` or `replay --rebuild`. */
  holder: string;
  /** Where that serve listens, once it does. */
  url?: string;
  /** For messages: `serve (pid 123)`. */
  description: string;
}

/**
 * `<db>.lock` and `<db>.serve.pid` beside the database file itself (`dbFileOf`: symlinks
 * followed, as SQLite follows them): named after the `--db` text, a symlink and its target
 * took two locks on one database, and two serves ran on it, each sending every delivery.
 */
export const lockFilePath = (dbPath: string): string => `${dbFileOf(dbPath)}.lock`;
export const pidFilePath = (dbPath: string): string => `${dbFileOf(dbPath)}.serve.pid`;

/** The lock is held by someone else: a user error naming the holder. */
export class DatabaseHeldError extends UserError {
  constructor(
    readonly dbPath: string,
    readonly holder: Holder,
  ) {
    super(`${dbPath} is held by ${holder.description}; stop it first`, 'database_held');
    this.name = 'DatabaseHeldError';
  }
}

/**
 * Takes the lock for this process, or throws a `DatabaseHeldError` naming who holds it (an
 * `EnvironmentError` when the folder or lock file cannot be made). Makes the database's
 * folder (0700) if it is not there.
 */
export function acquireServeLock(dbPath: string, holder = 'serve'): ServeLock {
  // several serves share a PostgreSQL log (SPEC §13), and its rebuild is one transaction: no lock file
  if (isPostgresUrl(dbPath)) return { lockPath: '', pidPath: '', pid: process.pid, advertise: () => {}, release: () => {} };
  const lockPath = lockFilePath(dbPath);
  const pidPath = pidFilePath(dbPath);
  ensurePrivateFolder(dirname(lockPath));
  createPrivateFile(lockPath);
  const connection = lockOrThrow(dbPath, lockPath);
  const lines = [String(process.pid), holder];
  try {
    writePrivateFile(pidPath, `${lines.join('\n')}\n`);
  } catch (error) {
    connection.close();
    throw error;
  }
  let released = false;
  return {
    lockPath,
    pidPath,
    pid: process.pid,
    advertise(url) {
      lines[2] = url;
      writePrivateFile(pidPath, `${lines.join('\n')}\n`);
    },
    release() {
      if (released) return;
      released = true;
      if (readPidFile(pidPath)?.pid === process.pid) {
        try {
          unlinkSync(pidPath);
        } catch {
          // already gone
        }
      }
      connection.close(); // drops the lock
    },
  };
}

function lockOrThrow(dbPath: string, lockPath: string): Database.Database {
  for (let attempt = 0; ; attempt++) {
    let connection: Database.Database | undefined;
    try {
      connection = new Database(lockPath, { timeout: DEFAULTS.log.lockWaitMs });
      connection.pragma('journal_mode = MEMORY'); // no -journal file beside it
      connection.exec('BEGIN EXCLUSIVE');
      return connection;
    } catch (error) {
      connection?.close();
      const code = codeOf(error) ?? '';
      if (code.startsWith('SQLITE_BUSY')) throw new DatabaseHeldError(dbPath, describeHolder(dbPath));
      // not an SQLite file (someone wrote a pid into it): nobody can hold it, so it is empty again
      if ((code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) && attempt === 0) {
        truncateSync(lockPath, 0);
        continue;
      }
      throw fileError(error, 'cannot lock', lockPath);
    }
  }
}

/** Who holds the database, or null when nobody does. Never takes the lock. */
export function heldBy(dbPath: string): Holder | null {
  if (isPostgresUrl(dbPath)) return null; // several serves share a PostgreSQL log (SPEC §13): no lock file
  return isLocked(lockFilePath(dbPath)) ? describeHolder(dbPath) : null;
}

/** What holds the database, for messages (`serve (pid 123)`), or null when nobody does. */
export function holderOf(dbPath: string): string | null {
  return heldBy(dbPath)?.description ?? null;
}

function isLocked(lockPath: string): boolean {
  let probe: Database.Database | undefined;
  try {
    probe = new Database(lockPath, { readonly: true, fileMustExist: true, timeout: 0 });
    probe.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    return (codeOf(error) ?? '').startsWith('SQLITE_BUSY');
  } finally {
    probe?.close();
  }
}

function describeHolder(dbPath: string): Holder {
  const file = readPidFile(pidFilePath(dbPath));
  // the pid file may be a dead holder's (the lock's new holder has not written its own yet)
  if (!file || !alive(file.pid)) return { pid: null, holder: 'husky-relay', description: 'another husky-relay process (starting)' };
  return { ...file, description: `${file.holder} (pid ${file.pid})` };
}

function readPidFile(path: string): { pid: number; holder: string; url?: string } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const [first, second, third] = text.split('\n');
  const pid = Number(first);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, holder: second?.trim() || 'serve', ...(third?.trim() ? { url: third.trim() } : {}) };
}

/** Whether a process with this pid runs (one we may not signal still runs). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
