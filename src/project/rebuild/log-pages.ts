import Database from 'better-sqlite3';
import type { Entry } from '../../log/types.js';
import { DEFAULTS } from '../../config/defaults.js';
import { spawnWorker } from '../../spawn-worker.js';
import { DamagedEntryError } from '../../log/damaged-entry.js';
import { damagedEntrySeqs } from '../../log/sqlite/damage.js';

/**
 * An entry as the projector needs it, as the JSON text of an `Entry` made by SQLite: the
 * entry's columns around its data. An event's data is read as the three fields projections
 * use (`event_type`, `org_id`, `call_id`, kept beside the body for them), extracted in one pass
 * (cheaper than `json_remove` of the body): the body never becomes a JS string. Other entries
 * are small and their data is copied whole, as stored (SQLite does not parse it).
 */
export const ENTRY_JSON = `'{"seq":' || seq || ',"type":' || json_quote(type) || ',"at":' || json_quote(at) || ',"data":' ||
  CASE type WHEN 'event.received' THEN json_object('event_type', json_extract(data, '$.event_type'),
    'org_id', json_extract(data, '$.org_id'), 'call_id', json_extract(data, '$.call_id')) ELSE data END || '}'`;

/** One page of the log: the JSON text of an array of `Entry` (`ENTRY_JSON`), and the seqs of its first and last entries. */
export interface LogPage {
  json: string;
  first: number;
  last: number;
}

/** What the reading thread starts with. */
export interface PagesInit {
  path: string;
  pageRows: number;
  /** `Int32Array` slot 0: pages it may read ahead of those taken; slot 1 set: stop. */
  control: SharedArrayBuffer;
}

/** From the reading thread: its snapshot's last seq first, then each page, then done; or the error that stopped it (SQLite's message and code). */
export type PagesMessage = { total: number } | { page: LogPage } | { done: true } | { error: string; code?: string };

/**
 * Reads the log of `db` (a read-only connection) in pages of `pageRows` entries, in one read
 * snapshot: `total` is the last seq of that snapshot, then each `page()` is the next page
 * (undefined after the last), and `end()` ends the snapshot.
 */
export function pageReader(db: Database.Database, pageRows: number) {
  db.pragma(`busy_timeout = ${DEFAULTS.log.busyTimeoutMs}`);
  db.pragma('cache_size = -2048'); // one pass, in order: a cache would only hold what is done
  db.exec('BEGIN'); // one snapshot: the total and the rows agree
  const total = (db.prepare(`SELECT max(seq) FROM entries`).pluck().get() as number | null) ?? 0;
  // pages of rows (`.all()`), not a row at a time (`.iterate()`): a call into SQLite and an
  // iterator result per row cost about a fifth of the reading
  const page = db.prepare(`SELECT seq, ${ENTRY_JSON} FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`).raw();
  let after = Number.MIN_SAFE_INTEGER;
  let ended = total === 0;
  return {
    total,
    page(): LogPage | undefined {
      if (ended) return undefined;
      const rows = page.all(after, total, pageRows) as [number, string][];
      ended = rows.length < pageRows;
      if (rows.length === 0) return undefined;
      after = rows[rows.length - 1]![0];
      let json = '[';
      for (let i = 0; i < rows.length; i++) json += (i === 0 ? '' : ',') + rows[i]![1];
      return { json: json + ']', first: rows[0]![0], last: after };
    },
    end: () => db.exec('COMMIT'),
  };
}

/** The log's pages for a rebuild, in order, and the last seq they end at. */
export interface LogPages {
  total: number;
  /** The next page's entries; undefined after the last. */
  next(): Promise<Entry[] | undefined>;
  /** Gives up (an error, Ctrl-C), or ends after the last page: the reading stops and its connection is closed. Idempotent. */
  close(): void;
}

/**
 * The log at `path`, in pages of `DEFAULTS.rebuild.readRows` entries, from a read-only
 * connection of its own, in one read snapshot. From `DEFAULTS.rebuild.readAsideEntries` entries
 * on (`entries`: about how many there are) the pages are read on a thread of their own, a few
 * ahead of the fold, so that SQLite's reading runs on the other core and the fold only parses
 * each page's JSON (one `JSON.parse` per page, cheaper than one per entry); below it, starting
 * the thread costs more than it saves. A read error (a damaged log) is thrown by `next()` as
 * SQLite's error (its message and code).
 */
