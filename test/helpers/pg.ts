import { freshDatabase, runSql } from '../../testing/pg.js';

/** The machine's PostgreSQL (every development and CI machine runs one: README "How it is built"). */
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database `hr_test_<random>` and how to drop it. */
export function freshPgDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  return freshDatabase(PG_ADMIN_URL, 'hr_test');
}

/** Runs `sql` on a connection of its own (another process's, as far as the relay can tell). */
export const pgQuery = runSql;
