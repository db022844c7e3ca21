import Database from 'better-sqlite3';
import { EnvironmentError } from '../../os-errors.js';
import { sameFile, walIdentity, walPathOf, type WalIdentity } from './wal-guard.js';
import { WAL_LOST } from './writer-protocol.js';

/*
 * Connections `serve` opens on its log after the writer thread has started: the pipeline thread
 * (and each restart of it), the read thread (and each restart), the checkpoint thread, a writer
 * thread started again. Opening a connection on a database in WAL mode whose `-wal` file was
 * deleted makes a new, empty one in its place (even read-only: SQLite creates it at the first
 * read). The writer's guard (`walGuard`) would then take that file for another process's
 * ("replaced") and not save what the deleted WAL held, and the connection itself would read
 * the wal-index this process shares with the writer against an empty file (SQLITE_IOERR_SHORT_READ).
 * So such a connection is opened here only, on the WAL the writer's guard watches.
 */

/**
 * The WAL file the writer's guard watches, in memory every thread of `serve` shares (a
 * SharedArrayBuffer of 24 bytes: a flag, then device and inode as float64). Set once, by the
 * writer thread, when its guard first sees the file; a writer started again later does not
 * change it. `new WatchedWal(buffer)` on another thread reads the same memory.
 */
export class WatchedWal {
  private readonly set: Int32Array;
  private readonly cells: Float64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(24)) {
    this.set = new Int32Array(buffer, 0, 1);
    this.cells = new Float64Array(buffer, 8, 2);
  }

  /** The shared memory, to hand to another thread. */
  get buffer(): SharedArrayBuffer {
    return this.set.buffer as SharedArrayBuffer;
  }

  /** Records `wal` unless a file was recorded already (the first one seen is the one watched). */
  publish(wal: WalIdentity): void {
    if (Atomics.load(this.set, 0) !== 0) return;
    this.cells[0] = wal.dev;
    this.cells[1] = wal.ino;
    Atomics.store(this.set, 0, 1); // after the cells: a reader that sees the flag sees them
  }

  /** The file recorded; undefined before the writer's guard has seen one. */
  get(): WalIdentity | undefined {
    if (Atomics.load(this.set, 0) === 0) return undefined;
    return { dev: this.cells[0]!, ino: this.cells[1]! };
  }
}

/** Who opens a connection on a running log, and on which WAL (`OpenLogOptions.lateOpen`). */
export interface LateOpen {
  /** `WatchedWal`'s memory, shared with the writer thread. */
  watched: SharedArrayBuffer;
  /** Who opens, as messages name it: `the pipeline thread`. */
  by: string;
}

/**
 * Opens a connection on the log `serve` runs on (it exists: the HTTP thread opened and migrated
 * it), using the WAL file `expected` names, the one the writer's guard watches; `expected`
 * undefined (the guard has seen none yet): opened unchecked. The file at `<db>-wal` is checked
 * before the open and again after the connection's first read (SQLite opens the WAL file then
 * and keeps it until the connection closes); nothing is written in between. `options`: as
 * better-sqlite3's (`readonly`, `timeout`); `fileMustExist` is always set.
 *
 * Throws `EnvironmentError` with code `WAL_LOST` (and opens nothing, or closes what it opened,
 * having only read) when the file is gone or another one, before or after: the writer's guard
 * says the same at its next commit or `/readyz` probe, and only a restart of `serve` helps.
 * What this cannot prevent: the WAL deleted between the first check and the open. The
 * connection then makes a new, empty WAL (no open mode of SQLite avoids that but `immutable`,
 * which would not read the WAL at all); it is found and the connection closed, but the file is
 * left, since one another process made in the same instant looks the same, and the writer's
 * guard then takes it for a replaced WAL. Other errors of the open are thrown as SQLite gives them.
 * `between`: test hook, run between the first check and the open.
 */
export function openOnRunningLog(
  path: string,
  expected: WalIdentity | undefined,
  by: string,
  options: Database.Options = {},
  between: () => void = () => {},
): Database.Database {
  const walPath = walPathOf(path);
  if (expected) {
    const before = identityOrNone(walPath);
    if (!before || !sameFile(before, expected)) throw walLost(`${by} did not open the log: the WAL file ${walPath} ${before ? 'was replaced by another file' : 'was deleted'} while serve ran (a connection opened now would make a new, empty one where it was); restart serve`);
  }
  between();
  const db = new Database(path, { ...options, fileMustExist: true });
  let failure: unknown;
  try {
    db.pragma('schema_version'); // the first read: the connection opens its WAL file now
  } catch (error) {
    failure = error; // a WAL made meanwhile is read as short (SQLITE_IOERR_SHORT_READ): the check below says why
  }
  if (expected) {
    const after = identityOrNone(walPath);
    if (!after || !sameFile(after, expected)) {
      db.close(); // it only read: closing writes nothing, and the writer's connection keeps the WAL
      // a new WAL this connection made cannot be told from one another process made meanwhile, so it stays
      const what = after ? `was deleted or replaced while it opened the log (the file there now is left as it is: one its connection made cannot be told from another process's)` : 'was deleted while it opened the log';
      throw walLost(`${by} did not use the log: the WAL file ${walPath} ${what}; restart serve`);
    }
  }
  if (failure) {
    db.close();
    throw failure;
  }
  return db;
}

function walLost(message: string): EnvironmentError {
  return new EnvironmentError(message, WAL_LOST);
}

/** The identity of the file at `walPath`; undefined when there is none or it cannot be read. */
function identityOrNone(walPath: string): WalIdentity | undefined {
  try {
    return walIdentity(walPath);
  } catch {
    return undefined;
  }
}
