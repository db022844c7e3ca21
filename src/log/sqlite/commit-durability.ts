import type Database from 'better-sqlite3';

/**
 * How the writer thread syncs one group commit (README "Delivery", "What a power loss can take
 * back"). A commit that holds anything the main thread asked for (a webhook about to be
 * answered 200, an operator's action) is `synchronous=FULL`: it returns only once the WAL is on
 * disk. A commit that holds only the pipeline thread's entries (plans with the router's
 * checkpoint, attempt outcomes, dead letters, alerts) is `synchronous=NORMAL`: written to the
 * WAL, not fsynced.
 *
 * Why that keeps every promise: the WAL is one file written in order and read back, after a
 * power loss, only up to the first frame that did not reach the disk, so the log that survives
 * is always a prefix of the one written. The next FULL commit syncs every frame before its
 * own, so an acknowledged webhook is durable exactly as before. A pipeline commit is lost only
 * with the machine (power, kernel), never with the process (kill -9 leaves the written WAL in
 * the page cache), and only if no FULL commit came after it; what it held is then done again
 * from what survived: the router plans again from its checkpoint, an attempt whose outcome is
 * gone is made again (at-least-once, as after a crash during an attempt). Each fsync skipped is
 * time the writer no longer spends while webhooks wait behind it.
 */
export interface CommitDurability {
  /** Sets the connection's `synchronous` for the next commit: FULL if `durable`, else NORMAL. No I/O. */
  before(durable: boolean): void;
}

/**
 * The policy on the writer's connection `db`, which `open.ts` opened `synchronous=FULL` (a
 * durable commit keeps whatever level it was opened with, EXTRA included). A connection opened with sync off (`unsynced`, tests and the bench's log generator) is left as it is.
 */
export function commitDurability(db: Database.Database): CommitDurability {
  const opened = Number(db.pragma('synchronous', { simple: true })); // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
  if (opened < FULL) return { before() {} };
  let current = opened;
  return {
    before(durable) {
      const wanted = durable ? opened : NORMAL;
      if (wanted === current) return;
      db.pragma(`synchronous = ${wanted}`);
      current = wanted;
    },
  };
}

const NORMAL = 1;
const FULL = 2;
