import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { UserError } from '../errors.js';
import type { ProjectionReader } from '../project/reader.js';
import type { BuildOptions } from '../project/rebuild/scratch.js';
import type { RebuildResult } from '../project/rebuild/rebuild.js';
import type { VerifyResult } from '../project/rebuild/verify.js';
import type { Lease, LogReader, LogWriter, PrivacyLog, SealedRows, ServeWriter } from './seam.js';
import type { CommitStats } from './sqlite/commit-queue.js';
import { isPostgresUrl } from './location.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { LateOpen } from './sqlite/open-running.js';

/**
 * A log and its projections, as one storage engine keeps them: what a command or `serve`
 * opens. `writer` appends directly (one transaction per call); `serve` appends through its
 * group commit instead and uses the rest.
 */
export interface Store {
  readonly log: LogReader;
  readonly writer: LogWriter;
  readonly projections: ProjectionReader;
  /** Erasure, retention and the hash chain (README "Personal data"). */
  readonly privacy: PrivacyLog;
  /** The log's rows as stored, sealed, on an engine `migrate --to` copies from (SQLite). */
  readonly sealedRows?: SealedRows;
  /**
   * Whether this engine's direct writes (`writer.append`, `privacy.erase`) heed
   * `OpenStoreOptions.interrupt`: true on SQLite, where a write not begun, or waiting for another
   * process's write lock, when it aborts throws `WriteInterruptedError` and makes nothing; false on
   * PostgreSQL, whose waits are the server's (they hold no thread, and the server rolls back what a
   * process it loses had not committed), so the signal changes nothing there. What a command asks
   * before it gives Ctrl-C back to Node (`writeUnlessInterrupted`).
   */
  readonly writesHeedInterrupt: boolean;
  /** Registers the gauges read from the projections at each scrape (open and dead deliveries, oldest pending, size). */
  registerGauges(registry: Registry, now?: () => number): void;
  /** `replay --rebuild`: every projection recomputed from the log and swapped in at once. */
  rebuild(options?: BuildOptions): Promise<RebuildResult>;
  /** `replay --verify`: the projections compared row by row with a rebuild, read-only. */
  verify(options?: BuildOptions & { limit?: number }): Promise<VerifyResult>;
  /** `serve`'s group commit on this log; `onCommit` is told of each commit (metrics). */
  serveWriter(onCommit: (stats: CommitStats) => void): ServeWriter;
  /**
   * The reads `serve` makes for the console, its live updates and the state gauges (README
   * "Console"). SQLite: on a read thread of their own (`read-thread.ts`), so a heavy page never
   * delays a webhook's ack; PostgreSQL: this store's own reads, which wait on the network, not
   * the event loop. Commands read through `log` and `projections` directly.
   */
  serveReads(options?: ServeReadsOptions): ServeReads;
  /**
   * The lease of work only one `serve` may do at a time, on engines where several share a log
   * (PostgreSQL); undefined where one `serve` holds the log alone (SQLite: see `serve-lock.ts`).
   */
  lease?(name: string, holder: string): Lease;
  close(): Promise<void>;
}

/** What `Store.serveReads` gives: the same read interfaces as the store's, and their gauges. */
export interface ServeReads {
  readonly log: LogReader;
  readonly projections: ProjectionReader;
  /** Registers the state gauges (as `Store.registerGauges`), read through these reads at each scrape. */
  registerGauges(registry: Registry, now?: () => number): void;
  /** Refuses reads from now on and ends what runs them (a read thread); the store stays open. */
  close(): Promise<void>;
}

/** Bounds of `serve`'s read thread (SQLite only; PostgreSQL ignores them). */
export interface ServeReadsOptions {
  /** Reads outstanding at most; more answer `ReadsUnavailableError`. (Default: `DEFAULTS.console.maxQueuedReads`, 64) */
  maxQueued?: number;
  /** A read not answered within this many ms is refused and its thread started again. (Default: `DEFAULTS.console.readTimeoutMs`, 30 s) */
  timeoutMs?: number;
  /** Told when the read thread dies or a read runs past its limit. */
  logger?: Logger;
  /** Test hook: holds reads on the read thread while set (`ReaderInit.gate`). */
  gate?: SharedArrayBuffer;
}

/** `serveReads` of a store whose reads never block the event loop: the store's own. */
export function directReads(store: Store): ServeReads {
  return {
    log: store.log,
    projections: store.projections,
    registerGauges: (registry, now) => store.registerGauges(registry, now),
    close: async () => {},
  };
}

