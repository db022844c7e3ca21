import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/*
 * Which files belong to a SQLite database when `--db` is a symlink (README "Files beside the
 * database"). SQLite follows the link: the database, its -wal and -shm are where it leads. So
 * everything else the relay keeps for that database (its lock, the folder it makes 0700) is
 * found beside that file too, never beside the `--db` text.
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
