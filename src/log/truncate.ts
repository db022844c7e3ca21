import { entryData } from './damaged-entry.js';
import { misshapenEntryError } from './entry-shape.js';
import { OPEN_SQL } from '../delivery/lifecycle.js';
import type { LogStart } from '../privacy/chain.js';
import { chooseLogStart, type Truncation, type TruncationReads } from '../privacy/truncation.js';
import { ROUTED_TYPES, type LogTruncated, type NewEntry, type TruncationSnapshot } from './types.js';

/**
 * Truncation on either engine (README "Retention"; which entries go, and why, is in
 * `privacy/truncation.ts`). In one write transaction, which the engine opens (SQLite: `BEGIN
 * IMMEDIATE`; PostgreSQL: under the append lock): choose where the log can start, append
 * `log.truncated` (whose projection forgets what the removed entries made), record the new start
 * in `log_start` (the append-only trigger reads it: only entries before it can be deleted), then
 * delete the entries, payload rows and erasure marks before it. The SQL is the same on both
 * engines, written with `?` placeholders; every read and delete goes by an index over the
 * removed prefix, never the whole window.
 */

/** The entry types the router reads, as an SQL list. */
const ROUTED_SQL = ROUTED_TYPES.map((t) => `'${t}'`).join(', ');

/** The statements of a transaction, as an engine runs them. */
export interface TruncationTx {
  /** The first column of the first row, or null. */
  one(sql: string, ...params: unknown[]): Promise<unknown>;
  /** Every row, as arrays of columns. */
  rows(sql: string, ...params: unknown[]): Promise<unknown[][]>;
  run(sql: string, ...params: unknown[]): Promise<void>;
  /** Appends one entry with its projection (in this transaction); its seq. */
  append(entry: NewEntry): Promise<number>;
}

/** Where the log starts, or undefined when it was never truncated. */
export async function logStartIn(tx: Pick<TruncationTx, 'rows'>): Promise<LogStart | undefined> {
  const [row] = await tx.rows(`SELECT seq, prev_hash FROM log_start`);
  return row && { seq: Number(row[0]), prev: String(row[1]) };
}

function reads(tx: TruncationTx): TruncationReads {
  const seq = async (sql: string, ...params: unknown[]) => {
    const value = await tx.one(sql, ...params);
    return value === null || value === undefined ? null : Number(value);
  };
  return {
    logStart: async () => (await logStartIn(tx))?.seq ?? 1,
    firstKept: async (from, since) => {
      const last = (await seq(`SELECT max(seq) FROM entries`)) ?? 0;
      const routed = (await seq(`SELECT min(seq) FROM p_checkpoints`)) ?? last;
      const kept = [
        (await seq(`SELECT seq FROM entries WHERE seq >= ? AND at >= ? ORDER BY seq LIMIT 1`, from, since)) ?? last + 1,
        // the first entry the router has yet to read (it reads events and operator events only)
        (await seq(`SELECT min(seq) FROM entries WHERE seq > ? AND type IN (${ROUTED_SQL})`, routed)) ?? last + 1,
        (await seq(`SELECT min(seq) FROM p_deliveries WHERE status IN ${OPEN_SQL}`)) ?? last + 1,
        // what an operator event the router has yet to read looks back at: its delivery's plan
        // (a dead letter's rule and sink; whether an alert raised it), the pause or spell it ends
        (await seq(
          `SELECT min(d.seq) FROM entries e JOIN p_deliveries d ON d.delivery_id = e.data ->> 'delivery_id'
           WHERE e.seq > ? AND e.type IN ('delivery.dead', 'sink.paused', 'pending.stale')`,
          routed,
        )) ?? last + 1,
        (await seq(
          `SELECT min(p.seq) FROM entries e JOIN entries p ON p.type = (CASE e.type WHEN 'sink.resumed' THEN 'sink.paused' ELSE 'pending.stale' END)
             AND p.data ->> 'sink' = e.data ->> 'sink' AND p.seq < e.seq
           WHERE e.seq > ? AND e.type IN ('sink.resumed', 'pending.cleared')`,
          routed,
        )) ?? last + 1,
      ];
      return Math.min(...kept);
    },
    firstHeldBack: async (from, before) => {
      const unerased = await seq(
        `SELECT min(c.seq) FROM p_call_entries c JOIN p_calls p ON p.call_id = c.call_id
         WHERE c.seq >= ? AND c.seq < ? AND p.last_event_seq < ? AND NOT EXISTS (SELECT 1 FROM erased_calls x WHERE x.call_id = c.call_id)`,
        from,
        before,
        before,
      );
      const plans = await seq(
        `SELECT min(c.event_seq) FROM p_call_entries c JOIN p_deliveries d ON d.seq = c.seq WHERE c.event_seq >= ? AND c.event_seq < ? AND c.seq >= ?`,
        from,
        before,
        before,
      );
      return unerased === null ? plans : plans === null ? unerased : Math.min(unerased, plans);
    },
    onlyTruncations: async (from, before) => (await tx.one(`SELECT 1 FROM entries WHERE seq >= ? AND seq < ? AND type <> 'log.truncated' LIMIT 1`, from, before)) === null,
  };
}

