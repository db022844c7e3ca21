import type { Pool, PoolClient } from 'pg';
import { connectClient } from './connect.js';
import type { RebuildResult } from '../../project/rebuild/rebuild.js';
import type { BuildOptions } from '../../project/rebuild/scratch.js';
import { diffRows, type Difference, type VerifyResult } from '../../project/rebuild/verify.js';
import type { Entry } from '../types.js';
import { PG_PROJECTION_TABLES } from './migrations.js';
import { APPEND_LOCK } from './pg-append.js';
import { ProjectionBatch } from './projection-batch.js';
import { checkedProjector } from '../../project/rebuild/checked-projector.js';
import { PG_FACT_COLUMNS, type PgSealer } from './pg-sealed.js';
import type { SealedRow } from '../../privacy/sealing.js';

/** Entries projected per batch of a rebuild. */
const CHUNK = 2000;

/** Each projection table's primary key, to name a row that differs. */
const KEYS: Record<string, string[]> = {
  p_events_by_type: ['event_type'],
  p_calls: ['call_id'],
  p_deliveries: ['delivery_id'],
  p_key_state: ['sink', 'order_key', 'key_scope'],
  p_sink_health: ['sink'],
  p_call_entries: ['seq'],
  p_sink_state: ['sink'],
};

/**
 * Empties the projections and projects the whole log again (each entry's facts: no payload is
 * opened; data that is not a JSON object throws `DamagedEntryError`), on `client`, inside its transaction,
 * holding the append lock (so nothing is appended meanwhile and the result matches the log at
 * the commit; `lock: false` when the caller holds it already). DELETE, not TRUNCATE: readers keep reading the old rows until the commit.
 */
export async function reproject(client: PoolClient, sealer: PgSealer, options: BuildOptions, lock = true): Promise<{ entries: number; lastSeq: number }> {
  if (lock) await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
  for (const table of PG_PROJECTION_TABLES) await client.query(`DELETE FROM ${table}`);
  // how many entries, what `entries` counts (a sequence leaves gaps where an append rolled back): the bar ends full
  const total = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM entries`)).rows[0]!.n);
  let after = 0;
  let entries = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    // facts alone, as SQLite's rebuild reads them: projections never use a payload, so none is
    // decrypted (the cost), and one that no longer decrypts does not stop the rebuild
    const facts = await client.query<SealedRow>(`SELECT ${PG_FACT_COLUMNS} FROM entries e WHERE e.seq > $1 ORDER BY e.seq LIMIT ${CHUNK}`, [after]);
    const rows: Entry[] = facts.rows.map((row) => sealer.sealing.factsOf(row));
    if (rows.length === 0) break;
    const batch = new ProjectionBatch();
    await batch.prefetch(client, rows);
    const project = checkedProjector(batch); // data of another shape than its type's: the entry named, as on SQLite
    for (const entry of rows) project(entry);
    await batch.flush(client);
    entries += rows.length;
    after = rows.at(-1)!.seq;
    options.onProgress?.({ done: entries, total });
  }
  return { entries, lastSeq: after };
}

/** `replay --rebuild` on PostgreSQL: every projection recomputed from the log, swapped in at the commit. */
export async function rebuildPg(pool: Pool, sealer: PgSealer, options: BuildOptions = {}): Promise<RebuildResult> {
  const started = performance.now();
  const client = await connectClient(pool);
  try {
    await client.query('BEGIN');
    const { entries, lastSeq } = await reproject(client, sealer, options);
    const rows: Record<string, number> = {};
    for (const table of PG_PROJECTION_TABLES) rows[table] = (await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n;
    await client.query('COMMIT');
    return { entries, last_seq: lastSeq, rows, repaired: [], seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * `replay --verify` on PostgreSQL: keeps a copy of the live projections, rebuilds in place,
 * compares row by row, and rolls it all back. Appends wait meanwhile (the append lock).
 */
export async function verifyPg(pool: Pool, sealer: PgSealer, options: BuildOptions & { limit?: number } = {}): Promise<VerifyResult> {
  const limit = options.limit ?? 20;
  const client = await connectClient(pool);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    for (const table of PG_PROJECTION_TABLES) await client.query(`CREATE TEMP TABLE live_${table} ON COMMIT DROP AS SELECT * FROM ${table}`);
    const { entries, lastSeq } = await reproject(client, sealer, options);
    let count = 0;
    const differences: Difference[] = [];
    for (const table of PG_PROJECTION_TABLES) {
      const diff = await compare(client, table, limit);
      count += diff.length;
      differences.push(...diff.slice(0, limit));
    }
    return { identical: count === 0, entries, last_seq: lastSeq, tables: PG_PROJECTION_TABLES, count, differences };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

async function compare(client: PoolClient, table: string, limit: number): Promise<Difference[]> {
  const onlyLive = (await client.query(`SELECT * FROM live_${table} EXCEPT SELECT * FROM ${table}`)).rows as Record<string, unknown>[];
  const onlyRebuilt = (await client.query(`SELECT * FROM ${table} EXCEPT SELECT * FROM live_${table}`)).rows as Record<string, unknown>[];
  return diffRows(table, KEYS[table]!, onlyLive, onlyRebuilt);
}
