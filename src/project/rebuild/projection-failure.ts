import { EnvironmentError } from '../../os-errors.js';

/** better-sqlite3's words for a value it cannot bind (an object where a column takes text). */
const CANNOT_BIND = /can only bind/;

/**
 * A build's failure to write what it projected, when only data of another shape than its entry's
 * type could cause it (a NOT NULL column left empty, a value SQLite cannot bind) and the rows are
 * written in batches, so which entry is not known (what `checkedProjector` cannot tell from the
 * rows it makes: a truncation's snapshot row holding null): an `EnvironmentError` (exit 1, one line)
 * saying so, with SQLite's words, and what to do (`log --verify` names the entry: its hash no
 * longer matches). Any other error is returned as it is.
 */
export function misshapenEntry(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'SQLITE_CONSTRAINT_NOTNULL' && !(error instanceof TypeError && CANNOT_BIND.test(error.message))) return error;
  const why = `an entry of the log holds data of another shape than its type's (${(error as Error).message})`;
  return new EnvironmentError(`${why}; run \`husky-relay log --verify\` to find it, then stop serve and restore the latest backup (README: Backups)`, 'entry_damaged');
}
