import type { Pool } from 'pg';
import { dedupeKey, type DeliveryOrigin, type EntryOf, type EventFilter, type LogReader, type ReadOptions } from '../seam.js';
import type { Entry, EntryType, NewEntry } from '../types.js';
import { PG_ENTRY_COLUMNS as COLUMNS, PG_ENTRY_JOINS as JOINS, PG_FACT_COLUMNS, type PgSealer } from './pg-sealed.js';
import type { SealedRow } from '../../privacy/sealing.js';

const eventKey = (eventId: string) => dedupeKey({ type: 'event.received', data: { event_id: eventId } } as NewEntry)!;
const deliveryKey = (id: string) => dedupeKey({ type: 'delivery.planned', data: { delivery_id: id } } as NewEntry)!;

/** A `*`/`?` glob (the rules' `on:`) as a LIKE pattern. */
function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** Builds a WHERE with numbered parameters. */
class Where {
  readonly clauses: string[] = [];
  readonly values: unknown[] = [];
  add(clause: (p: string) => string, value: unknown): void {
    this.values.push(value);
    this.clauses.push(clause(`$${this.values.length}`));
  }
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/**
 * The named reads of the log (`LogReader`) on PostgreSQL. Every append commits in seq order
 * (see `pg-append.ts`), so what a snapshot sees is a prefix of the log that will not change:
 * `read` may return it as it is.
 */
export class PgLogReader implements LogReader {
  constructor(
    private readonly pool: Pool,
    private readonly sealer: PgSealer,
  ) {}

  /** Entries of `text` (selecting `COLUMNS` from `entries e` and its `JOINS`), payloads opened. */
  private rows(text: string, values: unknown[], withHash = false): Promise<Entry[]> {
    return this.sealer.entries(this.pool, text, values, withHash);
  }

  async lastSeq(): Promise<number> {
    return (await this.pool.query<{ seq: number }>(`SELECT coalesce(max(seq), 0) AS seq FROM entries`)).rows[0]!.seq;
  }

  async read(afterSeq: number, options: ReadOptions = {}): Promise<Entry[]> {
    const about = options.callId !== undefined || options.eventId !== undefined;
    const seq = about ? 'r.seq' : 'e.seq';
    const w = new Where();
    w.add((p) => `${seq} > ${p}`, afterSeq);
    if (options.types?.length) {
      const exact = options.types.filter((t) => !/[*?]/.test(t));
      const globs = options.types.filter((t) => /[*?]/.test(t));
      const parts = [];
      if (exact.length) parts.push(`e.type = ANY(${w.param(exact)})`);
      for (const g of globs) parts.push(`e.type LIKE ${w.param(globToLike(g))}`);
      w.clauses.push(`(${parts.join(' OR ')})`);
    }
    if (options.since) w.add((p) => `e.at >= ${p}`, options.since);
    if (options.until) w.add((p) => `e.at < ${p}`, options.until);
    if (options.callId !== undefined) w.add((p) => `r.call_id = ${p}`, options.callId);
    if (options.eventId !== undefined) w.add((p) => `r.event_seq = (SELECT seq FROM entries WHERE dedupe_key = ${p})`, eventKey(options.eventId));
    const joins = options.facts ? '' : JOINS;
    const from = about ? `p_call_entries r JOIN entries e ON e.seq = r.seq ${joins}` : `entries e ${joins}`;
    const limit = options.limit === undefined ? '' : `LIMIT ${w.param(options.limit)}`;
    if (options.facts) {
      // the facts alone (`ReadOptions.facts`): no payload read or decrypted
      const facts = await this.pool.query<SealedRow>(`SELECT ${PG_FACT_COLUMNS} FROM ${from} ${w.sql} ORDER BY ${seq} ${limit}`, w.values);
      return facts.rows.map((row) => this.sealer.sealing.factsOf(row, options.hashes));
    }
    return this.rows(`SELECT ${COLUMNS} FROM ${from} ${w.sql} ORDER BY ${seq} ${limit}`, w.values, options.hashes);
  }

