import { DEFAULTS } from '../../config/defaults.js';
import { MaybeWritten } from './batch-insert.js';

/** A row as folding holds it, and what its write to SQLite will be. */
interface Slot<R> {
  row: R;
  /** Not in SQLite yet: written with an INSERT. */
  fresh: boolean;
  /** In SQLite, changed since: written with an UPDATE. */
  dirty: boolean;
}

/**
 * One projection table as a rebuild folds it (see `fold.ts`): rows by primary key in memory,
 * at most `DEFAULTS.rebuild.foldRows` of them; the oldest are written out (fresh ones inserted,
 * changed ones updated) when it is full and at `flush`, and read back from SQLite if touched again.
 */
export class FoldTable<R> {
  private readonly slots = new Map<unknown, Slot<R>>();
  private readonly written = new MaybeWritten();
  private unkeyed = 0;

  constructor(
    private readonly load: (key: unknown) => R | undefined,
    private readonly insert: (rows: R[]) => void,
    private readonly update: (row: R) => void,
  ) {}

  /** The row with this primary key, from memory or else from SQLite (if it was ever written there); undefined if none. */
  get(key: unknown): Slot<R> | undefined {
    const slot = this.slots.get(key);
    if (slot !== undefined || key === null || key === undefined || !this.written.has(key)) return slot;
    const row = this.load(key);
    if (row === undefined) return undefined;
    return this.keep(key, { row, fresh: false, dirty: false });
  }

  /** A new row. A NULL key never conflicts in SQLite (a TEXT primary key allows NULLs): each is its own row. */
  add(key: unknown, row: R): void {
    if (key === null || key === undefined) key = { unkeyed: this.unkeyed++ };
    else if (this.slots.has(key)) throw new Error(`fold: a second row for key ${String(key)}`);
    this.keep(key, { row, fresh: true, dirty: false });
  }

  private keep(key: unknown, slot: Slot<R>): Slot<R> {
    this.slots.set(key, slot);
    if (this.slots.size > DEFAULTS.rebuild.foldRows) this.writeOldest(DEFAULTS.rebuild.foldEvict);
    return slot;
  }

  /** Writes the `n` oldest rows (new ones in one batch, in creation order) and forgets them. */
  private writeOldest(n: number): void {
    const fresh: R[] = [];
    for (const [key, slot] of this.slots) {
      if (n-- <= 0) break;
      this.write(key, slot, fresh);
      this.slots.delete(key);
    }
    this.insert(fresh);
  }

  private write(key: unknown, slot: Slot<R>, fresh: R[]): void {
    if (typeof key !== 'object') this.written.add(key); // unkeyed rows are never looked up
    if (slot.fresh) fresh.push(slot.row);
    else if (slot.dirty) this.update(slot.row);
  }

  /** Writes every row held, in creation order, and forgets them. */
  flush(): void {
    const fresh: R[] = [];
    for (const [key, slot] of this.slots) this.write(key, slot, fresh);
    this.insert(fresh);
    this.slots.clear();
  }
}
