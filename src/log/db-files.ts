import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { DEFAULTS } from '../config/defaults.js';
import { codeOf, EnvironmentError, reasonOf } from '../os-errors.js';
import { readRegularFileSync } from '../regular-file.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE, removeMade } from './private-files.js';

/*
 * Which files belong to a SQLite database when `--db` is a symlink (README "Files beside the
 * database"). SQLite follows the link: the database, its -wal and -shm are where it leads. So
 * everything else the relay keeps for that database (its lock, its rebuild's scratch file, its
 * master key, webhook secret and console token) is found beside that file too, never beside the
 * `--db` text: two links in two folders are one database, and must find one key and one secret.
 */

/**
 * The database file SQLite opens for `dbPath`: the file the path leads to, symlinks followed
 * (SQLite resolves them when it opens the database). Not created yet: where a symlink (or a chain
 * of them, up to 40) leads, since SQLite creates the file there; else `dbPath` as given. A
 * realpath on every call: callers that ask often (a gauge, at each scrape) resolve once per open
 * log and keep the answer.
 */
export function dbFileOf(dbPath: string): string {
  try {
    return realpathSync(dbPath);
  } catch {
    let path = dbPath;
    try {
      for (let hops = 0; hops < 40 && isSymlink(path); hops += 1) path = resolve(dirname(path), readlinkSync(path));
    } catch {
      // the link went away meanwhile: where it led so far
    }
    return path;
  }
}

/** True for a symbolic link; false for anything else, or nothing there. */
function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The folder that holds the database file of `dbPath` (`dbFileOf`), where its private files belong. */
export function dbFolderOf(dbPath: string): string {
  return dirname(dbFileOf(dbPath));
}

/**
 * The private file `name` (`master-key`, `webhook-secret`, `ui-token`) of the database at
 * `dbPath`: `<folder of the database file>/name`, the one path every spelling of `--db` (the
 * file, a symlink, a chain of them, a dangling one) finds. `what` names it in messages
 * (`master key`). The file need not exist: the caller reads it, or creates it there.
 *
 * Relays before this one looked beside the `--db` text. Where that differs (a symlink in
 * another folder) and only that older file exists, it is copied (mode 0600, synced) beside the
 * database file and a line on stderr says so; the old one is left where it is, never deleted (it
 * may be the only copy of a master key a backup or an older binary knows of). If the copy cannot
 * be made (a folder the process may not write), the old file is used where it is. When both
 * exist and hold the same text (spaces around it aside), the one beside the database file is used.
 *
 * Throws an `EnvironmentError` (`db_files_differ`, exit 1) naming both paths when both exist and
 * differ (two keys or secrets for one database: which is right cannot be guessed), and one naming
 * the old file when it cannot be read.
 */
export function privateFileOf(dbPath: string, name: string, what: string): string {
  return lookUp(dbPath, name, what, false);
}

function lookUp(dbPath: string, name: string, what: string, again: boolean): string {
  const file = join(dbFolderOf(dbPath), name);
  const old = join(dirname(resolve(dbPath)), name);
  if (old === file) return file;
  const oldText = readIfThere(old, what);
  if (oldText === null) return file;
  const text = readIfThere(file, what);
  // a copy that finds the file there (another process's copy) looks once more; twice, something unreadable is in the way
  if (text === null) return adopt(old, file, oldText, what, again) ?? lookUp(dbPath, name, what, true);
  if (text.trim() === oldText.trim() || sameFile(old, file)) return file;
  throw new EnvironmentError(
    `two ${what} files for one database differ: ${file} (beside the database file, used) and ${old} (beside the --db symlink); keep the right one at ${file} and delete the other (README "Files beside the database")`,
    'db_files_differ',
  );
}

/** The file's text; null when there is none. Throws an `EnvironmentError` naming it when it cannot be read. */
function readIfThere(path: string, what: string): string | null {
  const read = readRegularFileSync(path, DEFAULTS.files.maxSecretFileBytes);
  if (read.ok) return read.bytes.toString('utf8');
  if (read.code === 'ENOENT') return null;
  throw new EnvironmentError(`cannot read the ${what} in ${path}: ${reasonOf(read.code) ?? read.reason}`, read.code);
}

function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Copies `text` (the file `old`) to `file`, mode 0600 and synced, never over one that exists:
 * written under a private name, then linked to `file` in one step, so no other process reads it
 * half written. Returns the path to use: `file` once copied, `old` when the copy cannot be made;
 * undefined when another process made `file` meanwhile (look again, `again` then true).
 */
function adopt(old: string, file: string, text: string, what: string, again: boolean): string | undefined {
  const temp = `${file}.${process.pid}-${threadId}.tmp`; // serve's writer thread may copy it too
  try {
    ensurePrivateFolder(dirname(file));
    const fd = openSync(temp, 'w', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, PRIVATE_FILE_MODE);
    linkSync(temp, file);
  } catch (error) {
    if (codeOf(error) === 'EEXIST' && !again) return undefined;
    const reason = codeOf(error) === 'EEXIST' ? 'something there is not a file it can read' : (reasonOf(codeOf(error)) ?? (error as Error).message);
    process.stderr.write(`husky-relay: using the ${what} at ${old} (beside the --db symlink): it could not be copied beside the database file to ${file} (${reason})\n`);
    return old;
  } finally {
    removeMade([temp], []);
  }
  process.stderr.write(
    `husky-relay: copied the ${what} from ${old} (beside the --db symlink) to ${file} (beside the database file), where every path to the database finds it; ${old} is no longer read: delete it once you have checked the copy\n`,
  );
  return file;
}
