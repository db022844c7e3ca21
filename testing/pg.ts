import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The master key of every throwaway PostgreSQL log tests and benchmarks make (a PostgreSQL log
 * requires `HUSKY_RELAY_MASTER_KEY`: README "Personal data"). Fixed, so a log can be opened again.
 */
export const THROWAWAY_MASTER_KEY = '6b'.repeat(32);

/**
 * A fresh, empty database `<prefix>_<random>` on the server of `adminUrl` (a database there
 * that the role may connect to), and how to drop it (terminating what still holds it).
 */
export async function freshDatabase(adminUrl: string, prefix: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await runSql(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: async () => void (await runSql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

/** Runs `sql` on a connection of its own (another process's, as far as the relay can tell); its rows. */
export async function runSql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
