import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Who holds a database for work that must not overlap with `serve`: `serve` itself, or
 * `replay --rebuild` (which swaps every projection table and would pull them from under a
 * running dispatcher). A pid file beside the database, `<db>.serve.pid`: first line the pid,
 * second line what holds it. A file whose pid is dead (a crash, kill -9) is stale and ignored.
 */
export interface ServeLock {
  path: string;
  pid: number;
  /** Removes the pid file if it is still ours. Safe to call twice. */
  release(): void;
}

export const lockPath = (dbPath: string): string => `${dbPath}.serve.pid`;

/** Whether a process with this pid runs (one we may not signal still runs). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(path: string): { pid: number; holder: string } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const [first, second] = text.split('\n');
  const pid = Number(first);
  return Number.isInteger(pid) && pid > 0 ? { pid, holder: second?.trim() || 'serve' } : null;
}

/** The pid holding the database (serve or a rebuild), or null when none does. */
export function serveHolding(dbPath: string): number | null {
  const held = read(lockPath(dbPath));
  return held && alive(held.pid) ? held.pid : null;
}

/** What holds the database, for messages: `serve (pid 123)`. */
export function holderOf(dbPath: string): string | null {
  const held = read(lockPath(dbPath));
  return held && alive(held.pid) ? `${held.holder} (pid ${held.pid})` : null;
}

/**
 * Takes the lock for this process, or throws a UserError naming who holds it. The file is
 * written whole under a private name and then hard-linked into place (link fails if the name
 * exists), so of two processes starting together only one gets it, and nobody ever reads a
 * half-written file.
 */
export function acquireServeLock(dbPath: string, holder = 'serve'): ServeLock {
  const path = lockPath(dbPath);
  mkdirSync(dirname(path), { recursive: true }); // a first start: the folder is not there yet
  const mine = `${path}.${process.pid}.tmp`;
  writeFileSync(mine, `${process.pid}\n${holder}\n`, { mode: 0o644 });
  try {
    return take(dbPath, path, mine);
  } finally {
    unlinkSync(mine);
  }
}

function take(dbPath: string, path: string, mine: string): ServeLock {
  for (let tries = 0; tries < 3; tries++) {
    try {
      linkSync(mine, path);
      let released = false;
      return {
        path,
        pid: process.pid,
        release() {
          if (released) return;
          released = true;
          if (read(path)?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = read(path);
    if (held && alive(held.pid)) {
      throw new UserError(
        `${dbPath} is held by ${held.holder} (pid ${held.pid}); stop it first ` +
          `(if no such process is husky-relay, remove ${path})`,
        'database_held',
      );
    }
    // stale: its process is gone (or the file is garbage)
    try {
      unlinkSync(path);
    } catch {
      // another starter removed it first
    }
  }
  throw new UserError(`could not take ${path}: other husky-relay processes keep taking it`, 'database_held');
}
