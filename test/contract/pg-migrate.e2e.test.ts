import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.js';
import { D, STORY_CALL, writeStory } from '../helpers/call-scenario.js';
import { freshPgDatabase, pgQuery } from '../helpers/pg.js';
import { SECRET, tempDir } from '../helpers/relay.js';
import { openStore } from '../../src/log/store.js';
import { acquireServeLock } from '../../src/log/sqlite/serve-lock.js';

/**
 * `migrate --to URL` (SPEC §13) and every command on the copy: the story of issue 14, written
 * by the SQLite relay, is copied into PostgreSQL; each command then answers the same on both.
 */
describe('migrate --to postgres:// and the CLI on PostgreSQL', () => {
  let temp: ReturnType<typeof tempDir>;
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let sqlite: string;
  let rules: string;
  // the SQLite log's own master key (generated beside it), which the PostgreSQL copy requires in the environment
  const env = () => cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: readFileSync(join(temp.dir, 'master-key'), 'utf8').trim() });
  const cli = (dbArg: string, ...args: string[]) => runCli(['--db', dbArg, '--rules', rules, ...args], { cwd: temp.dir, env: env(), timeoutMs: 20_000 });
  let migrated: Awaited<ReturnType<typeof cli>>;

  beforeAll(async () => {
    temp = tempDir();
    db = await freshPgDatabase();
    ({ dbPath: sqlite, rulesPath: rules } = await writeStory(temp.dir));
    migrated = await cli(sqlite, 'migrate', '--to', db.url);
  }, 60_000);
  afterAll(async () => {
    await db.drop();
    temp.cleanup();
  });

  it('copies every entry with its seq, rebuilds the projections, verifies, and says so', async () => {
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^copied 22 entries \(through seq 22\) to postgres:\/\/.*verified/);
    const rows = await pgQuery<{ n: number; last: number }>(db.url, `SELECT count(*)::int AS n, max(seq)::int AS last FROM entries`);
    expect(rows[0]).toEqual({ n: 22, last: 22 });
    // the router's checkpoint came along: nothing is routed twice after the move
    expect(await pgQuery(db.url, `SELECT name, seq::int FROM p_checkpoints`)).toEqual([{ name: 'router', seq: 22 }]);
  });

  it('refuses a target that already holds a log, and changes nothing there', async () => {
    const again = await cli(sqlite, 'migrate', '--to', db.url);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a log \(22 entries\); migrate copies into an empty database only/);
    expect((await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM entries`))[0]!.n).toBe(22);
  });

  it.each([
    ['status', '--json'],
    ['deliveries', '--json'],
    ['deliveries', '--sink', 'slack', '--limit', '2', '--json'],
    ['deliveries', '--call', STORY_CALL, '--json'],
    ['call', STORY_CALL, '--json'],
    ['call', STORY_CALL],
    ['log', '--json'],
    ['log', '--type', 'delivery.*', '--json'],
    ['log', '--call', STORY_CALL],
    ['log', '--event', 'evt_story_3', '--json'],
    ['replay', '--verify'],
    ['replay', '--dry-run'],
  ])('%s %s answers the same on PostgreSQL as on SQLite', async (...args) => {
    const [onSqlite, onPg] = [await cli(sqlite, ...args), await cli(db.url, ...args)];
    expect(onPg.stderr).toBe(onSqlite.stderr);
    expect(onPg.code).toBe(onSqlite.code);
    // byte for byte, hashes and chain head included: the copy keeps the chain
    expect(onPg.stdout).toBe(onSqlite.stdout);
  });

  it('copies the log as stored: the same hashes, chain head and sealed payloads, and log --verify passes there', async () => {
    for (const args of [['log', '--json'], ['status', '--json']]) {
      const [onSqlite, onPg] = [await cli(sqlite, ...args), await cli(db.url, ...args)];
      expect(onPg.stdout).toBe(onSqlite.stdout);
    }
    expect((await cli(db.url, 'status', '--json')).stdout).toMatch(/"chain_head":"[0-9a-f]{64}"/);
    const verified = await cli(db.url, 'log', '--verify');
    expect(verified.code, verified.stderr).toBe(0);
    // the payloads were copied sealed: no body is in the entries, each payload row is there
    const [row] = await pgQuery<{ plain: number; payloads: number }>(
      db.url,
      `SELECT (SELECT count(*)::int FROM entries WHERE data::text LIKE '%"body"%') AS plain, (SELECT count(*)::int FROM payloads) AS payloads`,
    );
    expect(row).toMatchObject({ plain: 0 });
    expect(row!.payloads).toBeGreaterThan(0);
  });

  it('asks for HUSKY_RELAY_MASTER_KEY in one line, naming the key file to use, and copies nothing', async () => {
    const out = await runCli(['--db', sqlite, '--rules', rules, 'migrate', '--to', db.url], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }) });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^husky-relay: migrate: HUSKY_RELAY_MASTER_KEY is required for a PostgreSQL log; set it to this log's master key, the content of .*master-key/);
  });

  it('serve running and no HUSKY_RELAY_MASTER_KEY: says to stop serve first, not to find the key (QA: it asked for the key, then for serve)', async () => {
    const lock = acquireServeLock(sqlite, 'serve');
    try {
      const out = await runCli(['--db', sqlite, '--rules', rules, 'migrate', '--to', db.url], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }) });
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(`husky-relay: migrate: serve (pid ${process.pid}) holds ${sqlite}; stop it first, so that nothing is appended behind the copy\n`);
    } finally {
      lock.release();
    }
  });

  it('a --to that is not a PostgreSQL URL, or a --db with no log: one line naming that, before the master key is asked for', async () => {
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });
    for (const to of [join(temp.dir, 'copy.db'), 'mysql://root@127.0.0.1/test']) {
      const out = await runCli(['--db', sqlite, '--rules', rules, 'migrate', '--to', to], { cwd: temp.dir, env });
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(`husky-relay: migrate: --to ${JSON.stringify(to)} is not a PostgreSQL URL (postgres://USER@HOST/DB); to move a SQLite log to another file or machine, copy it with deploy/backup.sh (README "Deployment on a VM", step 9, Backups)\n`);
    }
    expect(existsSync(join(temp.dir, 'copy.db'))).toBe(false);
    const missing = await runCli(['--db', join(temp.dir, 'none.db'), '--rules', rules, 'migrate', '--to', db.url], { cwd: temp.dir, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^husky-relay: no log at .*none\.db: start `husky-relay serve` first/);
  });

  it('appends through the commands too: retry, resume, replay --rebuild', async () => {
    const retried = await cli(db.url, 'retry', D.d2);
    expect(retried.code, retried.stderr).toBe(0);
    const deliveries = JSON.parse((await cli(db.url, 'deliveries', '--json')).stdout) as { delivery_id: string; status: string }[];
    expect(deliveries.find((d) => d.delivery_id === D.d2)?.status).toBe('pending');
    const resume = await cli(db.url, 'resume', 'slack');
    expect(resume.code).toBe(1);
    expect(resume.stderr).toMatch(/sink "slack" is not paused/);
    const before = (await cli(db.url, 'status', '--json')).stdout;
    const rebuilt = await cli(db.url, 'replay', '--rebuild');
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect((await cli(db.url, 'status', '--json')).stdout).toBe(before);
  });

  it('erases a call on the copy as on SQLite: [erased] in call and log, log --verify passes, the same output on both', async () => {
    const args = ['erase', '--call', STORY_CALL, '--reason', 'test'];
    const [onSqlite, onPg] = [await cli(sqlite, ...args), await cli(db.url, ...args)];
    expect(onPg.code, onPg.stderr).toBe(0);
    expect(onPg.stderr).toBe(onSqlite.stderr);
    // the same payloads; the open deliveries and seqs differ (retry appended on the copy only)
    const payloads = (out: string) => /^erased \S+: \d+ payloads/.exec(out)?.[0];
    expect(payloads(onPg.stdout)).toBe(payloads(onSqlite.stdout));
    expect(payloads(onPg.stdout)).toBeDefined();
    expect((await cli(db.url, 'call', STORY_CALL, '--json')).stdout).toContain('"erased":true');
    const log = (await cli(db.url, 'log', '--call', STORY_CALL, '--json')).stdout;
    expect(log).toContain('[erased]');
    const verified = await cli(db.url, 'log', '--verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(await pgQuery(db.url, `SELECT seq FROM payloads WHERE call_id = '${STORY_CALL}'`)).toEqual([]);
  });

  it('names an unreachable database in one line, exit 1', async () => {
    const out = await cli('postgres://postgres@127.0.0.1:1/nowhere', 'status');
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^husky-relay: cannot open the log at postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
  });

  it('names a database it cannot connect to over TLS in one line, exit 1, the password hidden', async () => {
    // the machine's PostgreSQL has no TLS: pg fails the handshake with a plain Error (no code)
    const url = `${db.url.replace('postgres://postgres@', 'postgres://postgres:s3cretPW@')}?sslmode=require`;
    for (const args of [['status'], ['migrate', '--to', url]]) {
      const out = args[0] === 'migrate' ? await cli(sqlite, ...args) : await cli(url, ...args);
      expect(out.code).toBe(1);
      const ours = out.stderr.split('\n').filter((line) => line.startsWith('husky-relay:'));
      expect(ours).toEqual([expect.stringMatching(/^husky-relay: cannot open the log at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1.*sslmode=require: The server does not support SSL connections$/)]);
      expect(out.stderr).not.toContain('internal error');
      expect(out.stderr + out.stdout).not.toContain('s3cretPW');
    }
  });
});

describe('migrate of a SQLite log PostgreSQL cannot hold', () => {
  /** A fresh SQLite log (written by `given`) and an empty PostgreSQL database; `migrate` copies one into the other. */
  async function withLogs(run: (o: { given: ReturnType<typeof openStore>; url: string; migrate: () => ReturnType<typeof runCli>; key: () => string }) => Promise<void>) {
    const temp = tempDir();
    const db = await freshPgDatabase();
    try {
      const key = () => readFileSync(join(temp.dir, 'master-key'), 'utf8').trim();
      const sqlite = join(temp.dir, 'relay.db');
      const migrate = () => runCli(['--db', sqlite, 'migrate', '--to', db.url], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: key() }) });
      await run({ given: openStore(sqlite), url: db.url, migrate, key });
    } finally {
      await db.drop();
      temp.cleanup();
    }
  }

  it('copies a log whose sink answer quoted U+0000 and a lone surrogate (PostgreSQL\'s projections show U+FFFD): verified, exit 0', async () => {
    // Given a SQLite log with a dead delivery whose error quotes a sink's answer holding U+0000 and a lone surrogate
    await withLogs(async ({ given, url, migrate, key }) => {
      const store = await given;
      const [ev] = await store.writer.append([
        { type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org_1', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:00.000Z', call_id: 'call_1', body: '{}' } },
      ]);
      await store.writer.append([
        { type: 'delivery.planned', data: { delivery_id: 'dlv_1', event_id: 'evt_1', event_seq: ev!.seq!, event_type: 'call.completed', call_id: 'call_1', rule_id: 'r', action_index: 0, sink: 'hook', request: { body: {} }, order_key: null, rules_hash: 'h' } },
      ]);
      const message = 'HTTP 500: {"error":"bad\u0000nul \ud800"}';
      await store.writer.append([
        { type: 'delivery.attempted', data: { delivery_id: 'dlv_1', attempt: 1, outcome: 'failed', duration_ms: 3, error: { kind: 'permanent', code: 'http_500', message, status: 500 }, retry_at: null, result: null } },
        { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'rule failed: template quoted "a\u0000b \udc00"' } },
      ]);
      await store.close();
      // When it is migrated
      const out = await migrate();
      // Then the copy verifies (it said "deliveries differ" and exit 1), and its log keeps the exact answer
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/^copied 4 entries .*verified/);
      const copy = await openStore(url, { masterKeys: key() });
      try {
        const [attempt] = await copy.log.read(0, { types: ['delivery.attempted'] });
        expect((attempt!.data as { error: { message: string } }).error.message).toBe(message);
        expect((await copy.projections.deliveries({ ids: ['dlv_1'] }))[0]).toMatchObject({ status: 'dead' });
      } finally {
        await copy.close();
      }
    });
  });

  it('an id holding U+0000 (stored before ingest refused them): one line naming the entries, exit 1, nothing copied', async () => {
    // Given a SQLite log whose second event's id holds U+0000
    await withLogs(async ({ given, url, migrate }) => {
      const store = await given;
      const event = (event_id: string) => ({
        type: 'event.received' as const,
        data: { event_id, event_type: 'call.completed', org_id: 'org_1', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:00.000Z', call_id: 'call_1', body: '{}' },
      });
      await store.writer.append([event('evt_ok'), event('evt_\u0000')]);
      await store.close();
      // When it is migrated
      const out = await migrate();
      // Then one line says which entries and why, and the target holds nothing
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/^husky-relay: migrate: PostgreSQL refuses an entry among seqs 1\.\.2 \(.*0x00.*\): an id or type holding U\+0000 or an unpaired surrogate, or longer than its indexes take, which SQLite kept, cannot be stored there; nothing was copied\n$/);
      expect((await pgQuery<{ n: number }>(url, `SELECT count(*)::int AS n FROM entries`))[0]!.n).toBe(0);
    });
  });
});
