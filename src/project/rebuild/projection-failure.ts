import { DamagedEntryError } from '../../log/damaged-entry.js';
import type { Entry } from '../../log/types.js';
import { EnvironmentError } from '../../os-errors.js';

/**
 * Why projecting `entry` (of the page `entries`) threw `error`, on that failure path only: a
 * `DamagedEntryError` naming the page's entries whose data is JSON but no object (which the
 * page's parse lets through), if any; else, for a `TypeError` (a field missing or of another
 * type: data rewritten as JSON of another shape, a hand edit), one naming `entry`, with the
 * projector's words; else `error` as it is.
 */
export function projectionFailure(entries: Entry[], entry: Entry, error: unknown): unknown {
  const seqs = entries.filter((e) => typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)).map((e) => e.seq);
  if (seqs.length > 0) return new DamagedEntryError(seqs, 'its data is not a JSON object');
  if (!(error instanceof TypeError) || CANNOT_BIND.test(error.message)) return misshapenEntry(error);
  return new DamagedEntryError([entry.seq], `its data is not what a ${entry.type} entry holds (${error.message})`);
}

/** better-sqlite3's words for a value it cannot bind (an object where a column takes text). */
const CANNOT_BIND = /can only bind/;

/**
 * A build's failure to write what it projected, when only data of another shape than its entry's
 * type could cause it (a NOT NULL column left empty, a value SQLite cannot bind) and the rows are
 * written in batches, so which entry is not known: an `EnvironmentError` (exit 1, one line)
 * saying so, with SQLite's words, and what to do (`log --verify` names the entry: its hash no
 * longer matches). Any other error is returned as it is.
 */
export function misshapenEntry(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'SQLITE_CONSTRAINT_NOTNULL' && !(error instanceof TypeError && CANNOT_BIND.test(error.message))) return error;
  const why = `an entry of the log holds data of another shape than its type's (${(error as Error).message})`;
  return new EnvironmentError(`${why}; run \`husky-relay log --verify\` to find it, then stop serve and restore the latest backup (README: Backups)`, 'entry_damaged');
}
