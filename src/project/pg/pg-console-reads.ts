import type { Pool } from 'pg';
import type { Activity, DeliverySearch, EventListRow, EventSearch, Page } from '../console-reads.js';
import { matches, paged, SCAN_WINDOW, summaryOf } from '../console-reads.js';
import { COLUMN_OF, DELIVERY_READ_COLUMNS, deliveryReadOf, type DeliveryRead, type DeliveryRow } from '../queries.js';
import { PG_ENTRY_COLUMNS, PG_ENTRY_JOINS, type PgSealer } from '../../log/pg/pg-sealed.js';
import type { EntryOf } from '../../log/seam.js';

/**
 * The console's list reads (README "Console") on a PostgreSQL log: the same pages as
 * `console-reads.ts` (newest first, keyset by `seq`, a search by event type bounded to
 * `SCAN_WINDOW` entries a page), in PostgreSQL's dialect. Entries are appended in time order,
 * so "appended at or after" an instant is a seq found by binary search over the primary key.
 */

/** Events with their payloads, to open in JS (`PgSealer.entries`): `e.data` is read by PostgreSQL for its facts only. */
const EVENTS = `SELECT ${PG_ENTRY_COLUMNS} FROM entries e ${PG_ENTRY_JOINS}`;
const DELIVERY_COLUMNS = `seq::float8 AS seq, ${DELIVERY_READ_COLUMNS}`;


/** An event row as read, before its summary is taken from its body. */
type EventRow = Omit<EventListRow, 'summary'> & { body: string | null };

/** The three console reads of `ProjectionReader` for a PostgreSQL pool. */
export function pgConsoleReads(pool: Pool, sealer: PgSealer) {
  const lastSeq = async () => Number((await pool.query(`SELECT coalesce(max(seq), 0)::float8 AS s FROM entries`)).rows[0].s);

  /** The first seq appended at or after `iso` (last seq + 1 when none was). */
  async function seqAt(iso: string): Promise<number> {
    let lo = 1;
    let hi = (await lastSeq()) + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = (await pool.query(`SELECT seq::float8 AS seq, at FROM entries WHERE seq >= $1 ORDER BY seq LIMIT 1`, [mid])).rows[0] as { seq: number; at: string } | undefined;
      if (!row) hi = mid;
      else if (row.at < iso) lo = row.seq + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The event rows of `sql` (on `EVENTS`), bodies opened or `[erased]`. */
  const eventsOf = async (sql: string, values: unknown[]): Promise<EventRow[]> =>
    ((await sealer.entries(pool, sql, values)) as EntryOf<'event.received'>[]).map((e) => ({
      seq: e.seq,
      at: e.at,
      // null for another entry of the call (its call.erased), as SQLite's `->>` reads it
      event_id: e.data.event_id ?? null,
      event_type: e.data.event_type ?? null,
      call_id: e.data.call_id ?? null,
      body: e.data.body ?? null,
    }));

  const reads = {
    /** The event rows of a search (see `EventSearch`), each with its body. */
    async eventRows(search: EventSearch): Promise<Page<EventRow>> {
      const limit = search.limit ?? 50;
      const top = Math.min(search.before ?? Infinity, search.until ? await seqAt(search.until) : Infinity, (await lastSeq()) + 1);
      const floor = search.since ? await seqAt(search.since) : 1;
      if (search.eventId !== undefined) {
        const rows = await eventsOf(`${EVENTS} WHERE e.dedupe_key = $1 AND e.seq < $2 AND e.seq >= $3`, [`event:${search.eventId}`, top, floor]);
        return { rows: rows.filter((r) => matches(r, search)), next: null };
      }
      if (search.callId !== undefined) {
        const rows = await eventsOf(
          `${EVENTS} WHERE e.seq IN (
             SELECT seq FROM p_call_entries WHERE call_id = $1 AND seq = event_seq AND seq < $2 AND seq >= $3 ORDER BY seq DESC LIMIT $4)
           ORDER BY e.seq DESC`,
          [search.callId, top, floor, limit + 1],
        );
        return paged(rows.filter((r) => matches(r, search)), limit);
      }
      const bottom = search.eventType === undefined ? floor : Math.max(floor, top - SCAN_WINDOW);
      const byType = search.eventType === undefined ? '' : `AND e.data->>'event_type' = $4`;
      const rows = await eventsOf(
        `${EVENTS} WHERE e.type = 'event.received' AND e.seq < $1 AND e.seq >= $2 ${byType} ORDER BY e.seq DESC LIMIT $3`,
        [top, bottom, limit + 1, ...(search.eventType === undefined ? [] : [search.eventType])],
      );
      const page = paged(rows, limit);
      return page.next === null && bottom > floor ? { rows: page.rows, next: bottom } : page;
    },

    async deliveryPage(search: DeliverySearch): Promise<Page<DeliveryRead & { seq: number }>> {
      const limit = search.limit ?? 50;
      const params: unknown[] = [search.before ?? Number.MAX_SAFE_INTEGER];
      const where = ['seq < $1'];
      for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
        if (search[key] === undefined) continue;
        params.push(search[key]);
        where.push(`${column} = $${params.length}`);
      }
      params.push(limit + 1);
      const { rows } = await pool.query(`SELECT ${DELIVERY_COLUMNS} FROM p_deliveries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`, params);
      return paged((rows as (Omit<DeliveryRow, 'last_error'> & { seq: number; last_error: string | null; call_erased: boolean })[]).map(deliveryReadOf), limit);
    },

    /** Counts per minute of the window through the (type, seq) index, from the window's first seq. */
    async activity(from: string, count: number): Promise<Activity> {
      const start = Date.parse(from);
      const first = await seqAt(from);
      const { rows } = await pool.query(
        `SELECT (floor(extract(epoch FROM at::timestamptz) / 60) * 60)::float8 AS minute, type, count(*)::float8 AS n
         FROM entries WHERE type IN ('event.received', 'delivery.attempted') AND seq >= $1 AND at < $2 GROUP BY 1, 2`,
        [first, new Date(start + count * 60_000).toISOString()],
      );
      const activity: Activity = { minutes: [], events: [], attempts: [] };
      for (let i = 0; i < count; i++) {
        activity.minutes.push((start + i * 60_000) / 1000);
        activity.events.push(0);
        activity.attempts.push(0);
      }
      for (const row of rows as { minute: number; type: string; n: number }[]) {
        const i = Math.round((row.minute * 1000 - start) / 60_000);
        if (i < 0 || i >= count) continue;
        (row.type === 'event.received' ? activity.events : activity.attempts)[i] = row.n;
      }
      return activity;
    },
  };
  return {
    deliveryPage: reads.deliveryPage,
    activity: reads.activity,
    /** A page of events, newest first, each with its summary read from its body (`summaryOf`, as on SQLite). */
    async eventPage(search: EventSearch): Promise<Page<EventListRow>> {
      const page = await reads.eventRows(search);
      return { next: page.next, rows: page.rows.map(({ body, ...row }) => ({ ...row, summary: summaryOf(body) })) };
    },
  };
}