export async function openLogPages(path: string, entries: number): Promise<LogPages> {
  const pageRows = DEFAULTS.rebuild.readRows;
  if (entries >= DEFAULTS.rebuild.readAsideEntries) return pagesAside(path, Math.min(pageRows, ASIDE_PAGE_ROWS));
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const reader = pageReader(db, pageRows);
    return {
      total: reader.total,
      next: async () => {
        const page = reader.page();
        return page && parsePage(page, (from, to) => damagedEntrySeqs(db, undefined, from, to));
      },
      close: () => db.open && db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The entries of `page`. Data other than an event's is copied into the page as stored, so one
 * entry whose data is not JSON (a damaged entry) spoils the page's JSON: then the entries of its
 * seq range that are damaged (`damagedIn`, on this failure path only) are named in a
 * `DamagedEntryError`; none found, the parse's own error is thrown.
 */
export function parsePage(page: LogPage, damagedIn: (from: number, to: number) => number[]): Entry[] {
  try {
    return JSON.parse(page.json) as Entry[];
  } catch (error) {
    const seqs = damagedIn(page.first, page.last);
    if (seqs.length === 0) throw error;
    throw new DamagedEntryError(seqs, 'its data is not valid JSON');
  }
}

/** One entry of the log from its `ENTRY_JSON` text (catch-up reads them one by one): `parsePage` of a page of one, so damage is named by its seq. */
export function parseEntry(seq: number, json: string): Entry {
  return parsePage({ json: `[${json}]`, first: seq, last: seq }, () => [seq])[0]!;
}

/** `damagedEntrySeqs` of seqs `from`…`to` of the log at `path`, on a read-only connection of its own (the reading thread holds the other). */
function damagedInFile(path: string, from: number, to: number): number[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return damagedEntrySeqs(db, undefined, from, to);
  } finally {
    db.close();
  }
}

/**
 * Entries per page sent by the reading thread: some 100 KB of JSON, under V8's large-object
 * size, so that each thread's young generation takes a page's string back at once; a page of
 * 2,000 entries (500 KB) would wait for a full collection, some 40 MB more peak RSS.
 */
const ASIDE_PAGE_ROWS = 400;
/** Pages read ahead of the fold by the reading thread. */
const READ_AHEAD = 16;
/**
 * The reading thread's young generation: it only makes one string per page, and Node's default
 * (some 48 MB) would count in the rebuild's peak RSS for nothing.
 */
const YOUNG_GENERATION_MB = 4;

/** `openLogPages` on a worker thread (`read-worker.ts`). */
async function pagesAside(path: string, pageRows: number): Promise<LogPages> {
  const slots = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(slots, 0, READ_AHEAD);
  const init: PagesInit = { path, pageRows, control: slots.buffer as SharedArrayBuffer };
  const worker = spawnWorker(new URL('./read-worker.js', import.meta.url), init, [], { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB });
  worker.unref(); // told to stop, it ends on its own: it never keeps the process alive
  const queue: (LogPage | Error | null)[] = [];
  let wake: (() => void) | undefined;
  const push = (item: LogPage | Error | null) => {
    queue.push(item);
    wake?.();
    wake = undefined;
  };
  let started: { resolve: (total: number) => void; reject: (error: Error) => void } | undefined;
  const total = new Promise<number>((resolve, reject) => (started = { resolve, reject }));
  const fail = (error: Error) => (started?.reject(error), push(error));
  worker.on('message', (m: PagesMessage) => {
    if ('total' in m) started?.resolve(m.total);
    else if ('page' in m) push(m.page);
    else if ('done' in m) push(null);
    else fail(Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code }));
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the thread reading the log ended before its last page')));
  const close = () => {
    Atomics.store(slots, 1, 1);
    Atomics.notify(slots, 0);
  };
  let ended = false;
  try {
    return {
      total: await total,
      async next() {
        if (ended) return undefined;
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const item = queue.shift()!;
        if (item instanceof Error) throw item;
        if (item === null) return void (ended = true);
        Atomics.add(slots, 0, 1); // one more page may be read ahead
        Atomics.notify(slots, 0);
        return parsePage(item, (from, to) => damagedInFile(path, from, to));
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
