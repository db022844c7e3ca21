import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../../testing/child.js';
import { freshDatabase, THROWAWAY_MASTER_KEY } from '../../testing/pg.js';
import { load, SECRET, type LoadResult } from './ingest.js';
import { benchDispatch, type PhaseResult } from './pipeline.js';
import { startChild, type Child } from './processes.js';

/** `npm run bench -- --engine postgres`: what the log in PostgreSQL gives, beside SQLite in the same run. */
export interface PgBenchResult {
  ingest_sqlite: LoadResult;
  ingest_pg_one: LoadResult;
  /** Two relays on one database, the same 32 connections split between them; the rates add up. */
  ingest_pg_two: LoadResult;
  dispatch_sqlite: PhaseResult;
  dispatch_pg: PhaseResult;
}

/** A fresh database on the server of `adminUrl` for `run`, dropped after. */
async function withDatabase<T>(adminUrl: string, run: (url: string) => Promise<T>): Promise<T> {
  const db = await freshDatabase(adminUrl, 'hr_bench');
  try {
    return await run(db.url);
  } finally {
    await db.drop();
  }
}

async function relays(db: string, n: number, dir: string): Promise<Child[]> {
  const env = { ...process.env, HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: THROWAWAY_MASTER_KEY, LOG_LEVEL: 'info', HUSKY_RELAY_RULES: join(dir, 'none.yaml') };
  const children: Child[] = [];
  for (let i = 0; i < n; i++) children.push(await startChild([CLI, '--db', db, 'serve', '--no-ui', '--port', '0', '--host', '127.0.0.1'], env));
  return children;
}

/** 32 connections spread over `children`, for `seconds`; the rates and error counts add up, latencies are the worst. */
async function ingest(children: Child[], seconds: number): Promise<LoadResult> {
  await Promise.all(children.map((c) => load(c.url, 1, 32 / children.length)));
  const results = await Promise.all(children.map((c) => load(c.url, seconds, 32 / children.length)));
  return {
    requests_per_s: results.reduce((n, r) => n + r.requests_per_s, 0),
    p50_ms: Math.max(...results.map((r) => r.p50_ms)),
    p99_ms: Math.max(...results.map((r) => r.p99_ms)),
    non_2xx: results.reduce((n, r) => n + r.non_2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

export async function benchPostgres(adminUrl: string, seconds: number, dispatchEvents: number): Promise<PgBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'husky-bench-pg-'));
  const stopAll = (children: Child[]) => Promise.all(children.map((c) => c.stop()));
  try {
    const sqlite = await relays(join(dir, 'bench.db'), 1, dir);
    const ingestSqlite = await ingest(sqlite, seconds);
    await stopAll(sqlite);
    const onPg = (n: number) =>
      withDatabase(adminUrl, async (url) => {
        const children = await relays(url, n, dir);
        try {
          return await ingest(children, seconds);
        } finally {
          await stopAll(children);
        }
      });
    const one = await onPg(1);
    const two = await onPg(2);
    const dispatchSqlite = await benchDispatch(dispatchEvents);
    const dispatchPg = await withDatabase(adminUrl, (url) => benchDispatch(dispatchEvents, url));
    return { ingest_sqlite: ingestSqlite, ingest_pg_one: one, ingest_pg_two: two, dispatch_sqlite: dispatchSqlite, dispatch_pg: dispatchPg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
