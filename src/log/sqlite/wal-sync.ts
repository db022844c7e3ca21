import { closeSync, fdatasync, openSync, realpathSync } from 'node:fs';

/**
 * The WAL file SQLite writes for the database at `dbPath`: beside the file the path leads to,
 * symlinks followed (SQLite resolves them before it names its `-wal`), or beside `dbPath` itself
 * when it cannot be resolved (not created yet).
 */
export function walPathOf(dbPath: string): string {
  try {
    return `${realpathSync(dbPath)}-wal`;
  } catch {
    return `${dbPath}-wal`;
  }
}

/** Flushes a file's written data to the disk (`fdatasync(2)` on libuv's thread pool). */
export type SyncFile = (fd: number) => Promise<void>;

const fdatasyncOf: SyncFile = (fd) => new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/**
 * Makes the writer thread's commits durable from the thread that answers them (README
 * "Delivery", "What a power loss can take back"). The writer commits without an fsync
 * (`synchronous=NORMAL`: the WAL frames are written, not flushed); before the main thread
 * answers a caller of such a commit (a webhook's 200), `sync()` flushes the WAL file with one
 * `fdatasync`, the very call SQLite's `synchronous=FULL` makes at the end of a commit, here on
 * libuv's thread pool. So the writer starts its next transaction while the disk flushes, and one
 * flush serves every commit written before it began, however many there are.
 *
 * Why that is durable: `fdatasync` flushes the file, whichever descriptor names it, and a WAL
 * is read back after a power loss only up to its first frame that did not reach the disk, so a
 * flush that began after a commit was written keeps that commit and everything before it.
 * SQLite takes no lock on the WAL file itself (its locks are on the database and `-shm`
 * files), so a descriptor of our own cannot drop one of SQLite's when it closes.
 */
export class WalSync {
  private fd: number | undefined;
  /** The flush in progress, if any. */
  private running: Promise<void> | undefined;
  /** The flush that starts once `running` ends, shared by every caller that came meanwhile. */
  private queued: Promise<void> | undefined;
  private closed = false;

  /**
   * @param walPath - the WAL file (`<database>-wal`); opened read-only at the first `sync`,
   *   which comes after a commit has written it.
   * @param syncFile - how a flush is made (tests count and hold them). (Default: `fdatasync`)
   */
  constructor(
    readonly walPath: string,
    private readonly syncFile: SyncFile = fdatasyncOf,
  ) {}

  /**
   * Resolves once everything written to the WAL before this call is on disk. A flush already
   * under way may have begun before the caller's commit was written, so a caller that comes
   * during one waits for the next, which begins when it ends (one for all who came meanwhile).
   * Rejects with the file system's error (`EIO`, `ENOSPC`, `ENOENT` for a WAL that is gone):
   * nothing written since the last good flush can be counted on.
   */
  sync(): Promise<void> {
    if (this.running === undefined) return this.start();
    const after = (): Promise<void> => {
      this.queued = undefined;
      return this.start();
    };
    return (this.queued ??= this.running.then(after, after));
  }

  /** Closes the descriptor (after the last `sync` has settled: the group commit's close). */
  close(): void {
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): Promise<void> {
    const run = (async () => {
      if (this.closed) throw new Error(`the WAL ${this.walPath} is closed`);
      this.fd ??= openSync(this.walPath, 'r');
      await this.syncFile(this.fd);
    })();
    this.running = run;
    const done = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }
}