export interface OpenStoreOptions {
  /** A command that reads or appends: refuse a log that does not exist yet instead of creating it. */
  mustExist?: boolean;
  /** How long a write waits for another process's lock. (Default: `DEFAULTS.log.busyTimeoutMs`) */
  busyTimeoutMs?: number;
  /** The clock that stamps `at` on direct appends. Tests inject one. */
  now?: () => Date;
  /** A throwaway log (a benchmark's seed): commits return before the disk has them. Never for a real log. */
  unsynced?: boolean;
  /** `HUSKY_RELAY_MASTER_KEY` as set (README "Personal data"); unset: the `master-key` file beside the database. */
  masterKeys?: string;
  /**
   * `serve`: refuse, at open, a keyring that cannot open the log's data keys (`checkKeyring`), so a
   * relay given a new key without the old one never starts taking events it cannot seal. Readers
   * need not: each read names the missing key.
   */
  checkKeys?: boolean;
  /**
   * SQLite, a thread of `serve` opening the log after its writer started (the pipeline thread):
   * opened on the WAL file the writer watches, or not at all (see `OpenLogOptions.lateOpen`).
   */
  lateOpen?: LateOpen;
  /**
   * A command's Ctrl-C (`commands/interrupt.ts`). SQLite: a direct write (`writer.append`,
   * `privacy.erase`) not begun when it aborts is not begun, and one waiting for another process's
   * write lock stops waiting: either throws `WriteInterruptedError`, nothing of that write made
   * (see `writeWhenFree`). PostgreSQL: not heeded (its waits are the server's; they hold no thread).
   * `Store.writesHeedInterrupt` says which.
   * (Default: none: a write waits out the busy timeout)
   */
  interrupt?: AbortSignal;
}

/**
 * Opens the log at `location`: a PostgreSQL database for `postgres://…` (SPEC §13), else a
 * SQLite file path (SQLite is the default engine). Throws `UserError` when `mustExist` and there
 * is no log there, and the open errors of the engine (an unusable file, an unreachable
 * database, is a user error naming it).
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<Store> {
  // loaded only for PostgreSQL: a SQLite command does not pay for the driver
  if (isPostgresUrl(location)) return (await import('./pg/pg-store.js')).PgStore.open(location, options);
  if (options.mustExist && !existsSync(location)) {
    throw new UserError(`no log at ${location}: start \`husky-relay serve\` first, or point --db (HUSKY_RELAY_DB) at it`);
  }
  return new SqliteStore(location, options);
}

/** What `copyLog` copied (see `importLog`). */
export interface CopyResult {
  entries: number;
  last_seq: number;
  seconds: number;
}

/**
 * `migrate --to URL` (SPEC §13): copies the log of `source` into the empty PostgreSQL database
 * at `to` (its schema made first), every entry as stored, sealed (see `importLog`), and the
 * checkpoints named (the router's), and projects it there, in one transaction. `masterKeys`:
 * `HUSKY_RELAY_MASTER_KEY`, which a PostgreSQL log requires. Throws `UserError` when `to` is not a
 * `postgres://` URL or already holds a log, or `masterKeys` is unset. `signal` (Ctrl-C) stops the
 * copy before its commit (see `importLog`): nothing is copied. `onProgress` never reports the
 * full count before the commit: a bar stopped before then does not read as finished.
 */
export async function copyLog(
  source: Store,
  to: string,
  checkpointNames: string[],
  onProgress?: (done: number, total: number) => void,
  masterKeys?: string,
  signal?: AbortSignal,
): Promise<CopyResult> {
  if (!isPostgresUrl(to)) throw new UserError(`migrate --to: "${to}" is not a PostgreSQL URL (postgres://USER@HOST/DB)`);
  const [{ PgStore }, { importLog }] = await Promise.all([import('./pg/pg-store.js'), import('./pg/pg-import.js')]);
  const rows = source.sealedRows;
  if (!rows) throw new UserError('migrate: the source log cannot be copied as stored (migrate copies a SQLite log)');
  // entries, what the import counts: the SQLite log has no gap, but starts later once retention removed its oldest
  const first = (await source.log.read(0, { limit: 1, facts: true }))[0]?.seq ?? 1;
  const total = Math.max(0, (await source.log.lastSeq()) - first + 1);
  const target = await PgStore.open(to, { masterKeys });
  try {
    const checkpoints = [];
    for (const name of checkpointNames) {
      const seq = await source.log.checkpoint(name);
      if (seq > 0) checkpoints.push({ name, seq });
    }
    const copied = await importLog(target, rows, checkpoints, (done) => done < total && onProgress?.(done, total), signal);
    onProgress?.(copied.entries, copied.entries);
    return copied;
  } finally {
    await target.close();
  }
}

