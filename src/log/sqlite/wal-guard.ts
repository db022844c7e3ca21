import { statSync } from 'node:fs';
import { dbFileOf } from '../db-files.js';
import { describeDamage, findDamage } from './damage.js';
import type { SqliteLog } from './sqlite-log.js';
import { WAL_LOST } from './writer-protocol.js';

/*
 * What the writer thread checks before it writes: that a commit could succeed (the probe behind
 * /readyz) and that the WAL file it writes to is still the database's.
 */

/**
 * The WAL file SQLite writes for the database at `dbPath`: `-wal` beside `dbFileOf(dbPath)`
 * (SQLite names it after the resolved file, not after a symlink to it).
 */
export function walPathOf(dbPath: string): string {
  return `${dbFileOf(dbPath)}-wal`;
}

/**
 * Takes the write lock and changes the header (then rolls back: nothing reaches the disk), as a
 * commit would. A database file the process may not write (owned by another user: SQLite then
 * opens it read-only without saying so) or a `query_only` connection fails here with
 * SQLITE_READONLY, where taking the lock alone succeeds. Then every table and index is read at
 * both ends (see `findDamage`): a page overwritten on disk fails there with SQLITE_CORRUPT,
 * naming the table, before a webhook's commit meets it.
 */
export function probeWrite(log: SqliteLog): void {
  log.db.exec('BEGIN IMMEDIATE');
  try {
    const version = Number(log.db.pragma('user_version', { simple: true }));
    log.db.pragma(`user_version = ${version}`);
    const damage = findDamage(log.db);
    if (damage) throw Object.assign(new Error(describeDamage(log.db.name, damage, damage.message)), { code: 'SQLITE_CORRUPT' });
  } finally {
    if (log.db.inTransaction) log.db.exec('ROLLBACK');
  }
}

/** Which file a WAL is: its device and inode (`fs.statSync`), as the guard first saw it. */
export interface WalIdentity {
  dev: number;
  ino: number;
}

/** Whether the file at `walPath` is there and empty (0 bytes). */
const emptyFile = (walPath: string): boolean => {
  try {
    return statSync(walPath).size === 0;
  } catch {
    return false;
  }
};

/** The identity of the file at `walPath`; undefined when there is none (ENOENT); other errors are thrown. */
export function walIdentity(walPath: string): WalIdentity | undefined {
  try {
    const { dev, ino } = statSync(walPath);
    return { dev, ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** True when `a` and `b` name the same file (device and inode). */
export const sameFile = (a: WalIdentity, b: WalIdentity): boolean => a.dev === b.dev && a.ino === b.ino;

/**
 * Watches the WAL file the writer's connection writes to. SQLite keeps that file open: deleted
 * (a cleanup script, a careless `rm *.db-*`) or replaced under the running relay, commits still
 * "succeed" into a file no restart will read, so a crash would lose everything acknowledged
 * since the last checkpoint. Before each commit and probe the file at `<db>-wal` is compared
 * (device and inode) with the one seen at start:
 * - deleted: what the open connection holds is checkpointed into the database file at once
 *   (that saves every acknowledged entry), then every commit fails with `WAL_LOST`. So is an
 *   empty file in its place: a connection of serve's own that opened the database after the
 *   deletion makes one, and so may a restore; either holds nothing, so the checkpoint is safe;
 * - replaced by another file: another process has made its own WAL, so copying ours over the
 *   database could mix the two; nothing is checkpointed and every commit fails with `WAL_LOST`.
 * Reopening the connection here would not be safe (the main thread's reader still holds the old
 * file), so the relay stays unavailable until `serve` restarts (readiness says so). `onWatched`
 * is told of the file once, when it is first seen (at start, or after the first commit): the
 * other threads of `serve` open their connections on that file only (`openOnRunningLog`).
 */
export function walGuard(walPath: string, onWatched?: (wal: WalIdentity) => void) {
  let seen: WalIdentity | undefined;
  let lost: string | undefined;
  const identity = () => walIdentity(walPath);
  const fail = (message: string): never => {
    lost = message;
    throw Object.assign(new Error(message), { code: WAL_LOST });
  };
  try {
    seen = identity();
  } catch {
    // not readable now: the first commit's check tells
  }
  if (seen) onWatched?.(seen);
  return {
    check(log: SqliteLog): void {
      if (lost) fail(lost);
      if (seen === undefined) return;
      const now = identity();
      // an empty file in its place may be a new WAL a connection of serve's own made after the
      // deletion (SQLite writes a WAL's header with its first frame), or a restore's empty file: both
      // hold nothing, so checkpointing what the writer's open WAL holds is safe, and saves it
      const empty = now !== undefined && !sameFile(now, seen) && emptyFile(walPath);
      if (now === undefined || empty) {
        let saved = 'everything acknowledged was checkpointed into the database file';
        try {
          const [result] = log.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
          if (result?.busy) saved = 'a reader kept the checkpoint that saves what it held from completing';
        } catch (error) {
          saved = `the checkpoint that saves what it held failed (${(error as Error).message})`;
        }
        fail(`the WAL file ${walPath} was ${empty ? 'deleted or replaced by an empty file' : 'deleted'} while serve ran; ${saved}; restart serve`);
      }
      if (!sameFile(now!, seen)) {
        fail(`the WAL file ${walPath} was replaced by another file while serve ran; restart serve`);
      }
    },
    /** After a commit: the WAL exists now if it did not at start. */
    committed(): void {
      if (seen) return;
      seen = identity();
      if (seen) onWatched?.(seen);
    },
    /** The WAL file watched (device and inode), once it exists; undefined before. */
    get watched(): WalIdentity | undefined {
      return seen;
    },
  };
}