/** The projection rows the entries before `before` contributed to, as they are now (see `TruncationSnapshot`). */
async function snapshotOf(tx: TruncationTx, before: number): Promise<TruncationSnapshot> {
  return {
    events_by_type: (await tx.rows(`SELECT event_type, n FROM p_events_by_type ORDER BY event_type`)).map((r) => [String(r[0]), Number(r[1])]),
    sink_health: (await tx.rows(`SELECT sink, last_success_at, last_error, last_error_at, consecutive_failures FROM p_sink_health ORDER BY sink`)).map(
      (r) => [r[0], r[1], r[2], r[3], Number(r[4])] as TruncationSnapshot['sink_health'][number],
    ),
    sink_state: (await tx.rows(`SELECT sink, paused_at, paused_reason, paused_code, stale_at, stale_oldest_at FROM p_sink_state ORDER BY sink`)) as TruncationSnapshot['sink_state'],
    key_state: (await tx.rows(
      `SELECT k.sink, k.order_key, k.key_scope, k.result FROM p_key_state k
       WHERE (k.sink, k.order_key, k.key_scope) IN (SELECT sink, order_key, key_scope FROM p_deliveries WHERE seq < ? AND order_key IS NOT NULL)
       AND EXISTS (SELECT 1 FROM p_deliveries d WHERE d.seq >= ? AND d.sink = k.sink AND d.order_key = k.order_key AND d.key_scope = k.key_scope)
       ORDER BY 1, 2, 3`,
      before,
      before,
    )) as TruncationSnapshot['key_state'],
    calls: (await tx.rows(
      `SELECT call_id, org_id, last_event_type, last_event_seq, events FROM p_calls
       WHERE call_id IN (SELECT call_id FROM p_call_entries WHERE event_seq < ?) AND last_event_seq >= ? ORDER BY call_id`,
      before,
      before,
    )).map((r) => [r[0], r[1], r[2], Number(r[3]), Number(r[4])] as TruncationSnapshot['calls'][number]),
  };
}

/**
 * The order keys an earlier `log.truncated` kept from `before` on restored, that no delivery
 * from `before` on uses: the truncation forgets them (see `LogTruncated.forget_keys`). Throws
 * `DamagedEntryError` for such an entry whose data is not JSON, or not what a `log.truncated` holds.
 */
async function restoredUnused(tx: TruncationTx, before: number): Promise<[string, string, string][]> {
  const restored = new Map<string, [string, string, string]>();
  for (const [seq, data] of await tx.rows(`SELECT seq, data FROM entries WHERE type = 'log.truncated' AND seq >= ? ORDER BY seq`, before)) {
    const facts = (typeof data === 'string' ? entryData({ seq: Number(seq), data }) : data) as LogTruncated;
    // of another shape (a hand edit): named, so the failed sweep's line says which entry and what to do
    const damaged = misshapenEntryError({ seq: Number(seq), type: 'log.truncated', data: facts });
    if (damaged) throw damaged;
    for (const [sink, orderKey, scope] of facts.snapshot.key_state) restored.set(JSON.stringify([sink, orderKey, scope]), [sink, orderKey, scope]);
  }
  const unused: [string, string, string][] = [];
  for (const key of restored.values()) {
    const used = await tx.one(`SELECT 1 FROM p_deliveries WHERE sink = ? AND order_key = ? AND key_scope = ? AND seq >= ? LIMIT 1`, ...key, before);
    if (used === null) unused.push(key);
  }
  return unused;
}

/**
 * Removes the entries before the first seq the log can start at now (`chooseLogStart`), at most
 * `MAX_ENTRIES`, inside the engine's open write transaction `tx`; null when none can go. Throws
 * what a statement or the append throws (the engine then rolls back).
 */
export async function truncateIn(tx: TruncationTx, now: Date, windowMs: number): Promise<Truncation | null> {
  const before = await chooseLogStart(reads(tx), now, windowMs);
  if (before === null) return null;
  const start = (await logStartIn(tx))?.seq ?? 1;
  const prev = String(await tx.one(`SELECT hash FROM entries WHERE seq = ?`, before - 1));
  const entries = Number(await tx.one(`SELECT count(*) FROM entries WHERE seq < ?`, before));
  const calls = Number(await tx.one(`SELECT count(DISTINCT call_id) FROM p_call_entries WHERE seq >= ? AND seq < ?`, start, before));
  const snapshot = await snapshotOf(tx, before);
  const forget_keys = await restoredUnused(tx, before);
  const seq = await tx.append({ type: 'log.truncated', data: { before_seq: before, prev_hash: prev, entries, calls, snapshot, forget_keys } });
  await tx.run(
    `INSERT INTO log_start (id, seq, prev_hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, prev_hash = excluded.prev_hash`,
    before,
    prev,
  );
  await tx.run(`DELETE FROM payloads WHERE seq < ?`, before);
  // by the call.erased entries removed (the type index), not a read of every erased call
  await tx.run(`DELETE FROM erased_calls WHERE call_id IN (SELECT data ->> 'call_id' FROM entries WHERE type = 'call.erased' AND seq < ?) AND seq < ?`, before, before);
  await tx.run(`DELETE FROM entries WHERE seq < ?`, before);
  return { before_seq: before, seq, entries, calls };
}
