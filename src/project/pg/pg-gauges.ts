import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { GAUGE_SQL, registerGauges, UNROUTED_SQL, type Unrouted } from '../gauges.js';
import { OLDEST_ANY_SQL } from '../sink-reads.js';

/** The state gauges of `project/gauges.ts`, read from a PostgreSQL log's projections at each scrape. */
export function registerPgGauges(registry: Registry, pool: Pool, now: () => number = Date.now): void {
  registerGauges(
    registry,
    {
      bySink: async () => (await pool.query<{ sink: string; status: string; n: number }>(GAUGE_SQL.bySink)).rows,
      oldestOpenAt: async () => (await pool.query<{ at: string | null }>(OLDEST_ANY_SQL('postgres'))).rows[0]!.at,
      unrouted: async () => (await pool.query<Unrouted>(UNROUTED_SQL)).rows[0]!,
      sizeBytes: async () => (await pool.query<{ n: number }>(`SELECT pg_total_relation_size('entries') AS n`)).rows[0]!.n,
    },
    now,
  );
}
