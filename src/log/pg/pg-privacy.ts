import { entryJson } from '../damaged-entry.js';
import type { Pool } from 'pg';
import { OPEN_SQL } from '../../delivery/lifecycle.js';
import { verifyChainOf, type ChainLink, type ChainVerdict } from '../../privacy/chain.js';
import { addCallMentioning, contactKeyOf } from '../../privacy/contact.js';
import type { SealedRow } from '../../privacy/sealing.js';
import { erasureEntries } from '../../privacy/erasure-entries.js';
import type { ErasableCall, ErasedCall, EraseRequest, EraseResult, PrivacyLog } from '../seam.js';
import type { Entry } from '../types.js';
import { appendInTransaction, underAppendLock } from './pg-append.js';
import { PG_ENTRY_COLUMNS, PG_ENTRY_JOINS } from './pg-sealed.js';
import type { PgStore } from './pg-store.js';
import { logStartIn, truncateIn, type TruncationTx } from '../truncate.js';
import { numbered } from './projection-batch.js';
import type { Truncation } from '../../privacy/truncation.js';

/** The reads and writes of `log/truncate.ts` on a client or pool: its `?` placeholders as `$n`. */
function pgTx(db: Pick<Pool, 'query'>): Omit<TruncationTx, 'append'> {
  const query = (sql: string, params: unknown[]) => db.query({ text: numbered(sql), values: params, rowMode: 'array' });
  return {
    one: async (sql, ...params) => ((await query(sql, params)).rows[0] as unknown[] | undefined)?.[0] ?? null,
    rows: async (sql, ...params) => (await query(sql, params)).rows as unknown[][],
    run: async (sql, ...params) => void (await query(sql, params)),
  };
}

/** Entries read per page of a scan (contacts, the chain). */
const PAGE = 2000;

/**
 * `PrivacyLog` on PostgreSQL (README "Personal data"), as `SqlitePrivacy` on SQLite. Erasure
 * deletes the calls' payload rows and wrapped data keys in one transaction under the append
 * lock, with the `call.erased` and `delivery.dead` entries. PostgreSQL has no `secure_delete`:
 * the deleted rows are dead tuples, invisible to every query once the transaction commits, and
 * `VACUUM payloads, call_keys` runs right after it to free them (their bytes remain on disk
 * until PostgreSQL reuses the space, as they would in its WAL until recycled).
 */
export class PgPrivacy implements PrivacyLog {
  constructor(private readonly store: PgStore) {}

  /** Every entry of `where` (on `entries e`), a page at a time, as stored (payloads sealed). */
  private async *rows(where: string): AsyncGenerator<SealedRow> {
    for (let after = 0; ; ) {
      const page = await this.store.pool.query<SealedRow>(
        `SELECT ${PG_ENTRY_COLUMNS} FROM entries e ${PG_ENTRY_JOINS} WHERE e.seq > $1 ${where} ORDER BY e.seq LIMIT ${PAGE}`,
        [after],
      );
      if (page.rows.length === 0) return;
      yield* page.rows;
      after = page.rows.at(-1)!.seq;
    }
  }

  async callsOfContact(contact: string): Promise<string[]> {
    const key = contactKeyOf(contact);
    const found = new Set<string>();
    for await (const row of this.rows(`AND e.type = 'event.received' AND p.seq IS NOT NULL`)) {
      const entry = this.store.sealer.sealing.entryOf(row) as Entry & { type: 'event.received' };
      addCallMentioning(found, entry, key);
    }
    return [...found];
  }

  async erasable(callIds: readonly string[]): Promise<ErasableCall[]> {
    const ids = [...new Set(callIds)];
    const rows = await this.store.pool.query<ErasableCall>(
      `SELECT c.call_id,
         (SELECT count(*) FROM p_call_entries r WHERE r.call_id = c.call_id AND r.seq = r.event_seq
           AND r.seq IS DISTINCT FROM (SELECT x.seq FROM erased_calls x WHERE x.call_id = c.call_id)) AS events,
         (SELECT count(*) FROM payloads p WHERE p.call_id = c.call_id) AS payloads,
         EXISTS (SELECT 1 FROM erased_calls x WHERE x.call_id = c.call_id) AS erased
       FROM unnest($1::text[]) WITH ORDINALITY AS c(call_id, n) ORDER BY c.n`,
      [ids],
    );
    return rows.rows.filter((c) => c.events > 0 || c.erased);
  }

