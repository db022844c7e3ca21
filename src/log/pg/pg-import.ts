import type { PoolClient } from 'pg';
import { connectClient } from './connect.js';
import { UserError } from '../../errors.js';
import { redactUrl } from '../location.js';
import type { Checkpoint, SealedRows } from '../seam.js';
import { APPEND_LOCK } from './pg-append.js';
import { reproject } from './pg-rebuild.js';
import { INSERT_KEYS, INSERT_PAYLOADS } from './pg-sealed.js';
import type { PgStore } from './pg-store.js';
import { count } from '../../count.js';

/** What `importLog` copied. */
export interface ImportResult {
  entries: number;
  last_seq: number;
  seconds: number;
}

/**
 * Copies a log into `target`, an empty PostgreSQL log (`migrate --to`, SPEC §13): every entry as
 * stored (seq, `at`, facts, dedupe key, hash and digest), its sealed payload, the calls' wrapped
 * data keys, the erased calls and where the log starts, as they are (README "Personal data": the chain and its head stay
 * the same; a data key wrapped by an older master key is wrapped again by the current one), and
 * the consumers' checkpoints; then projects it all, in the same transaction, so the database
 * holds the whole log and its projections or nothing. Throws `UserError` when the target already
 * holds entries or checkpoints (nothing is written then). `signal` (Ctrl-C) stops it between
 * batches, or once projected, before the commit: it throws the signal's reason and nothing is copied.
 */
export async function importLog(
  target: PgStore,
  source: SealedRows,
  checkpoints: Checkpoint[],
  onProgress?: (done: number) => void,
  signal?: AbortSignal,
): Promise<ImportResult> {
  const started = performance.now();
  const client = await connectClient(target.pool);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    await mustBeEmpty(client, target.url);
    let entries = 0;
    let lastSeq = 0;
    for (;;) {
      signal?.throwIfAborted();
      const batch = await source.entries(lastSeq, BATCH);
      if (batch.length === 0) break;
      await refusedAs(batch[0]!.seq, batch.at(-1)!.seq, () => client.query(
        `INSERT INTO entries (seq, type, at, data, dedupe_key, hash, digest)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::json[], $5::text[], $6::text[], $7::text[])`,
        [batch.map((e) => e.seq), batch.map((e) => e.type), batch.map((e) => e.at), batch.map((e) => e.data), batch.map((e) => e.dedupe_key), batch.map((e) => e.hash), batch.map((e) => e.digest)],
      ));
      const payloads = batch.filter((e) => e.sealed !== null && e.payload_call !== null);
      await client.query(INSERT_PAYLOADS('$1', '$2', '$3'), [
        payloads.map((e) => e.seq),
        payloads.map((e) => e.payload_call),
        payloads.map((e) => e.sealed),
      ]);
      entries += batch.length;
      lastSeq = batch.at(-1)!.seq;
      onProgress?.(entries);
    }
    const sealing = target.sealer.sealing;
    const keys = (await source.callKeys()).map((k) => ({ ...k, wrapped: sealing.isOld(k.wrapped) ? sealing.rewrap(k.wrapped) : k.wrapped }));
    await client.query(INSERT_KEYS('$1', '$2'), [keys.map((k) => k.call_id), keys.map((k) => k.wrapped)]);
    const erased = await source.erasedCalls();
    await client.query(`INSERT INTO erased_calls (call_id, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, [erased.map((x) => x.call_id), erased.map((x) => x.seq)]);
    for (const c of checkpoints) await client.query(`INSERT INTO p_checkpoints (name, seq) VALUES ($1, $2)`, [c.name, c.seq]);
    const start = await source.logStart();
    if (start) await client.query(`INSERT INTO log_start (id, seq, prev_hash) VALUES (1, $1, $2)`, [start.seq, start.prev]);
    await reproject(client, target.sealer, { signal }, false);
    signal?.throwIfAborted();
    await client.query('COMMIT');
    return { entries, last_seq: lastSeq, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Entries read from the source per batch. */
const BATCH = 5_000;

async function mustBeEmpty(client: PoolClient, url: string): Promise<void> {
  const row = (await client.query<{ entries: number; checkpoints: number }>(
    `SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM p_checkpoints) AS checkpoints`,
  )).rows[0]!;
  if (row.entries > 0 || row.checkpoints > 0) {
    throw new UserError(`migrate: ${redactUrl(url)} already holds a log (${count(Number(row.entries), 'entry', 'entries')}); migrate copies into an empty database only`, 'target_not_empty');
  }
}

/**
 * `insert`, with PostgreSQL's refusal of the data (SQLSTATE class 22: U+0000 or invalid text in a
 * column; class 54: an id too long for an index row; both of which SQLite stored before ingest
 * refused such ids) said as a `UserError`
 * naming the entries, so `migrate` ends in one line (the transaction rolls back: nothing copied).
 */
async function refusedAs<T>(first: number, last: number, insert: () => Promise<T>): Promise<T> {
  try {
    return await insert();
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('22') && !code.startsWith('54')) throw error;
    throw new UserError(
      `migrate: PostgreSQL refuses an entry among seqs ${first}..${last} (${(error as Error).message}): an id or type holding U+0000 or an unpaired surrogate, or longer than its indexes take, which SQLite kept, cannot be stored there; nothing was copied`,
      'entry_not_storable',
    );
  }
}
