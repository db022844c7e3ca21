import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

import { codeOf, EnvironmentError, fileError } from '../../os-errors.js';
import { APPLICATION_ID, migrate, SCHEMA_VERSION } from './migrations.js';
import { createPrivateFile, ensurePrivateFolder, removeMade } from '../private-files.js';
import { DEFAULTS } from '../../config/defaults.js';
import { storageError } from './storage-error.js';
import { openOnRunningLog, WatchedWal, type LateOpen } from './open-running.js';
import { dbFileOf } from '../db-files.js';

export interface OpenLogOptions {
  /** How long a write waits for another process's lock before it fails. (Default: `DEFAULTS.log.busyTimeoutMs`) */
  busyTimeoutMs?: number;
  /** Open for reading only (no migrations, no writes). */
  readonly?: boolean;
  /** A throwaway log (a benchmark's seed): commits return before the disk has them. Never for a real log. */
  unsynced?: boolean;
  /**
   * A thread of `serve` opening the log after its writer started (the pipeline thread, the read
   * thread, a writer started again): the connection is opened on the WAL the writer's guard
   * watches, or not at all (`openOnRunningLog`: an `EnvironmentError` with code `WAL_LOST`).
   * (Default: opened as any command opens it)
   */
  lateOpen?: LateOpen;
}

/**
 * Opens (and creates, and migrates) the SQLite file. WAL lets the CLI read and append while
 * `serve` runs; `synchronous=FULL` makes a returned commit a durable one, which is what a
 * 200 to HuskyVoice promises. A new file is made mode 0600 in folders made 0700 (SQLite gives
 * its -wal and -shm files the database file's mode), where SQLite keeps it: a symlinked `path`
 * (a dangling one too) is followed (`dbFileOf`), and the file and folders are made where it leads.
 *
 * Throws an `EnvironmentError` (exit 1) naming the path when the path cannot hold a log (a
 * folder, a file in the way, no permission, a full or read-only disk), when the file is not
 * a husky-relay database (not SQLite; another application's tables) or one of a newer
 * version. Such a file is only read, never changed. A failed open removes what it created.
 */
export function openDatabase(path: string, options: OpenLogOptions = {}): Database.Database {
  const readonly = options.readonly ?? false;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULTS.log.busyTimeoutMs;
  mustBeAFile(path);
  // not `path`: through a dangling symlink, an exclusive create fails (EEXIST) and SQLite would create it 0644
  const file = dbFileOf(path);
  const madeFolders = readonly ? [] : ensurePrivateFolder(dirname(file));
  const madeFile = !readonly && createPrivateFile(file);
  let db: Database.Database | undefined;
  try {
    const late = options.lateOpen;
    db = late
      ? openOnRunningLog(path, new WatchedWal(late.watched).get(), late.by, { readonly, timeout: busyTimeoutMs })
      : new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
    mustBeOurs(db, path); // before anything writes: another application's file stays untouched
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      // after a burst, the first write after a complete checkpoint cuts the WAL back to this
      db.pragma(`journal_size_limit = ${DEFAULTS.log.walSizeLimitBytes}`);
      migrate(db);
    }
    db.pragma(`synchronous = ${options.unsynced ? 'OFF' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    // what a delete frees is overwritten with zeros (an erased payload, a crypto-shredded key)
    if (!readonly) db.pragma('secure_delete = ON');
    return db;
  } catch (error) {
    db?.close();
    // only a file still empty: another process may have opened (and filled) it meanwhile
    const untouched = madeFile && sizeOf(file) === 0;
    removeMade(untouched ? [file, `${file}-wal`, `${file}-shm`, `${file}-journal`] : [], untouched ? madeFolders : []);
    throw storageError(error, path, busyTimeoutMs);
  }
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function mustBeAFile(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return; // a new log
    throw fileError(error, 'cannot open the log at', path);
  }
  if (stat.isDirectory()) throw new EnvironmentError(`${path} is a folder; --db (HUSKY_RELAY_DB) takes the database file, e.g. ${path}/husky-relay.db`, 'EISDIR');
  if (!stat.isFile()) throw new EnvironmentError(`${path} is not a regular file; --db (HUSKY_RELAY_DB) takes the database file`, 'not_a_file');
}

/**
 * Ours: our application id, or (files made before it was set) a schema version and our
 * `entries` table; or nothing at all yet (a new file). Anything else belongs to someone else.
 */
function mustBeOurs(db: Database.Database, path: string): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];
  const foreign =
    applicationId !== 0 && applicationId !== APPLICATION_ID
      ? `its application id is 0x${applicationId.toString(16)}`
      : (version === 0 ? tables.length > 0 : !tables.includes('entries'))
        ? `its tables are ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}`
        : null;
  if (foreign) {
    throw new EnvironmentError(
      `${path} is not a husky-relay database (an SQLite file of another application: ${foreign}); point --db at the log, or at a new path to start one`,
      'not_a_husky_relay_database',
    );
  }
  if (version > SCHEMA_VERSION) migrate(db); // says it is newer, and changes nothing
}