  async erase(request: EraseRequest): Promise<EraseResult> {
    const { pool, sealer } = this.store;
    const ids = [...new Set(request.callIds)];
    // `also` may read the log (the downstream plans): read before the write transaction starts
    const before = new Set((await pool.query<{ call_id: string }>(`SELECT call_id FROM erased_calls WHERE call_id = ANY($1)`, [ids])).rows.map((r) => r.call_id));
    const also = request.also ? await request.also(ids.filter((id) => !before.has(id))) : [];
    const at = this.store.now().toISOString();
    const calls = await underAppendLock(pool, async (client) => {
      const done: ErasedCall[] = [];
      for (const call_id of ids) {
        if ((await client.query(`SELECT 1 FROM erased_calls WHERE call_id = $1`, [call_id])).rowCount! > 0) {
          done.push({ call_id, payloads: 0, closed: 0, seq: null });
          continue;
        }
        const payloads = (await client.query(`DELETE FROM payloads WHERE call_id = $1`, [call_id])).rowCount ?? 0;
        await client.query(`DELETE FROM call_keys WHERE call_id = $1`, [call_id]);
        const dying = (await client.query<{ delivery_id: string }>(`SELECT delivery_id FROM p_deliveries WHERE call_id = $1 AND status IN ${OPEN_SQL} ORDER BY seq`, [call_id])).rows.map((r) => r.delivery_id);
        const seq = (await appendInTransaction(client, sealer, [{ entries: erasureEntries(call_id, request, dying) }], at))[0]![0]!.seq!;
        await client.query(`INSERT INTO erased_calls (call_id, seq) VALUES ($1, $2)`, [call_id, seq]);
        done.push({ call_id, payloads, closed: dying.length, seq });
      }
      if (also.length > 0) await appendInTransaction(client, sealer, [{ entries: also }], at);
      return done;
    });
    // outside the transaction (VACUUM cannot run in one): frees the dead tuples of the deleted rows
    const failed = await pool.query('VACUUM payloads, call_keys').then(
      () => null,
      (error: Error) => error.message,
    );
    return {
      calls,
      walTruncated: failed === null,
      leftover: failed && `VACUUM payloads, call_keys failed (${failed}): autovacuum frees the erased rows' space later; no query reads them, and their keys are gone`,
    };
  }

  async callsLastSeenBefore(before: string, limit: number): Promise<string[]> {
    const rows = await this.store.pool.query<{ call_id: string }>(
      `SELECT c.call_id FROM p_calls c JOIN entries e ON e.seq = c.last_event_seq
       WHERE e.at < $1 AND NOT EXISTS (SELECT 1 FROM erased_calls x WHERE x.call_id = c.call_id) ORDER BY c.last_event_seq LIMIT $2`,
      [before, limit],
    );
    return rows.rows.map((r) => r.call_id);
  }

  async verifyChain(): Promise<ChainVerdict> {
    const sealing = this.store.sealer.sealing;
    // erased as the chain itself says (call.erased entries), not as a side table says; read in JS
    const erased = new Set<unknown>();
    for await (const row of this.rows(`AND e.type = 'call.erased'`)) erased.add((entryJson(row) as { call_id?: unknown } | null)?.call_id);
    const rows = this.rows('');
    async function* links(): AsyncGenerator<ChainLink & { hash: string | null }> {
      for await (const row of rows) yield sealing.linkOf(row, erased);
    }
    return verifyChainOf(links(), await logStartIn(pgTx(this.store.pool)));
  }

  async verifyPages(): Promise<string[]> {
    return [];
  }

  async truncate(now: Date, windowMs: number): Promise<Truncation | null> {
    const { pool, sealer } = this.store;
    const truncation = await underAppendLock(pool, (client) =>
      truncateIn(
        { ...pgTx(client), append: async (entry) => (await appendInTransaction(client, sealer, [{ entries: [entry] }], this.store.now().toISOString()))[0]![0]!.seq! },
        now,
        windowMs,
      ),
    );
    // as after an erasure: frees the removed rows' space for new ones (outside the transaction)
    if (truncation) await pool.query('VACUUM entries, payloads, erased_calls, p_call_entries, p_deliveries').catch(() => undefined);
    return truncation;
  }

  async chainHead(): Promise<string | null> {
    return (await this.store.pool.query<{ hash: string | null }>(`SELECT hash FROM entries ORDER BY seq DESC LIMIT 1`)).rows[0]?.hash ?? null;
  }
}
