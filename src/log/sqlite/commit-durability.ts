import type Database from 'better-sqlite3';

/**
 * How the writer thread's commits reach the disk (README "Delivery", "What a power loss can take
 * back"). The writer's connection commits with `synchronous=NORMAL`: a commit writes its WAL
 * frames and returns without an fsync, so the writer never waits on the disk while webhooks
 * queue behind it. A commit that holds anything the main thread asked for (a webhook about to be
 * answered 200, an operator's action) is flushed by the main thread before it answers
 * (`wal-sync.ts`: one `fdatasync` of the WAL, the very call `synchronous=FULL` makes, on libuv's
 * thread pool, shared by every commit written before it began). A commit holding only the
 * pipeline thread's entries (plans with the router's checkpoint, attempt outcomes, dead letters,
 * alerts) is not flushed on its own.
 *
 * Why that keeps every promise: the WAL is one file written in order and read back, after a
 * power loss, only up to the first frame that did not reach the disk, so the log that survives
 * is always a prefix of the one written. A flush syncs every frame written before it, so an
 * acknowledged webhook is durable exactly as with FULL. A pipeline commit is lost only with the
 * machine (power, kernel), never with the process (kill -9 leaves the written WAL in the page
 * cache), and only if no flush came after it; what it held is then done again from what
 * survived: the router plans again from its checkpoint, an attempt whose outcome is gone is made
 * again (at-least-once, as after a crash during an attempt).
 */

/**
 * Sets the writer's connection `db`, which `open.ts` opened `synchronous=FULL`, to NORMAL, and
 * says whether its commits need the caller's flush (true). A connection opened with sync off
 * (`unsynced`, tests and the bench's log generator) is left as it is: false.
 */
export function deferSyncToCaller(db: Database.Database): boolean {
  const opened = Number(db.pragma('synchronous', { simple: true })); // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
  if (opened < FULL) return false;
  db.pragma(`synchronous = ${NORMAL}`);
  return true;
}

const NORMAL = 1;
const FULL = 2;
