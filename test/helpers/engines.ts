import { afterEach, beforeEach } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore, type OpenStoreOptions, type Store } from '../../src/log/store.js';
import type { Entry, NewEntry } from '../../src/log/types.js';
import { freshPgDatabase, pgQuery, TEST_MASTER_KEY } from './pg.js';
import { isPostgresUrl } from '../../src/log/location.js';
import { tempDir } from './relay.js';

/** The storage engines every contract test runs on (SPEC §13: the whole contract holds on both). */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type EngineName = (typeof ENGINES)[number];

/** A fresh, empty place for a log on one engine. */
export interface EngineFixture {
  /** What `--db` takes: a SQLite path, or a `postgres://` URL. */
  location: string;
  /** Runs a statement on a plain connection of its own, as another program would. Rejects with the engine's error. */
  raw(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function engineFixture(engine: EngineName): Promise<EngineFixture> {
  if (engine === 'postgres') {
    const db = await freshPgDatabase();
    return { location: db.url, raw: async (sql) => void (await pgQuery(db.url, sql)), cleanup: db.drop };
  }
  const temp = tempDir();
  const location = join(temp.dir, 'relay.db');
  return {
    location,
    raw: async (sql) => {
      const db = new Database(location);
      try {
        db.prepare(sql).run();
      } finally {
        db.close();
      }
    },
    cleanup: async () => temp.cleanup(),
  };
}

/**
 * Copies `entries` into `store` as they were appended: one append per run of entries with the
 * same `at`, the store's clock set to it (open the store with `copyClock`'s `now`). With the
 * source written one transaction per `at`, the copy gets the same seqs.
 */
export async function appendAsLogged(store: Store, clock: { at: string }, entries: Entry[]): Promise<void> {
  let run: NewEntry[] = [];
  const flush = async () => {
    if (run.length > 0) await store.writer.append(run);
    run = [];
  };
  for (const { seq: _seq, at, ...entry } of entries) {
    if (at !== clock.at) await flush();
    clock.at = at;
    run.push(entry as NewEntry);
  }
  await flush();
}

/** Opens a store at `location` whose clock reads `clock.at` (see `appendAsLogged`). */
export function openWithClock(location: string, clock: { at: string }, options: OpenStoreOptions = {}): Promise<Store> {
  return openStore(location, { ...engineOptions(location), ...options, now: () => new Date(clock.at) });
}

/** What a store at `location` needs from a test: a PostgreSQL log's master key (`TEST_MASTER_KEY`); nothing for SQLite. */
export function engineOptions(location: string): OpenStoreOptions {
  return isPostgresUrl(location) ? { masterKeys: TEST_MASTER_KEY } : {};
}

/**
 * A fresh log on `engine` for each test of the calling `describe`, opened with its clock reading
 * `clock.at` (see `openWithClock`), closed and removed after the test. Read `fx` and `store` in the tests.
 */
export function useEngineStore(engine: EngineName, clock: { at: string }): { readonly fx: EngineFixture; readonly store: Store } {
  let fx: EngineFixture | undefined;
  let store: Store | undefined;
  beforeEach(async () => {
    fx = await engineFixture(engine);
    store = await openWithClock(fx.location, clock);
  });
  afterEach(async () => {
    await store?.close();
    await fx?.cleanup();
  });
  return {
    get fx() {
      return fx!;
    },
    get store() {
      return store!;
    },
  };
}

/** Rows of `sql` on the log at `location`, on a connection of its own, as another program would read them. */
export async function engineQuery(location: string, sql: string): Promise<Record<string, unknown>[]> {
  if (isPostgresUrl(location)) return pgQuery(location, sql);
  const db = new Database(location, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}
