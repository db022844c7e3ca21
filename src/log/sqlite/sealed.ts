import type { Database, Statement } from 'better-sqlite3';
import type { Keyring } from '../../privacy/keys.js';
import { Sealing, type DataKeyStore, type SealedRow } from '../../privacy/sealing.js';
import type { Entry, NewEntry } from '../types.js';
import type { SealedRows, StoredEntry } from '../seam.js';
import { logStartIn } from '../truncate.js';
import { sqliteTx } from './sqlite-truncate.js';

export type { SealedRow };

/** The columns every read of entries selects, from `entries e` joined as `ENTRY_FROM` says. */
export const ENTRY_COLUMNS = 'e.seq, e.type, e.at, e.data, e.hash, e.digest, p.sealed, k.wrapped';
/** An entry's payload and its call's wrapped key (both absent once erased), joined to `entries e`. */
export const ENTRY_JOINS = 'LEFT JOIN payloads p ON p.seq = e.seq LEFT JOIN call_keys k ON k.call_id = p.call_id';
/** `ENTRY_COLUMNS` without the payload (`ReadOptions.facts`), from `entries e` alone. */
export const FACT_COLUMNS = 'e.seq, e.type, e.at, e.data, e.hash';
/** Entries with their payload and its call's wrapped key. */
export const ENTRY_FROM = `entries e ${ENTRY_JOINS}`;

/**
 * The SQLite engine's side of facts and payloads (README "Personal data"): the SQL that keeps
 * what `Sealing` (privacy/sealing.ts) makes of an entry on append, and reads it back.
 */
export class Sealer {
  private readonly addPayload: Statement;
  private readonly head: Statement;
  private readonly keys: DataKeyStore;
  /** The engine-independent part: split, digest, chain, seal, open. */
  readonly sealing: Sealing;

  constructor(
    private readonly db: Database,
    readonly ring: Keyring,
  ) {
    this.sealing = new Sealing(ring);
    const keyOf = db.prepare(`SELECT wrapped FROM call_keys WHERE call_id = ?`).pluck();
    const addKey = db.prepare(`INSERT INTO call_keys (call_id, wrapped) VALUES (?, ?)`);
    const erasedCall = db.prepare(`SELECT 1 FROM erased_calls WHERE call_id = ?`).pluck();
    this.keys = {
      wrappedOf: (callId) => keyOf.get(callId) as Buffer | undefined,
      isErased: (callId) => erasedCall.get(callId) !== undefined,
      addKey: (callId, wrapped) => void addKey.run(callId, wrapped),
    };
    this.addPayload = db.prepare(`INSERT INTO payloads (seq, call_id, sealed) VALUES (?, ?, ?)`);
    this.head = db.prepare(`SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1`);
  }

  /** The hash before the first entry. */
  get genesis(): string {
    return this.sealing.genesis;
  }

  /** The last entry's seq and hash (0 and the genesis hash for an empty log), inside a write transaction. */
  chainHead(): { seq: number; hash: string } {
    const row = this.head.get() as { seq: number; hash: string | null } | undefined;
    return row ? { seq: row.seq, hash: row.hash ?? this.genesis } : { seq: 0, hash: this.genesis };
  }

  /**
   * `entry` ready to insert as `seq` after `prev`: its facts as JSON, its payload's digest
   * (`[erased]` for a payload of a call already erased: it is not stored), its hash, and
   * `store()`, to call once the insert took (a duplicate stores nothing).
   */
  prepare(entry: NewEntry, seq: number, at: string, prev: string): { data: string; digest: string | null; hash: string; store: () => void } {
    const { payload, ...sealed } = this.sealing.prepare(entry, seq, at, prev, this.keys);
    return { ...sealed, store: () => void (payload && this.addPayload.run(seq, payload.callId, payload.sealed)) };
  }

  /**
   * Rotation (README "Personal data"): when the keyring lists old master keys, the data keys
   * still wrapped by one of them are wrapped again by the current key, in one transaction, so
   * the old key can be dropped from the list afterwards. Returns how many it re-wrapped.
   */
  rewrapOld(): number {
    if (this.ring.byId.size < 2) return 0;
    const current = Buffer.from(this.ring.current.id, 'hex');
    const old = this.db.prepare(`SELECT call_id, wrapped FROM call_keys WHERE substr(wrapped, 2, 8) <> ?`);
    const put = this.db.prepare(`UPDATE call_keys SET wrapped = ? WHERE call_id = ?`);
    return this.db
      .transaction(() => {
        const rows = old.all(current) as { call_id: string; wrapped: Buffer }[];
        for (const row of rows) put.run(this.sealing.rewrap(row.wrapped), row.call_id);
        return rows.length;
      })
      .immediate();
  }

  /** An entry as readers see it: payload opened, or `[erased]` in its place. */
  entryOf(row: SealedRow, withHash = false): Entry {
    return this.sealing.entryOf(row, withHash);
  }

  /** A wrapped data key, opened by the keyring (cached). Throws as `unwrapKey`. */
  unwrapped(wrapped: Buffer): Buffer {
    return this.sealing.unwrapped(wrapped);
  }
}

/** The rows of the log in `db` as stored, payloads sealed (`SealedRows`: what `migrate --to` copies). */
export function sqliteSealedRows(db: Database): SealedRows {
  const entries = db.prepare(
    `SELECT e.seq, e.type, e.at, e.data, e.dedupe_key, e.hash, e.digest, p.call_id AS payload_call, p.sealed
     FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.seq > ? ORDER BY e.seq LIMIT ?`,
  );
  return {
    entries: async (afterSeq, limit) => entries.all(afterSeq, limit) as StoredEntry[],
    callKeys: async () => db.prepare(`SELECT call_id, wrapped FROM call_keys ORDER BY call_id`).all() as { call_id: string; wrapped: Buffer }[],
    erasedCalls: async () => db.prepare(`SELECT call_id, seq FROM erased_calls ORDER BY seq`).all() as { call_id: string; seq: number }[],
    logStart: () => logStartIn(sqliteTx(db)),
  };
}
