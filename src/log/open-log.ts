import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LogUnavailableError } from '../errors.js';
import { migrate } from './migrations.js';

export interface OpenLogOptions {
  /** How long a write waits for another process's lock before it fails. (Default: 5000 ms) */
  busyTimeoutMs?: number;
  /** Open for reading only (no migrations, no writes). */
  readonly?: boolean;
}

/**
 * Opens (and creates, and migrates) the SQLite file. WAL lets the CLI read and append while
 * `serve` runs; `synchronous=FULL` makes a returned commit a durable one, which is what a
 * 200 to HuskyVoice promises.
 */
export function openDatabase(path: string, options: OpenLogOptions = {}): Database.Database {
  if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  } catch (error) {
    throw new LogUnavailableError(`cannot open the log at ${path}: ${(error as Error).message}`, { cause: error });
  }
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    migrate(db);
  }
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}
