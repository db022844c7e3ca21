import { EnvironmentError } from '../os-errors.js';

/**
 * Entries of the log whose stored data cannot be read back: not JSON, JSON that is not an
 * object, or a sealed payload that does not decrypt. Only a fault can leave one (a disk that flipped bytes inside a page that is otherwise
 * sound, a hand edit with the append-only trigger and the `json_valid` check lifted), so it is
 * the machine's problem, not ours: an `EnvironmentError` (exit 1, one line) naming the seqs,
 * what is wrong, and what to do (README "Faults", "Backups"). `seqs` are in log order, at
 * least one; `where` is the log's path or address when the reader knows it.
 */
export class DamagedEntryError extends EnvironmentError {
  constructor(
    readonly seqs: number[],
    /** What is wrong with the first of them, in words (`its data is not valid JSON (…)`). */
    readonly what: string,
    readonly where?: string,
    /** A line said after it (what the command had done before it came on the entry), if any. */
    readonly then?: string,
  ) {
    super(damagedEntryMessage(seqs, what, where) + (then === undefined ? '' : `\n${then}`), 'entry_damaged');
    this.name = 'DamagedEntryError';
  }

  /** The first damaged entry's seq. */
  get seq(): number {
    return this.seqs[0]!;
  }

  /** The same damage, said of the log at `where` (a path), when this error did not name it. */
  at(where: string | undefined): DamagedEntryError {
    return this.where || !where ? this : new DamagedEntryError(this.seqs, this.what, where, this.then);
  }

  /** The same damage, its line followed by `line` (the command's own, with its `husky-relay: `). */
  followedBy(line: string): DamagedEntryError {
    return new DamagedEntryError(this.seqs, this.what, this.where, line);
  }
}

/**
 * The one line of a `DamagedEntryError`; at most 10 seqs are listed, then `…`. One seq: `entry 2 of
 * the log is damaged: ${what}; …`; several: `entries 1, 10 of the log are damaged (entry 1: ${what}); …`.
 */
export function damagedEntryMessage(seqs: number[], what: string, where?: string): string {
  const listed = seqs.slice(0, 10).join(', ') + (seqs.length > 10 ? ', …' : '');
  const log = where ? `the log at ${where}` : 'the log';
  // several: what is said is said of the first (`what` reads `its data …`)
  const damaged = seqs.length === 1 ? `entry ${listed} of ${log} is damaged: ${what}` : `entries ${listed} of ${log} are damaged (entry ${seqs[0]}: ${what})`;
  return `${damaged}; run \`husky-relay log --verify\` to check the whole log, then stop serve and restore the latest backup (README: Backups)`;
}

/**
 * An entry's `data` as stored (JSON text; null when the database itself found it is not
 * JSON), parsed. Throws `DamagedEntryError` naming `row.seq` when it is not JSON or not a
 * JSON object: every read of entry data goes through here, so a damaged entry is named, never
 * a bare `SyntaxError`. `T`: the type the caller knows the entry's data has (unchecked).
 */
export function entryData<T = Record<string, unknown>>(row: { seq: number; data: string | null }): T {
  const value = entryJson(row);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DamagedEntryError([row.seq], `its data is not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  }
  return value as T;
}

/** `entryData` for a read that selects part of the data (an array of fields): any JSON value. Throws `DamagedEntryError` when it is not JSON. */
export function entryJson(row: { seq: number; data: string | null }): unknown {
  if (row.data === null) throw new DamagedEntryError([row.seq], 'its data is not valid JSON');
  try {
    return JSON.parse(row.data);
  } catch (error) {
    throw new DamagedEntryError([row.seq], `its data is not valid JSON (${(error as Error).message})`);
  }
}
