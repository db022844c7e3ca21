import type { Pool, PoolClient } from 'pg';
import { projectInto } from '../../project/apply-entry.js';
import { dedupeKey, type Appended, type CommitGroup } from '../seam.js';
import type { Entry } from '../types.js';
import { ProjectionBatch } from './projection-batch.js';
import { connectClient } from './connect.js';
import { callsOf, INSERT_KEYS, INSERT_PAYLOADS, knownKeys, sealedValues, type KnownKeys, type PgSealer } from './pg-sealed.js';

/**
 * The `pg_advisory_xact_lock` key every append takes before it picks its seqs, held until its
 * commit. So appends commit in `seq` order, whichever process makes them: a reader that sees
 * seq N has every lower seq too, and a consumer reading `seq > checkpoint` never skips an entry
 * that commits late with a lower seq (SPEC §13). The price is one append transaction at a time
 * across all relays, which group commit amortises (one transaction per batch of requests).
 */
export const APPEND_LOCK = 0x486b5241;

/** What a transaction's hooks may do: tests hold a transaction open between its inserts and its commit. */
export interface AppendHooks {
  /** Called after the entries and projections are written, before COMMIT, with the transaction's connection. */
  beforeCommit?: (seqs: number[], client: PoolClient) => Promise<void>;
}

/** The payload of `NOTIFY husky_relay_appended`: the last seq committed. */
export const APPENDED_CHANNEL = 'husky_relay_appended';

/**
 * Appends `groups` in one transaction on a connection of `pool`: entries with their projections
 * and checkpoints, all or none. Duplicates (a dedupe key already in the log, or earlier in these
 * groups) append nothing. Rejects with the driver's error; nothing of it remains then.
 * `durable` false: the commit does not wait for its WAL flush (see `underAppendLock`). (Default: true)
 */
export async function appendGroups(pool: Pool, sealer: PgSealer, groups: CommitGroup[], at: string, hooks: AppendHooks = {}, durable = true): Promise<Appended[][]> {
  return underAppendLock(pool, (client) => appendInTransaction(client, sealer, groups, at, hooks), durable);
}

/**
 * Runs `work` in one transaction on a connection of `pool`, holding the append lock from its
 * first statement to its commit (every write to the log takes it: appends, erasure). Rolls back
 * and rejects with `work`'s error; a connection whose rollback failed is discarded.
 *
 * `durable` false (the pipeline's own entries, README "What a power loss can take back"): the
 * transaction is `SET LOCAL synchronous_commit = off`, so its COMMIT returns, and the append lock
 * is free, before its WAL record is flushed. PostgreSQL writes the WAL in order and a later
 * durable commit flushes everything before it, so what a crash of the server can take back is
 * the last such transactions only, never an acknowledged event. (Default: true)
 */
export async function underAppendLock<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, durable = true): Promise<T> {
  const client = await connectClient(pool);
  let broken = false;
  try {
    // one round trip: the transaction and its lock
    await client.query(`BEGIN; ${durable ? '' : 'SET LOCAL synchronous_commit = off; '}SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

/**
 * `appendGroups`' work on `client`, whose transaction holds the append lock already (erasure
 * appends inside its own): entries split, sealed and chained after the last entry's hash
 * (README "Personal data"), their payloads and new data keys, projections and checkpoints.
 */
export async function appendInTransaction(client: PoolClient, sealer: PgSealer, groups: CommitGroup[], at: string, hooks: AppendHooks = {}): Promise<Appended[][]> {
  const keys = groups.flatMap((g) => g.entries.map(dedupeKey)).filter((k): k is string => k !== null);
  // the last seq and hash (the chain's head), and which of these keys the log holds: one round trip, under the lock
  // and the data keys of their calls (a superset: duplicates among them are not sealed)
  const known = await client.query<{ last: number; head: string | null; taken: string[] } & KnownKeys>(
    `SELECT (SELECT coalesce(max(seq), 0) FROM entries) AS last, (SELECT hash FROM entries ORDER BY seq DESC LIMIT 1) AS head,
       array(SELECT dedupe_key FROM entries WHERE dedupe_key = ANY($1)) AS taken, ${knownKeys('$2')}`,
    [keys, callsOf(groups.flatMap((g) => g.entries))],
  );
  const taken = new Set(known.rows[0]!.taken);
  let next = known.rows[0]!.last + 1;
  const written: Entry[] = [];
  const results = groups.map(({ entries }) =>
    entries.map((entry): Appended => {
      const key = dedupeKey(entry);
      if (key !== null && taken.has(key)) return { seq: null, duplicate: true };
      if (key !== null) taken.add(key);
      written.push({ ...entry, seq: next, at } as Entry);
      return { seq: next++, duplicate: false };
    }),
  );
  const batch = new ProjectionBatch();
  if (written.length > 0) {
    const row = known.rows[0]!;
    const sealed = sealer.sealKnown(written, row.head ?? sealer.sealing.genesis, row);
    // the entries, their new data keys and their payloads: one statement
    await client.query(
      `WITH e AS (INSERT INTO entries (seq, type, at, data, dedupe_key, hash, digest)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::json[], $5::text[], $6::text[], $7::text[])),
       k AS (${INSERT_KEYS('$8', '$9')})
       ${INSERT_PAYLOADS('$10', '$11', '$12')}`,
      [
        written.map((e) => e.seq),
        written.map((e) => e.type),
        written.map(() => at),
        sealed.prepared.map((p) => p.data),
        written.map(dedupeKey),
        sealed.prepared.map((p) => p.hash),
        sealed.prepared.map((p) => p.digest),
        ...sealedValues(sealed),
      ],
    );
    await batch.prefetch(client, written);
    const project = projectInto(batch);
    for (const entry of written) project(entry);
  }
  for (const { checkpoint } of groups) {
    if (checkpoint) batch.write(`INSERT INTO p_checkpoints (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, [checkpoint.name, checkpoint.seq]);
  }
  if (written.length > 0) batch.write(`SELECT pg_notify($1, $2)`, [APPENDED_CHANNEL, String(written.at(-1)!.seq)]);
  // the projections' writes, the checkpoints and the notice: one round trip
  await batch.flush(client);
  await hooks.beforeCommit?.(written.map((e) => e.seq), client);
  return results;
}
