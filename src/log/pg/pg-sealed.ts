import type { Pool, PoolClient } from 'pg';
import { payloadKeyOf, Sealing, type DataKeyStore, type PreparedEntry, type SealedRow } from '../../privacy/sealing.js';
import type { Entry, NewEntry } from '../types.js';

/** Something to run a query on: the pool, or a client inside its transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * The columns every read of entries selects, from `entries e` joined as `PG_ENTRY_JOINS` says.
 * `data` as its text: parsed in JS, never by PostgreSQL's json operators, which refuse a string
 * holding `\u0000` (valid JSON, which a webhook may carry).
 */
export const PG_ENTRY_COLUMNS = 'e.seq, e.type, e.at, e.data::text AS data, e.hash, e.digest, p.sealed, k.wrapped';
/** `PG_ENTRY_COLUMNS` without the payload (`ReadOptions.facts`), from `entries e` alone. */
export const PG_FACT_COLUMNS = 'e.seq, e.type, e.at, e.data::text AS data, e.hash';
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

  /**
   * Seals `entries` (seqs assigned, in order, the first following the entry whose hash is
   * `prev`) with the data keys `known` found (`knownKeys`), making keys for calls that have
   * none: each entry split and chained. Pure but for the keys it makes.
   */
  sealKnown(entries: Entry[], prev: string, known: KnownKeys): SealedBatch {
    const wrapped = new Map(known.key_ids.map((id, i) => [id, known.keys[i]!]));
    const erased = new Set(known.erased);
    const keys: [string, Buffer][] = [];
    const store: DataKeyStore = {
      wrappedOf: (callId) => wrapped.get(callId),
      isErased: (callId) => erased.has(callId),
      addKey: (callId, w) => {
        wrapped.set(callId, w);
        keys.push([callId, w]);
      },
    };
    const prepared = entries.map((entry) => {
      const sealed = this.sealing.prepare(entry, entry.seq, entry.at, prev, store);
      prev = sealed.hash;
      return sealed;
    });
    const payloads = prepared.flatMap((p, i) => (p.payload ? [{ seq: entries[i]!.seq, ...p.payload }] : []));
    return { prepared, keys, payloads };
  }

  /**
   * `sealKnown` with the keys fetched first (one query), and `store`, which writes the new keys
   * and the payloads (call it in the same transaction as the entries' insert or update).
   */
  async seal(client: PoolClient, entries: Entry[], prev: string): Promise<{ prepared: PreparedEntry[]; store: () => Promise<void> }> {
    const calls = callsOf(entries);
    const known = calls.length > 0 ? (await client.query<KnownKeys>(`SELECT ${knownKeys('$1')}`, [calls])).rows[0]! : NO_KEYS;
    const sealed = this.sealKnown(entries, prev, known);
    const store = async () => {
      const w = `WITH k AS (${INSERT_KEYS('$1', '$2')}) ${INSERT_PAYLOADS('$3', '$4', '$5')}`;
      await client.query(w, sealedValues(sealed));
    };
    return { prepared: sealed.prepared, store };
  }
}

/** The stored data keys of some calls, and which of them were erased (`knownKeys`' columns). */
export interface KnownKeys {
  key_ids: string[];
  /** `key_ids`' wrapped keys, in the same order. */
  keys: Buffer[];
  erased: string[];
}

const NO_KEYS: KnownKeys = { key_ids: [], keys: [], erased: [] };

/** A batch sealed by `PgSealer.sealKnown`: the entries' columns, and the new keys and payloads to insert. */
export interface SealedBatch {
  prepared: PreparedEntry[];
  keys: [string, Buffer][];
  payloads: { seq: number; callId: string; sealed: Buffer }[];
}

/** The calls whose data keys seal `entries`' payloads, each once. */
export function callsOf(entries: readonly NewEntry[]): string[] {
  return [...new Set(entries.map(payloadKeyOf).filter((c): c is string => c !== null))];
}

/** Select-list columns giving `KnownKeys` of the calls in the `text[]` parameter `p`. */
export function knownKeys(p: string): string {
  return `ARRAY(SELECT call_id FROM call_keys WHERE call_id = ANY(${p}::text[]) ORDER BY call_id) AS key_ids,
    ARRAY(SELECT wrapped FROM call_keys WHERE call_id = ANY(${p}::text[]) ORDER BY call_id) AS keys,
    ARRAY(SELECT call_id FROM erased_calls WHERE call_id = ANY(${p}::text[])) AS erased`;
}

/** Inserts new data keys: parameters call ids, wrapped keys. */
export const INSERT_KEYS = (ids: string, wrapped: string) => `INSERT INTO call_keys (call_id, wrapped) SELECT * FROM unnest(${ids}::text[], ${wrapped}::bytea[])`;
/** Inserts payloads: parameters seqs, call ids, sealed bytes. */
export const INSERT_PAYLOADS = (seqs: string, ids: string, sealed: string) =>
  `INSERT INTO payloads (seq, call_id, sealed) SELECT * FROM unnest(${seqs}::bigint[], ${ids}::text[], ${sealed}::bytea[])`;

/** The values of `INSERT_KEYS` then `INSERT_PAYLOADS` for `sealed`, in that order. */
export function sealedValues(sealed: SealedBatch): unknown[] {
  return [
    sealed.keys.map((k) => k[0]),
    sealed.keys.map((k) => k[1]),
    sealed.payloads.map((p) => p.seq),
    sealed.payloads.map((p) => p.callId),
    sealed.payloads.map((p) => p.sealed),
  ];
}
