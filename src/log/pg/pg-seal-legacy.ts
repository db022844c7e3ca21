import { entryData } from '../damaged-entry.js';
import type { PoolClient } from 'pg';
import type { Entry } from '../types.js';
import { APPEND_LOCK } from './pg-append.js';
import type { PgSealer } from './pg-sealed.js';

/** Entries sealed per statement batch while upgrading. */
const BATCH = 1000;

/**
 * The hash story of a PostgreSQL log written before schema version 2 (README "Personal data"),
 * as `sealLegacy` (log/sqlite/seal-legacy.ts) tells it for SQLite: on the first open, every
 * entry without a hash is split once into facts and an encrypted payload and chained, from the
 * first such entry, in one transaction under the append lock; the append-only trigger is
 * disabled for that transaction only (`ALTER TABLE` is transactional). Only a run of unhashed,
 * never-sealed entries at the end is sealed: an unhashed entry followed by a hashed one had its
 * hash removed, and is left for `log --verify` to name. The old rows' plaintext stays in dead
 * tuples until `VACUUM entries`, which runs after the commit (PostgreSQL has no secure_delete).
 * A log whose every entry has a hash costs one look-up in an empty partial index (`entries_unhashed`).
 */
export async function sealLegacyPg(client: PoolClient, sealer: PgSealer): Promise<void> {
  const pending = async (): Promise<number | undefined> => {
    const row = (
      await client.query<{ first: number | null; later: boolean }>(
        `SELECT f.first, EXISTS (SELECT 1 FROM entries WHERE seq >= f.first AND (hash IS NOT NULL OR digest IS NOT NULL)) AS later
         FROM (SELECT min(seq) AS first FROM entries WHERE hash IS NULL) f`,
      )
    ).rows[0]!;
    return row.first === null || row.later ? undefined : row.first;
  };
  if ((await pending()) === undefined) return;
  await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
  try {
    const first = await pending(); // another process may have sealed it meanwhile
    if (first !== undefined) {
      await client.query(`ALTER TABLE entries DISABLE TRIGGER entries_no_change`);
      let prev = (await client.query<{ hash: string | null }>(`SELECT hash FROM entries WHERE seq = $1`, [first - 1])).rows[0]?.hash ?? sealer.sealing.genesis;
      for (let after = first - 1; ; ) {
        const rows = await client.query<{ seq: number; type: string; at: string; data: string }>(
          `SELECT seq, type, at, data::text AS data FROM entries WHERE hash IS NULL AND seq > $1 ORDER BY seq LIMIT ${BATCH}`,
          [after],
        );
        if (rows.rows.length === 0) break;
        const entries = rows.rows.map((r) => ({ seq: r.seq, type: r.type, at: r.at, data: entryData(r) }) as Entry);
        const sealed = await sealer.seal(client, entries, prev);
        await client.query(
          `UPDATE entries e SET data = x.data::json, hash = x.hash, digest = x.digest
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS x(seq, data, hash, digest) WHERE e.seq = x.seq`,
          [entries.map((e) => e.seq), sealed.prepared.map((p) => p.data), sealed.prepared.map((p) => p.hash), sealed.prepared.map((p) => p.digest)],
        );
        await sealed.store();
        prev = sealed.prepared.at(-1)!.hash;
        after = entries.at(-1)!.seq;
      }
      await client.query(`ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await client.query('VACUUM entries');
}
