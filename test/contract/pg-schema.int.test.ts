import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgStore } from '../../src/log/pg/pg-store.js';
import { EnvironmentError } from '../../src/os-errors.js';
import { pgQuery, PG_ADMIN_URL, TEST_MASTER_KEY, usePgDatabase } from '../helpers/pg.js';

/**
 * SPEC §13, opening a database that is not (or not yet) this husky-relay's log: the user gets one
 * line naming the database and what to do (`EnvironmentError`, exit 1), never a stack trace, and
 * nothing of theirs is changed.
 */
describe('opening a PostgreSQL database that is not a husky-relay log', () => {
  const pg = usePgDatabase();
  const refusal = (url = pg.db.url) => PgStore.open(url, { masterKeys: TEST_MASTER_KEY }).then(() => undefined, (error: unknown) => error);

  it.each([
    ['another program\'s entries table', 'CREATE TABLE entries (id int)', /has an entries table but is not a husky-relay log/],
    ['a version table of another shape', 'CREATE TABLE hr_schema (foo text)', /is not a husky-relay log \(or its tables were changed by hand\): column "version" does not exist; point --db at another database$/],
    ['a projection table that is already there', 'CREATE TABLE p_calls (a int)', /is not a husky-relay log \(or its tables were changed by hand\): relation "p_calls" already exists; point --db at another database$/],
  ])('refuses a database holding %s, in one line naming it, and leaves it as it was', async (_, sql, message) => {
    await pgQuery(pg.db.url, sql);
    const error = await refusal();
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as Error).message).toMatch(new RegExp(`^${pg.db.url.replace(/[/.]/g, '\\$&')} `));
    expect((error as Error).message).toMatch(message);
    const tables = await pgQuery<{ n: string }>(pg.db.url, `SELECT table_name AS n FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    expect(tables.length).toBe(1);
  });

  it('refuses a database written by a newer husky-relay', async () => {
    await (await pg.open()).close();
    await pgQuery(pg.db.url, 'UPDATE hr_schema SET version = 99');
    const error = await refusal();
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as Error).message).toMatch(/was written by a newer husky-relay \(schema version 99; this one reads up to \d+\): upgrade husky-relay$/);
  });

  it('tells a role that may not create tables (PostgreSQL 15: only the owner may) to own the database', async () => {
    const role = `hr_test_role_${randomBytes(4).toString('hex')}`;
    await pgQuery(PG_ADMIN_URL, `CREATE ROLE ${role} LOGIN`);
    try {
      const error = await refusal(pg.db.url.replace('postgres://postgres@', `postgres://${role}@`));
      expect(error).toBeInstanceOf(EnvironmentError);
      expect((error as Error).message).toMatch(/^cannot create the log's tables in postgres:\/\/hr_test_role_\w+@.*: permission denied for schema public; make the role the database's owner \(CREATE DATABASE … OWNER …\)$/);
    } finally {
      await pgQuery(PG_ADMIN_URL, `DROP ROLE ${role}`);
    }
  });
});
