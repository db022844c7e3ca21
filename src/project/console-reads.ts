import type { Database, Statement } from 'better-sqlite3';
import { ERASED } from '../privacy/payload.js';
import { COLUMN_OF, DELIVERY_READ_COLUMNS, deliveryReadOf, type DeliveryRead, type DeliveryRow } from './queries.js';

/**
 * The console's list reads (README "Console"): pages of events and deliveries, newest first,
 * by keyset (`seq` below the last one shown), and the 24 h activity chart. Every read is
 * bounded whatever the log's size: a page is at most `limit` rows found through an index,
 * and a search that has to look inside events (by event type) looks at most `SCAN_WINDOW`
 * entries per page and says where it stopped, so the next page goes on from there.
 */

/** How many entries one page of a search by event type looks through, at most. */
export const SCAN_WINDOW = 20_000;

/** One `event.received` as the events page lists it. */
export interface EventListRow {
  seq: number;
  /** When it was appended (ISO). */
  at: string;
  event_id: string;
  event_type: string;
  call_id: string | null;
  /** `data.summary` of the envelope, when it has one (shown escaped: it is the caller's text). */
  summary: string | null;
}

/** What the events page searches by; each narrows (AND). */
export interface EventSearch {
  callId?: string;
  eventId?: string;
  /** The envelope's `event_type`, exactly. */
  eventType?: string;
  /** Appended at or after this ISO instant. */
  since?: string;
  /** Appended before this ISO instant. */
  until?: string;
  /** Only entries with a lower seq (the page before). */
  before?: number;
  /** At most this many. (Default: 50) */
  limit?: number;
}

/** A page: its rows, and the `before` of the next page (null when there is none). */
export interface Page<T> {
  rows: T[];
  next: number | null;
}

/** The deliveries page's filters (as `deliveries`), and the keyset cursor. */
export interface DeliverySearch {
  status?: string;
  sink?: string;
  rule?: string;
  event?: string;
  call?: string;
  before?: number;
  /** At most this many. (Default: 50) */
  limit?: number;
}

/** Events received and delivery attempts per minute, oldest first; `minutes` are epoch seconds. */
export interface Activity {
  minutes: number[];
  events: number[];
  attempts: number[];
}

// the summary is in the body, a sealed payload: read through `bodyOf` for the rows of a page only
const EVENT_COLUMNS = `e.seq, e.at, e.data ->> '$.event_id' AS event_id, e.data ->> '$.event_type' AS event_type,
  e.data ->> '$.call_id' AS call_id`;

/** `data.summary` of an event's body when it is a string, `[erased]` once its call was erased; null otherwise. */
export function summaryOf(body: string | null): string | null {
  if (!body) return null;
  if (body === ERASED) return ERASED;
  try {
    const summary = (JSON.parse(body) as { data?: { summary?: unknown } }).data?.summary;
    return typeof summary === 'string' ? summary : null;
  } catch {
    return null;
  }
}

const DELIVERY_COLUMNS = `seq, ${DELIVERY_READ_COLUMNS}`;

/** The statements of the console's reads, prepared once per connection. */
export class ConsoleReads {
  private readonly firstAt: Statement;
  private readonly lastSeq: Statement;
  private readonly countType: Statement;

  constructor(
    private readonly db: Database,
    private readonly bodyOf: (eventId: string) => string | null,
  ) {
    this.firstAt = db.prepare(`SELECT seq, at FROM entries WHERE seq >= ? ORDER BY seq LIMIT 1`);
    this.lastSeq = db.prepare(`SELECT coalesce(max(seq), 0) FROM entries`).pluck();
    this.countType = db.prepare(`SELECT count(*) FROM entries WHERE type = ? AND seq >= ? AND seq < ?`).pluck();
  }

