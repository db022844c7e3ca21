import type { Pool, PoolClient } from 'pg';
import { payloadKeyOf, Sealing, type DataKeyStore, type PreparedEntry, type SealedRow } from '../../privacy/sealing.js';
import type { Entry } from '../types.js';

/** Something to run a query on: the pool, or a client inside its transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * The columns every read of entries selects, from `entries e` joined as `PG_ENTRY_JOINS` says.
 * `data` as its text: parsed in JS, never by PostgreSQL's json operators, which refuse a string
 * holding `\u0000` (valid JSON, which a webhook may carry).
 */
export const PG_ENTRY_COLUMNS = 'e.seq, e.type, e.at, e.data::text AS data, e.hash, e.digest, p.sealed, k.wrapped';
/** An entry's payload and its call's wrapped key (both absent once erased), joined to `entries e`. */
export const PG_ENTRY_JOINS = 'LEFT JOIN payloads p ON p.seq = e.seq LEFT JOIN call_keys k ON k.call_id = p.call_id';

/**
 * The PostgreSQL engine's side of facts and payloads (README "Personal data"): the SQL that keeps
 * what `Sealing` (privacy/sealing.ts) makes of an entry, and the one read every reader of entries
 * goes through (`entries`), which opens payloads in JS or shows `[erased]`.
 */
export class PgSealer {
  constructor(readonly sealing: Sealing) {}

  /**
   * Runs `sql` (which selects `PG_ENTRY_COLUMNS` from `entries e` with `PG_ENTRY_JOINS`) and
   * returns its rows as entries, payloads opened. Throws `EnvironmentError` for a payload that
   * does not open (altered, or its master key missing).
   */
  async entries(q: Queryable, sql: string, values: unknown[], withHash = false): Promise<Entry[]> {
    const result = await q.query<SealedRow>(sql, values);
    return result.rows.map((row) => this.sealing.entryOf(row, withHash));
  }

  /**
   * Rotation (README "Personal data"): when the keyring lists old master keys, the data keys
   * still wrapped by one of them are wrapped again by the current key, in one transaction on
   * `client`, so the old key can be dropped from the list afterwards. Returns how many it re-wrapped.
   */
  async rewrapOld(client: PoolClient): Promise<number> {
    if (this.sealing.ring.byId.size < 2) return 0;
    await client.query('BEGIN');
    try {
      const old = await client.query<{ call_id: string; wrapped: Buffer }>(`SELECT call_id, wrapped FROM call_keys WHERE substring(wrapped FROM 2 FOR 8) <> $1`, [
        Buffer.from(this.sealing.ring.current.id, 'hex'),
      ]);
      const rows = old.rows.filter((r) => this.sealing.isOld(r.wrapped));
      if (rows.length > 0) {
        await client.query(`UPDATE call_keys k SET wrapped = x.w FROM unnest($1::text[], $2::bytea[]) AS x(id, w) WHERE k.call_id = x.id`, [
          rows.map((r) => r.call_id),
          rows.map((r) => this.sealing.rewrap(r.wrapped)),
        ]);
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** The last entry's hash, or the genesis hash for an empty log (inside the append lock, for a chain to continue). */
  async head(q: Queryable): Promise<string> {
    const row = (await q.query<{ hash: string | null }>(`SELECT hash FROM entries ORDER BY seq DESC LIMIT 1`)).rows[0];
    return row?.hash ?? this.sealing.genesis;
  }

  /**
   * Seals `entries` (seqs assigned, in order, the first following the entry whose hash is
   * `prev`): their data keys fetched in one query (made for calls that have none), each split
   * and chained. Returns what to insert, and `store`, which writes the new keys and the
   * payloads (call it in the same transaction as the entries' insert).
   */
  async seal(client: PoolClient, entries: Entry[], prev: string): Promise<{ prepared: PreparedEntry[]; store: () => Promise<void> }> {
    const calls = [...new Set(entries.map(payloadKeyOf).filter((c): c is string => c !== null))];
    const wrapped = new Map<string, Buffer>();
    const erased = new Set<string>();
    if (calls.length > 0) {
      const rows = await client.query<{ id: string; wrapped: Buffer | null; erased: boolean }>(
        `SELECT c.id, k.wrapped, x.call_id IS NOT NULL AS erased FROM unnest($1::text[]) AS c(id)
         LEFT JOIN call_keys k ON k.call_id = c.id LEFT JOIN erased_calls x ON x.call_id = c.id`,
        [calls],
      );
      for (const r of rows.rows) {
        if (r.wrapped) wrapped.set(r.id, r.wrapped);
        if (r.erased) erased.add(r.id);
      }
    }
    const added: [string, Buffer][] = [];
    const keys: DataKeyStore = {
      wrappedOf: (callId) => wrapped.get(callId),
      isErased: (callId) => erased.has(callId),
      addKey: (callId, w) => {
        wrapped.set(callId, w);
        added.push([callId, w]);
      },
    };
    const prepared = entries.map((entry) => {
      const sealed = this.sealing.prepare(entry, entry.seq, entry.at, prev, keys);
      prev = sealed.hash;
      return sealed;
    });
    const store = async () => {
      if (added.length > 0) {
        await client.query(`INSERT INTO call_keys (call_id, wrapped) SELECT * FROM unnest($1::text[], $2::bytea[])`, [added.map((a) => a[0]), added.map((a) => a[1])]);
      }
      const payloads = prepared.flatMap((p, i) => (p.payload ? [{ seq: entries[i]!.seq, ...p.payload }] : []));
      if (payloads.length > 0) {
        await client.query(`INSERT INTO payloads (seq, call_id, sealed) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])`, [
          payloads.map((p) => p.seq),
          payloads.map((p) => p.callId),
          payloads.map((p) => p.sealed),
        ]);
      }
    };
    return { prepared, store };
  }
}
