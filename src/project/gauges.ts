import { statSync } from 'node:fs';
import { OLDEST_ANY_SQL } from './sink-reads.js';
import { OPEN_SQL, REDRIVABLE_DEAD_SQL } from '../delivery/lifecycle.js';
import type { Database } from 'better-sqlite3';
import { Gauge, type Registry } from 'prom-client';
import { dbFileOf } from '../log/db-files.js';
import { walPathOf } from '../log/sqlite/wal-guard.js';
import { ROUTED_TYPES } from '../log/types.js';

/** What the state gauges read at each scrape, from any engine. */
export interface GaugeSource {
  /** Deliveries pending, retrying and dead (not those of an erased call: `REDRIVABLE_DEAD_SQL`), counted by sink and status. */
  bySink(): Promise<{ sink: string; status: string; n: number }[]> | { sink: string; status: string; n: number }[];
  /** `planned_at` of the oldest open delivery, or null. */
  oldestOpenAt(): Promise<string | null> | string | null;
  /** Bytes the log takes on disk. */
  sizeBytes(): Promise<number> | number;
  /** What the router has not routed yet (`UNROUTED_SQL`). */
  unrouted(): Promise<Unrouted> | Unrouted;
}

/** The entries the router has not routed yet: those of a routed type after its checkpoint. */
export interface Unrouted {
  /** How many, counted up to `UNROUTED_COUNTED`. */
  entries: number;
  /** When the oldest of them was appended (its `at`), or null when there are none. */
  oldest_at: string | null;
}

/** Unrouted entries are counted up to this many, so a read costs the same on a log of any size. */
export const UNROUTED_COUNTED = 100_000;

/**
 * `Unrouted` in one statement, the same on both engines: the entries of a routed type (HuskyVoice
 * events and operator events, `ROUTED_TYPES`) after the router's checkpoint, by the
 * `entries_type_seq` index. A healthy router keeps it at 0 within a fraction of a second; it
 * grows while no rules are loaded (nothing routes), or when the router fails on every try
 * (its error line says why) — events are then logged, answered 200, and never delivered.
 */
export const UNROUTED_SQL = `SELECT CAST(count(*) AS integer) AS entries, min(at) AS oldest_at FROM (
  SELECT at FROM entries WHERE type IN (${ROUTED_TYPES.map((t) => `'${t}'`).join(', ')})
    AND seq > coalesce((SELECT seq FROM p_checkpoints WHERE name = 'router'), 0) LIMIT ${UNROUTED_COUNTED}) unrouted`;

/** The SQL of `GaugeSource.bySink` and `oldestOpenAt` on SQLite (PostgreSQL: the same, `OLDEST_ANY_SQL('postgres')`). */
export const GAUGE_SQL = {
  bySink: `SELECT sink, status, count(*) AS n FROM p_deliveries WHERE status IN ${OPEN_SQL} OR ${REDRIVABLE_DEAD_SQL} GROUP BY sink, status`,
  oldest: OLDEST_ANY_SQL('sqlite'),
};

/**
 * Gauges read from the projections when Prometheus scrapes, so they cost nothing between
 * scrapes and can never drift from what `status` says.
 */
export function registerStateGauges(registry: Registry, db: Database, dbPath: string, now: () => number = Date.now): void {
  const bySink = db.prepare(GAUGE_SQL.bySink);
  const oldest = db.prepare(GAUGE_SQL.oldest);
  const unrouted = db.prepare(UNROUTED_SQL);
  registerGauges(
    registry,
    {
      bySink: () => bySink.all() as { sink: string; status: string; n: number }[],
      oldestOpenAt: () => (oldest.get() as { at: string | null }).at,
      sizeBytes: sqliteSizeOf(dbPath),
      unrouted: () => unrouted.get() as Unrouted,
    },
    now,
  );
}

/**
 * What reads the bytes the open SQLite log at `dbPath` takes on disk, at each call: its database
 * file and its WAL (a missing file counts 0). Both are found here, once, as SQLite found them
 * when it opened the log (a symlinked `--db` followed): make one per open log, not per scrape,
 * and it keeps measuring the files the relay writes even if the link is pointed elsewhere later.
 */
export function sqliteSizeOf(dbPath: string): () => number {
  const file = dbFileOf(dbPath);
  const wal = walPathOf(file);
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return () => size(file) + size(wal);
}

/** The state gauges over any engine's `source`. */
export function registerGauges(registry: Registry, source: GaugeSource, now: () => number = Date.now): void {
  new Gauge({
    name: 'husky_relay_deliveries_open',
    help: 'Deliveries waiting, by sink and status (pending, retrying)',
    labelNames: ['sink', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await source.bySink()) if (r.status !== 'dead') this.set({ sink: r.sink, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'husky_relay_deliveries_dead',
    // a dead letter of an erased call (closed by the erasure, or dead before or since it) is not
    // counted: nothing can re-drive it, so an alert on this gauge would never clear (README "Erasure")
    help: 'Dead deliveries, by sink (re-drive with `husky-relay retry --dead`); those of an erased call are not counted',
    labelNames: ['sink'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await source.bySink()) if (r.status === 'dead') this.set({ sink: r.sink }, r.n);
    },
  });
  new Gauge({
    name: 'husky_relay_oldest_pending_age_seconds',
    help: 'Age of the oldest delivery still pending or retrying (0 when none)',
    registers: [registry],
    async collect() {
      const at = await source.oldestOpenAt();
      this.set(at ? Math.max(0, (now() - Date.parse(at)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'husky_relay_unrouted_age_seconds',
    help: 'Age of the oldest event (or operator event) the router has not routed yet (0 when none): above a few seconds, nothing is being planned (no rules loaded, or the router fails: see its error lines)',
    registers: [registry],
    async collect() {
      const { oldest_at: at } = await source.unrouted();
      this.set(at ? Math.max(0, (now() - Date.parse(at)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'husky_relay_log_size_bytes',
    help: 'Size of the log on disk (SQLite: the database file and its WAL; PostgreSQL: the entries table and its indexes)',
    registers: [registry],
    async collect() {
      this.set(await source.sizeBytes());
    },
  });
}
