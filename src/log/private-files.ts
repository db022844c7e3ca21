import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { codeOf, EnvironmentError, fileError } from '../os-errors.js';

/**
 * The files the relay creates hold call transcripts and secrets (README "Files beside the database"): each is created
 * mode 0600, in folders it creates 0700, whatever the umask (the umask can only narrow a
 * mode, so every one is set exactly once created). Folders and files that were there before
 * are left as they are: their owner chose their modes (`exposure` lets the caller warn).
 */

/** Mode of a folder the relay creates. */
export const PRIVATE_FOLDER_MODE = 0o700;
/** Mode of a file the relay creates. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes `dir` and any missing parents, each mode 0700. Returns the folders it made, outermost
 * first (to undo a failed start). Throws an `EnvironmentError` naming the path when a folder
 * cannot be made (permission, read-only, a file in the way).
 *
 * Not `mkdirSync(…, { recursive: true })`: on Node 20 it never returns for a path under /proc.
 */
export function ensurePrivateFolder(dir: string): string[] {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let stat;
    try {
      stat = statSync(at);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || dirname(at) === at) throw fileError(error, 'cannot use the folder', at);
      missing.unshift(at);
      at = dirname(at);
      continue;
    }
    if (!stat.isDirectory()) throw new EnvironmentError(`cannot use the folder ${resolve(dir)}: ${at} is a file, not a folder`, 'ENOTDIR');
    break;
  }
  const made: string[] = [];
  for (const folder of missing) {
    try {
      mkdirSync(folder, { mode: PRIVATE_FOLDER_MODE });
      made.push(folder);
      chmodSync(folder, PRIVATE_FOLDER_MODE);
    } catch (error) {
      if (codeOf(error) === 'EEXIST') continue; // another process made it meanwhile
      removeMade([], made);
      throw fileError(error, 'cannot create the folder', folder);
    }
  }
  return made;
}

/**
 * Creates `path` empty with mode 0600; false if it was already there (left as it is).
 * Throws an `EnvironmentError` naming the path when it cannot be created.
 */
export function createPrivateFile(path: string): boolean {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return false;
    throw fileError(error, 'cannot create', path);
  }
  chmodSync(path, PRIVATE_FILE_MODE);
  return true;
}

/**
 * Replaces `path` with `content` in one step (written under a private name, then renamed), so
 * a reader never sees half of it; mode 0600.
 */
export function writePrivateFile(path: string, content: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, content, { mode: PRIVATE_FILE_MODE });
    chmodSync(temp, PRIVATE_FILE_MODE);
    renameSync(temp, path);
  } catch (error) {
    removeMade([temp], []);
    throw fileError(error, 'cannot write', path);
  }
}

/**
 * Who besides the owner may read or enter `path`, for a warning: `mode 0755` when group or
 * others have any access, else null (also null when it cannot be read).
 */
export function exposure(path: string): string | null {
  try {
    const mode = statSync(path).mode & 0o777;
    return mode & 0o077 ? `mode 0${mode.toString(8)}` : null;
  } catch {
    return null;
  }
}

/** Best effort: removes files, then folders (innermost first) that a failed start made. */
export function removeMade(files: string[], folders: string[]): void {
  for (const file of files) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  for (const folder of [...folders].reverse()) {
    try {
      rmdirSync(folder);
    } catch {
      // not empty, or gone: leave it
    }
  }
}
