import type { Database, Statement } from 'better-sqlite3';

/** Rows per multi-row INSERT: past a few dozen the per-statement overhead is gone. (Default: 32) */
const ROWS_PER_STATEMENT = 32;

/**
 * Inserts many rows with few statements: `INSERT INTO <into> VALUES (…), (…), …` of up to
 * `ROWS_PER_STATEMENT` rows each, in the order given (rowids come out as row-by-row INSERTs
 * make them). `into` is `table (col, …)`; each row has one value per column. Statements are
 * prepared once per row count used. `onConflict` (an upsert clause) follows the rows. SQLite errors (a constraint) are thrown as `run` throws them.
 */
export function batchInsert(db: Database, into: string, columns: number, onConflict = ''): (rows: readonly (readonly unknown[])[]) => void {
  const statements = new Map<number, Statement<unknown[]>>();
  const one = `(${Array(columns).fill('?').join(', ')})`;
  const statement = (n: number) => {
    let s = statements.get(n);
    if (s === undefined) statements.set(n, (s = db.prepare(`INSERT INTO ${into} VALUES ${Array(n).fill(one).join(', ')} ${onConflict}`)));
    return s;
  };
  const params: unknown[] = [];
  return (rows) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const n = Math.min(ROWS_PER_STATEMENT, rows.length - i);
      params.length = 0;
      for (let r = i; r < i + n; r++) for (const value of rows[r]!) params.push(value);
      statement(n).run(params);
    }
    params.length = 0;
  };
}

/**
 * Keys that may have been written to SQLite, as a Bloom filter: `has` is never false for a key
 * that was `add`ed, and rarely true for one that was not (about 1% with 350,000 keys in the
 * default 2^22 bits, 512 KiB; memory is only touched as bits are set). A folding table asks it
 * before looking a key up in SQLite, so a new key (most keys) costs no SELECT.
 */
export class MaybeWritten {
  private readonly bits: Int32Array;
  private readonly mask: number;

  constructor(log2Bits = 22) {
    this.bits = new Int32Array(1 << (log2Bits - 5));
    this.mask = (1 << log2Bits) - 1;
  }

  add(key: unknown): void {
    hash(key);
    for (let i = 0, h = h1; i < 3; i++, h = (h + h2) | 0) {
      const bit = h & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  has(key: unknown): boolean {
    hash(key);
    for (let i = 0, h = h1; i < 3; i++, h = (h + h2) | 0) {
      const bit = h & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

// the last key's hashes: set by hash(), read at once (no array per lookup)
let h1 = 0;
let h2 = 0;

/** Two 32-bit hashes of the key's text into h1, h2 (FNV-1a, and a mix of it made odd), for double hashing. */
function hash(key: unknown): void {
  const s = typeof key === 'string' ? key : String(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35);
  h1 = h;
  h2 = (g ^ (g >>> 16)) | 1;
}