  /**
   * The first seq appended at or after `iso` (the log's last seq + 1 when none was): a binary
   * search over the primary key, as entries are appended in time order.
   */
  seqAt(iso: string, lo = 1, hi = (this.lastSeq.get() as number) + 1): number {
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.firstAt.get(mid) as { seq: number; at: string } | undefined;
      if (!row) hi = mid;
      else if (row.at < iso) lo = row.seq + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A page of events, newest first (see `EventSearch`), each with its summary. */
  events(search: EventSearch): Page<EventListRow> {
    const page = this.eventRows(search);
    for (const row of page.rows) row.summary = summaryOf(this.bodyOf(row.event_id));
    return page;
  }

  private eventRows(search: EventSearch): Page<EventListRow> {
    const limit = search.limit ?? 50;
    const top = Math.min(search.before ?? Infinity, search.until ? this.seqAt(search.until) : Infinity, (this.lastSeq.get() as number) + 1);
    const floor = search.since ? this.seqAt(search.since) : 1;
    if (search.eventId !== undefined) {
      const row = this.db
        .prepare(`SELECT ${EVENT_COLUMNS} FROM entries e WHERE e.dedupe_key = ? AND e.seq < ? AND e.seq >= ?`)
        .get(`event:${search.eventId}`, top, floor) as EventListRow | undefined;
      const rows = row && matches(row, search) ? [row] : [];
      return { rows, next: null };
    }
    if (search.callId !== undefined) {
      const rows = this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM p_call_entries c JOIN entries e ON e.seq = c.seq
           WHERE c.call_id = ? AND c.seq = c.event_seq AND c.seq < ? AND c.seq >= ? ORDER BY c.seq DESC LIMIT ?`,
        )
        .all(search.callId, top, floor, limit + 1) as EventListRow[];
      return paged(rows.filter((r) => matches(r, search)), limit);
    }
    // by event type (inside the data): look through one window of entries at most
    const bottom = search.eventType === undefined ? floor : Math.max(floor, top - SCAN_WINDOW);
    const rows = this.db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM entries e WHERE e.type = 'event.received' AND e.seq < ? AND e.seq >= ?
         ${search.eventType === undefined ? '' : `AND e.data ->> '$.event_type' = ?`} ORDER BY e.seq DESC LIMIT ?`,
      )
      .all(...[top, bottom, ...(search.eventType === undefined ? [] : [search.eventType]), limit + 1]) as EventListRow[];
    const page = paged(rows, limit);
    if (page.next === null && bottom > floor) return { rows: page.rows, next: bottom };
    return page;
  }

  /** A page of deliveries, newest first (see `DeliverySearch`), through the index of a filter. */
  deliveries(search: DeliverySearch): Page<DeliveryRead & { seq: number }> {
    const limit = search.limit ?? 50;
    const where = ['seq < ?'];
    const params: unknown[] = [search.before ?? Number.MAX_SAFE_INTEGER];
    for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
      if (search[key] === undefined) continue;
      where.push(`${column} = ?`);
      params.push(search[key]);
    }
    const rows = this.db
      .prepare(`SELECT ${DELIVERY_COLUMNS} FROM p_deliveries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
      .all(...params, limit + 1) as (Omit<DeliveryRow, 'last_error'> & { seq: number; last_error: string | null; call_erased: number })[];
    return paged(rows.map(deliveryReadOf), limit);
  }

  /**
   * Events received and delivery attempts per minute from `from` (ISO, on a minute) for
   * `count` minutes: one binary search per minute for its first seq, then a count over the
   * (type, seq) index between two of them. Nothing scans the entries' data.
   */
  activity(from: string, count: number): Activity {
    const start = Date.parse(from);
    const last = (this.lastSeq.get() as number) + 1;
    const bounds: number[] = [];
    let lo = this.seqAt(from);
    let gap = 32;
    for (let i = 0; i <= count; i++) {
      const next = this.gallop(new Date(start + i * 60_000).toISOString(), lo, last, gap);
      gap = Math.max(32, 2 * (next - lo));
      bounds.push((lo = next));
    }
    const activity: Activity = { minutes: [], events: [], attempts: [] };
    for (let i = 0; i < count; i++) {
      activity.minutes.push((start + i * 60_000) / 1000);
      const [a, b] = [bounds[i]!, bounds[i + 1]!];
      activity.events.push(a === b ? 0 : (this.countType.get('event.received', a, b) as number));
      activity.attempts.push(a === b ? 0 : (this.countType.get('delivery.attempted', a, b) as number));
    }
    return activity;
  }

  /**
   * `seqAt(iso)` knowing it is at least `lo` and probably within `guess` of it (minutes of
   * steady traffic hold about as many entries each): doubling steps from `lo`, then a binary
   * search in the last step. A few probes a minute instead of a search of the whole log.
   */
  private gallop(iso: string, lo: number, last: number, guess: number): number {
    let hi = Math.min(lo + guess, last);
    while (hi < last) {
      const row = this.firstAt.get(hi) as { seq: number; at: string } | undefined;
      if (!row || row.at >= iso) break;
      lo = row.seq + 1;
      guess *= 2;
      hi = Math.min(lo + guess, last);
    }
    return this.seqAt(iso, lo, hi);
  }
}

/** Whether an event row fits the search's type and call (the reads that cannot filter on them in SQL). */
export function matches(row: Pick<EventListRow, 'event_type' | 'call_id'>, search: EventSearch): boolean {
  return (search.eventType === undefined || row.event_type === search.eventType) && (search.callId === undefined || row.call_id === search.callId);
}

/** The first `limit` of `rows` (read `limit + 1`), and the keyset cursor of the next page when there is one. */
export function paged<T extends { seq: number }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { rows, next: null };
  const shown = rows.slice(0, limit);
  return { rows: shown, next: shown[shown.length - 1]!.seq };
}
