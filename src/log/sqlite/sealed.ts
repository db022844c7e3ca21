import type { Database, Statement } from 'better-sqlite3';
import { EnvironmentError } from '../../os-errors.js';
import { GENESIS, linkHash } from '../../privacy/chain.js';
import { newDataKey, unwrapKey, wrapKey, type Keyring } from '../../privacy/keys.js';
import { ERASED, joinEntry, openPayload, payloadDigest, sealPayload, splitEntry } from '../../privacy/payload.js';
import type { Entry, NewEntry } from '../types.js';

/** The columns every read of entries selects, from `entries e` joined as `ENTRY_FROM` says. */
export const ENTRY_COLUMNS = 'e.seq, e.type, e.at, e.data, e.hash, e.digest, p.sealed, k.wrapped';
/** An entry's payload and its call's wrapped key (both absent once erased), joined to `entries e`. */
export const ENTRY_JOINS = 'LEFT JOIN payloads p ON p.seq = e.seq LEFT JOIN call_keys k ON k.call_id = p.call_id';
/** Entries with their payload and its call's wrapped key. */
export const ENTRY_FROM = `entries e ${ENTRY_JOINS}`;

/** A row of `ENTRY_COLUMNS`. */
export interface SealedRow {
  seq: number;
  type: string;
  at: string;
  data: string;
  hash: string | null;
  digest: string | null;
  sealed: Buffer | null;
  wrapped: Buffer | null;
}

/** The call key of entries with no call (operator plans): the relay's own, never erased. */
const RELAY_KEY = '';

/**
 * The SQLite engine's side of facts and payloads (README "Personal data"): on append, splits an
 * entry, chains it, seals its payload under its call's data key; on read, opens it again or
 * shows `[erased]`. The crypto and the chain are `privacy/`'s; this is their SQL.
 */
export class Sealer {
  private readonly keyOf: Statement;
  private readonly addKey: Statement;
  private readonly erasedCall: Statement;
  private readonly addPayload: Statement;
  private readonly head: Statement;
  /** Unwrapped data keys by their wrapped bytes (a call's entries come in bursts). */
  private readonly opened = new Map<string, Buffer>();

  constructor(
    private readonly db: Database,
    readonly ring: Keyring,
  ) {
    this.keyOf = db.prepare(`SELECT wrapped FROM call_keys WHERE call_id = ?`).pluck();
    this.addKey = db.prepare(`INSERT INTO call_keys (call_id, wrapped) VALUES (?, ?)`);
    this.erasedCall = db.prepare(`SELECT 1 FROM erased_calls WHERE call_id = ?`).pluck();
    this.addPayload = db.prepare(`INSERT INTO payloads (seq, call_id, sealed) VALUES (?, ?, ?)`);
    this.head = db.prepare(`SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1`);
  }

  /** The hash before the first entry. */
  readonly genesis = GENESIS;

  /** The last entry's seq and hash (0 and the genesis hash for an empty log), inside a write transaction. */
  chainHead(): { seq: number; hash: string } {
    const row = this.head.get() as { seq: number; hash: string | null } | undefined;
    return row ? { seq: row.seq, hash: row.hash ?? GENESIS } : { seq: 0, hash: GENESIS };
  }

  /**
   * `entry` ready to insert as `seq` after `prev`: its facts as JSON, its payload's digest
   * (`[erased]` for a payload of a call already erased: it is not stored), its hash, and
   * `store()`, to call once the insert took (a duplicate stores nothing).
   */
  prepare(entry: NewEntry, seq: number, at: string, prev: string): { data: string; digest: string | null; hash: string; store: () => void } {
    const split = splitEntry(entry);
    let digest: string | null = null;
    let store = () => {};
    if (split.payload !== null) {
      const callId = split.callId ?? RELAY_KEY;
      const key = this.dataKey(callId, true);
      if (key === null) digest = ERASED;
      else {
        const payload = split.payload;
        digest = payloadDigest(key, payload);
        store = () => this.addPayload.run(seq, callId, sealPayload(key, seq, payload));
      }
    }
    const hash = linkHash(prev, { seq, type: entry.type, at, facts: split.facts, digest });
    return { data: JSON.stringify(split.facts), digest, hash, store };
  }

  /** The call's data key; made (and wrapped) when `create` and the call has none; null once the call was erased. */
  dataKey(callId: string, create: boolean): Buffer | null {
    const wrapped = this.keyOf.get(callId) as Buffer | undefined;
    if (wrapped) return this.unwrapped(wrapped);
    if (!create || this.erasedCall.get(callId)) return null;
    const key = newDataKey();
    this.addKey.run(callId, wrapKey(this.ring, key));
    return key;
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
        for (const row of rows) put.run(wrapKey(this.ring, unwrapKey(this.ring, row.wrapped)), row.call_id);
        return rows.length;
      })
      .immediate();
  }

  /** An entry as readers see it: payload opened, or `[erased]` in its place. */
  entryOf(row: SealedRow, withHash = false): Entry {
    const facts = JSON.parse(row.data) as Record<string, unknown>;
    let payload: string | null = null;
    if (row.sealed && row.wrapped) {
      try {
        payload = openPayload(this.unwrapped(row.wrapped), row.seq, row.sealed);
      } catch (error) {
        if (error instanceof EnvironmentError) throw error;
        throw new EnvironmentError(`the payload of entry ${row.seq} does not decrypt: it was altered (husky-relay log --verify)`, 'payload_damaged');
      }
    }
    const data = joinEntry(row.type, facts, payload, row.digest !== null);
    return { seq: row.seq, type: row.type, at: row.at, data, ...(withHash && row.hash !== null && { hash: row.hash }) } as unknown as Entry;
  }

  /** A wrapped data key, opened by the keyring (cached). Throws as `unwrapKey`. */
  unwrapped(wrapped: Buffer): Buffer {
    const id = wrapped.toString('base64');
    let key = this.opened.get(id);
    if (!key) {
      if (this.opened.size >= 4096) this.opened.clear();
      key = unwrapKey(this.ring, wrapped);
      this.opened.set(id, key);
    }
    return key;
  }
}