  async lastOfType<T extends EntryType>(type: T): Promise<EntryOf<T> | undefined> {
    const rows = await this.rows(`SELECT ${COLUMNS} FROM entries e ${JOINS} WHERE e.type = $1 ORDER BY e.seq DESC LIMIT 1`, [type]);
    return rows[0] as EntryOf<T> | undefined;
  }

  async checkpoint(name: string): Promise<number> {
    return (await this.pool.query<{ seq: number }>(`SELECT seq FROM p_checkpoints WHERE name = $1`, [name])).rows[0]?.seq ?? 0;
  }

  async eventBody(eventId: string): Promise<string | null> {
    const [event] = await this.rows(`SELECT ${COLUMNS} FROM entries e ${JOINS} WHERE e.dedupe_key = $1`, [eventKey(eventId)]);
    return event ? (event as EntryOf<'event.received'>).data.body : null;
  }

  async events(f: EventFilter): Promise<EntryOf<'event.received'>[]> {
    const w = new Where();
    w.clauses.push(`e.type = 'event.received'`);
    w.add((p) => `e.seq > ${p}`, f.afterSeq);
    w.add((p) => `e.seq <= ${p}`, f.throughSeq);
    if (f.since !== undefined) w.add((p) => `e.at >= ${p}`, f.since);
    if (f.until !== undefined) w.add((p) => `e.at < ${p}`, f.until);
    if (f.eventType !== undefined) w.add((p) => `e.data ->> 'event_type' LIKE ${p}`, globToLike(f.eventType));
    return (await this.rows(`SELECT ${COLUMNS} FROM entries e ${JOINS} ${w.sql} ORDER BY e.seq LIMIT ${w.param(f.limit)}`, w.values)) as EntryOf<'event.received'>[];
  }

  async plannedAlready(deliveryIds: readonly string[]): Promise<Set<string>> {
    if (deliveryIds.length === 0) return new Set();
    const rows = await this.pool.query<{ key: string }>(`SELECT dedupe_key AS key FROM entries WHERE dedupe_key = ANY($1)`, [deliveryIds.map(deliveryKey)]);
    const found = new Set(rows.rows.map((r) => r.key));
    return new Set(deliveryIds.filter((id) => found.has(deliveryKey(id))));
  }

  async deliveryOrigins(deliveryIds: readonly string[]): Promise<Map<string, DeliveryOrigin>> {
    const found = new Map<string, DeliveryOrigin>();
    if (deliveryIds.length === 0) return found;
    const rows = await this.pool.query<DeliveryOrigin & { from_type: string | null }>(
      `SELECT p.data ->> 'delivery_id' AS delivery_id, p.data ->> 'rule_id' AS rule_id, p.data ->> 'sink' AS sink,
         p.data ->> 'event_id' AS event_id, p.data ->> 'event_type' AS event_type,
         coalesce(p.data ->> 'call_id', CASE e.type WHEN 'event.received' THEN e.data ->> 'call_id' END) AS call_id, e.type AS from_type
       FROM entries p LEFT JOIN entries e
         ON e.seq = CASE WHEN p.data ->> 'event_seq' ~ '^[0-9]{1,18}$' THEN (p.data ->> 'event_seq')::bigint END
       WHERE p.dedupe_key = ANY($1)`,
      [[...new Set(deliveryIds)].map(deliveryKey)],
    );
    for (const r of rows.rows) {
      const { from_type, ...origin } = r;
      found.set(r.delivery_id, { ...origin, from_operator: from_type !== null && from_type !== 'event.received' });
    }
    return found;
  }

  async lastAboutSink<T extends 'sink.paused' | 'pending.stale'>(type: T, sink: string, beforeSeq: number): Promise<EntryOf<T> | undefined> {
    const rows = await this.rows(`SELECT ${COLUMNS} FROM entries e ${JOINS} WHERE e.type = $1 AND e.seq < $2 AND e.data ->> 'sink' = $3 ORDER BY e.seq DESC LIMIT 1`, [type, beforeSeq, sink]);
    return rows[0] as EntryOf<T> | undefined;
  }
}
