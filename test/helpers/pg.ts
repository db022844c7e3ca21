import { afterEach, beforeEach } from 'vitest';
import { PgStore, type PgStoreOptions } from '../../src/log/pg/pg-store.js';
import { freshDatabase, runSql, THROWAWAY_MASTER_KEY } from '../../testing/pg.js';

/** The machine's PostgreSQL (every development and CI machine runs one: README "How it is built"). */
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The master key of every PostgreSQL log a test makes (see `THROWAWAY_MASTER_KEY`). */
export const TEST_MASTER_KEY = THROWAWAY_MASTER_KEY;

/** A fresh, empty database `hr_test_<random>` and how to drop it. */
export function freshPgDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  return freshDatabase(PG_ADMIN_URL, 'hr_test');
}

/** Runs `sql` on a connection of its own (another process's, as far as the relay can tell). */
export const pgQuery = runSql;

/**
 * A fresh database for each test of the calling `describe` (dropped after it), and `open` for
 * stores on it, each closed after the test: relays, as far as the database can tell.
 */
export function usePgDatabase() {
  let db: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  const stores: PgStore[] = [];
  beforeEach(async () => {
    db = await freshPgDatabase();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await db?.drop();
  });
  return {
    get db() {
      return db!;
    },
    async open(options?: PgStoreOptions): Promise<PgStore> {
      const store = await PgStore.open(db!.url, { masterKeys: TEST_MASTER_KEY, ...options });
      stores.push(store);
      return store;
    },
  };
}
