import type { PoolClient } from 'pg';
import { connectClient } from './connect.js';
import { UserError } from '../../errors.js';
import { redactUrl } from '../location.js';
import { dedupeKey, type Checkpoint } from '../seam.js';
import type { Entry } from '../types.js';
import { APPEND_LOCK } from './pg-append.js';
import { reproject } from './pg-rebuild.js';
import type { PgStore } from './pg-store.js';

/** What `importLog` copied. */
export interface ImportResult {
  entries: number;
  last_seq: number;
  seconds: number;
}

/**
 * Copies a log into `target`, an empty PostgreSQL log (`migrate --to`, SPEC §13): every entry
 * with its seq, `at` and data as they are, and the consumers' checkpoints; then projects it
 * all, in the same transaction, so the database holds the whole log and its projections or
 * nothing. `batches` yields the source's entries in seq order. Throws `UserError` when the
 * target already holds entries or checkpoints (nothing is written then).
 */
export async function importLog(
  target: PgStore,
  batches: AsyncIterable<Entry[]>,
  checkpoints: Checkpoint[],
  onProgress?: (done: number) => void,
): Promise<ImportResult> {
  const started = performance.now();
  const client = await connectClient(target.pool);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    await mustBeEmpty(client, target.url);
    let entries = 0;
    let lastSeq = 0;
    let prev = target.sealer.sealing.genesis;
    for await (const batch of batches) {
      if (batch.length === 0) continue;
      const sealed = await target.sealer.seal(client, batch, prev);
      await client.query(
        `INSERT INTO entries (seq, type, at, data, dedupe_key, hash, digest)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::json[], $5::text[], $6::text[], $7::text[])`,
        [
          batch.map((e) => e.seq),
          batch.map((e) => e.type),
          batch.map((e) => e.at),
          sealed.prepared.map((p) => p.data),
          batch.map(dedupeKey),
          sealed.prepared.map((p) => p.hash),
          sealed.prepared.map((p) => p.digest),
        ],
      );
      await sealed.store();
      prev = sealed.prepared.at(-1)!.hash;
      entries += batch.length;
      lastSeq = batch.at(-1)!.seq;
      onProgress?.(entries);
    }
    for (const c of checkpoints) await client.query(`INSERT INTO p_checkpoints (name, seq) VALUES ($1, $2)`, [c.name, c.seq]);
    await reproject(client, target.sealer, {}, false);
    await client.query('COMMIT');
    return { entries, last_seq: lastSeq, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function mustBeEmpty(client: PoolClient, url: string): Promise<void> {
  const row = (await client.query<{ entries: number; checkpoints: number }>(
    `SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM p_checkpoints) AS checkpoints`,
  )).rows[0]!;
  if (row.entries > 0 || row.checkpoints > 0) {
    throw new UserError(`migrate: ${redactUrl(url)} already holds a log (${row.entries} entries); migrate copies into an empty database only`, 'target_not_empty');
  }
}
