import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL (README "How it is built": every development and CI machine runs one). */
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database `hr_test_<random>` and how to drop it (terminating what still holds it). */
export async function freshPgDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `hr_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    name,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs `sql` on a connection of its own (another process's, as far as the relay can tell). */
export async function pgQuery<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
