import { statSync } from 'node:fs';
import { OPEN_SQL } from '../delivery/lifecycle.js';
import type { Database } from 'better-sqlite3';
import { Gauge, type Registry } from 'prom-client';

/**
 * Gauges read from the projections when Prometheus scrapes, so they cost nothing between
 * scrapes and can never drift from what `status` says.
 */
export function registerStateGauges(registry: Registry, db: Database, dbPath: string, now: () => number = Date.now): void {
  const bySink = db.prepare(
    `SELECT sink, status, count(*) AS n FROM p_deliveries WHERE status IN ('pending', 'retrying', 'dead') GROUP BY sink, status`,
  );
  const oldest = db.prepare(`SELECT min(planned_at) AS at FROM p_deliveries WHERE status IN ${OPEN_SQL}`);
  const rows = () => bySink.all() as { sink: string; status: string; n: number }[];

  new Gauge({
    name: 'husky_relay_deliveries_open',
    help: 'Deliveries waiting, by sink and status (pending, retrying)',
    labelNames: ['sink', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of rows()) if (r.status !== 'dead') this.set({ sink: r.sink, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'husky_relay_deliveries_dead',
    help: 'Dead deliveries, by sink (re-drive with `husky-relay retry --dead`)',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of rows()) if (r.status === 'dead') this.set({ sink: r.sink }, r.n);
    },
  });
  new Gauge({
    name: 'husky_relay_oldest_pending_age_seconds',
    help: 'Age of the oldest delivery still pending or retrying (0 when none)',
    registers: [registry],
    collect() {
      const at = (oldest.get() as { at: string | null }).at;
      this.set(at ? Math.max(0, (now() - Date.parse(at)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'husky_relay_log_size_bytes',
    help: 'Size of the SQLite log on disk (database file and its WAL)',
    registers: [registry],
    collect() {
      const size = (path: string) => {
        try {
          return statSync(path).size;
        } catch {
          return 0;
        }
      };
      this.set(size(dbPath) + size(`${dbPath}-wal`));
    },
  });
}
