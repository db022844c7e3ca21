import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { codeOf, EnvironmentError, fileError, reasonOf } from '../../os-errors.js';
import { DEFAULTS } from '../../config/defaults.js';
import { describeDamage, findDamage, isMalformedJson, namingDamagedEntries } from './damage.js';
import { DamagedEntryError } from '../damaged-entry.js';
import { dbFileOf } from '../db-files.js';

/**
 * A failure of the SQLite file at `path` (opening it, or any read or write after) as the one
 * line a user can act on, an `EnvironmentError` (exit 1) naming the path, why, and what to do:
 * not an SQLite file, damaged (which table, when it can be told: restore the latest backup),
 * locked (waited `busyTimeoutMs`, default `DEFAULTS.log.busyTimeoutMs`), read-only, full, an
 * I/O error; a statement that met an entry whose data is not JSON (SQLite's `malformed
 * JSON`): a `DamagedEntryError` naming the entries. Any other error (a constraint, a bug of ours) is returned as it is, to be
 * reported as an internal one.
 */
export function storageError(error: unknown, path: string, busyTimeoutMs: number = DEFAULTS.log.busyTimeoutMs): unknown {
  if (error instanceof DamagedEntryError) return error.at(path);
  if (error instanceof EnvironmentError) return error;
  const code = codeOf(error) ?? '';
  if (isMalformedJson(error)) return locate(path, (db) => namingDamagedEntries(error, db, path)) ?? error;
  if (code === 'SQLITE_NOTADB') {
    return new EnvironmentError(`${path} is not a husky-relay database (not an SQLite file); point --db at the log, or at a new path to start one (if it was the log, restore the latest backup)`, code);
  }
  if (code.startsWith('SQLITE_CORRUPT')) return new EnvironmentError(describeDamage(path, locate(path, findDamage), (error as Error).message), code);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new EnvironmentError(`${path} is locked by another process (waited ${busyTimeoutMs} ms); try again`, code);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
    // SQLite keeps -wal and -shm beside the file (a symlink followed): that folder must be writable too
    const why =
      accessProblem(path) ??
      accessProblem(dirname(dbFileOf(path)), 'its folder') ??
      (code.startsWith('SQLITE_READONLY') ? 'it is read-only for husky-relay' : 'SQLite cannot open it');
    return new EnvironmentError(`cannot open the log at ${path}: ${why}; husky-relay writes it, and its -wal and -shm files beside it`, code);
  }
  if (code === 'SQLITE_FULL') return new EnvironmentError(`cannot write the log at ${path}: no space left on the device`, code);
  if (code.startsWith('SQLITE_IOERR')) return new EnvironmentError(`cannot read or write the log at ${path}: input/output error (${code}); a failing disk?`, code);
  return fileError(error, 'cannot open the log at', path);
}

/** What `find` finds in the file at `path` (which table is damaged, which entries), read on a connection of its own; null when that cannot be told. */
function locate<T>(path: string, find: (db: Database.Database) => T): T | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return find(db);
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** Why this process may not read and write `path` (`its folder ${path}: permission denied …`), or null. */
function accessProblem(path: string, label?: string): string | null {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return null;
  } catch (error) {
    const reason = reasonOf(codeOf(error));
    return reason && label ? `${label} ${path}: ${reason}` : reason;
  }
}
