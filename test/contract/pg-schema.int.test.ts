import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgStore } from '../../src/log/pg/pg-store.js';
import { EnvironmentError } from '../../src/os-errors.js';
import { UserError } from '../../src/errors.js';
import { createPool } from '../../src/log/pg/connect.js';
import { migratePg } from '../../src/log/pg/migrations.js';
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

  it('a command (a log that must exist) says the same of another program\'s entries table, not "start serve first"', async () => {
    await pgQuery(pg.db.url, 'CREATE TABLE entries (id int)');
    const error = await PgStore.open(pg.db.url, { masterKeys: TEST_MASTER_KEY, mustExist: true }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as Error).message).toMatch(/has an entries table but is not a husky-relay log; point --db at another database$/);
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

/**
 * README "Personal data" on PostgreSQL: a log written before migration 2 (payloads inside the
 * entries, no hash) is read as it was, and sealed and chained once, on the first open.
 */
describe('opening a PostgreSQL log written before personal data was sealed there', () => {
  const pg = usePgDatabase();

  /** A database as husky-relay left it at schema version 1, holding `entries` as they were appended then. */
  async function legacyLog(entries: { type: string; data: Record<string, unknown>; key: string | null }[]): Promise<void> {
    const pool = createPool(pg.db.url, 1);
    const client = await pool.connect();
    try {
      await migratePg(client, 'test', 1);
      for (const [i, e] of entries.entries()) {
        await client.query(`INSERT INTO entries (seq, type, at, data, dedupe_key) VALUES ($1, $2, $3, $4, $5)`, [i + 1, e.type, `2026-06-01T10:00:0${i}.000Z`, JSON.stringify(e.data), e.key]);
      }
    } finally {
      client.release();
      await pool.end();
    }
  }

  it('seals and chains every entry on the first open, and reads each one back as it was', async () => {
    // Given a version-1 log with an event (its body holding \u0000 and a marker) and a plan
    const body = JSON.stringify({ event_id: 'evt_old', data: { call_id: 'call_old', summary: 'marker-9c1 \u0000 end' } });
    const event = { event_id: 'evt_old', event_type: 'call.completed', org_id: 'o', created_at: 'c', received_at: 'r', call_id: 'call_old', body };
    const plan = { delivery_id: 'd_old', event_id: 'evt_old', event_seq: 1, event_type: 'call.completed', call_id: 'call_old', rule_id: 'r', action_index: 0, sink: 'hook', request: { channel: '#x', text: 'marker-9c1' }, order_key: null, rules_hash: 'h' };
    await legacyLog([
      { type: 'event.received', data: event, key: 'event:evt_old' },
      { type: 'delivery.planned', data: plan, key: 'delivery:d_old' },
    ]);
    // When husky-relay opens it
    const store = await pg.open();
    // Then the entries read as they were written
    const entries = await store.log.read(0);
    expect(entries.map((e) => e.data)).toEqual([event, plan]);
    expect(await store.log.eventBody('evt_old')).toBe(body);
    // And no entry holds its payload any more; the payloads are sealed apart, each entry hashed
    const rows = await pgQuery<{ data: string; hash: string | null }>(pg.db.url, `SELECT data::text AS data, hash FROM entries ORDER BY seq`);
    expect(rows.map((r) => r.data).join('')).not.toContain('marker-9c1');
    expect(rows.every((r) => r.hash !== null)).toBe(true);
    expect((await pgQuery<{ n: number }>(pg.db.url, `SELECT count(*)::int AS n FROM payloads`))[0]!.n).toBe(2);
    // And the chain verifies; the append-only trigger is back
    expect(await store.privacy.verifyChain()).toMatchObject({ ok: true, entries: 2 });
    await expect(pgQuery(pg.db.url, `UPDATE entries SET at = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    // And a later append continues the chain; a second open seals nothing again
    await store.append([{ type: 'delivery.dead', data: { delivery_id: 'd_old', reason: 'test' } }]);
    const again = await pg.open();
    expect(await again.privacy.verifyChain()).toMatchObject({ ok: true, entries: 3 });
    expect(await again.log.eventBody('evt_old')).toBe(body);
  });

  it('asks for HUSKY_RELAY_MASTER_KEY in one line: a PostgreSQL log has no folder to keep a generated key in', async () => {
    const error = await PgStore.open(pg.db.url).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^HUSKY_RELAY_MASTER_KEY is required for a PostgreSQL log \(postgres:\/\/.*\): set it to 64 hex characters/);
    // and nothing was made in the database
    expect(await pgQuery(pg.db.url, `SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'`)).toEqual([]);
  });
});
