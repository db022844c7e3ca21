import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.js';
import { freshPgDatabase, pgQuery } from '../helpers/pg.js';
import { SECRET, tempDir } from '../helpers/relay.js';
import { writeTruncatedLog } from '../helpers/truncated-log.js';

/**
 * A log retention truncated (README "Retention") through the CLI: `log --verify` says where the
 * log starts and what the chain goes on from, and `migrate --to` copies it with its start, so
 * the copy verifies and reads the same.
 */
describe('a truncated log through the CLI, and migrated to PostgreSQL', () => {
  let temp: ReturnType<typeof tempDir>;
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let sqlite: string;
  const env = () => cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: readFileSync(join(temp.dir, 'master-key'), 'utf8').trim() });
  const cli = (dbArg: string, ...args: string[]) => runCli(['--db', dbArg, ...args], { cwd: temp.dir, env: env(), timeoutMs: 20_000 });

  beforeAll(async () => {
    temp = tempDir();
    db = await freshPgDatabase();
    sqlite = join(temp.dir, 'relay.db');
    // Given five calls an hour apart, and a retention of one hour swept after the last
    expect(await writeTruncatedLog(sqlite)).toEqual({ erased: 4, removed: 3 });
  }, 60_000);
  afterAll(async () => {
    await db.drop();
    temp.cleanup();
  });

  it('log --verify names where the log starts, and the hash the chain goes on from', async () => {
    const verified = await cli(sqlite, 'log', '--verify');
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    const lines = verified.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^chain ok: 7 entries, head [0-9a-f]{64}$/);
    expect(lines[1]).toMatch(/^the log starts at entry 4: retention removed the entries before it; the chain goes on from [0-9a-f]{64}$/);
    const log = await cli(sqlite, 'log');
    expect(log.stdout).toContain('entries before 4 removed (3 entries, 3 calls)');
    // and a call it removed is said to be gone with the entries before the log's start
    const gone = await cli(sqlite, 'call', 'call_1');
    expect([gone.code, gone.stderr.trim()]).toEqual([1, 'husky-relay: no call "call_1" in the log (the log starts at entry 4: retention removed the calls before it)']);
  });

  it('migrate --to copies it with its start: verified there, the same log and status', async () => {
    const migrated = await cli(sqlite, 'migrate', '--to', db.url);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(await pgQuery(db.url, `SELECT seq::int FROM log_start`)).toEqual([{ seq: 4 }]);
    for (const args of [['log', '--json'], ['status', '--json'], ['log', '--verify']]) {
      const [onSqlite, onPg] = [await cli(sqlite, ...args), await cli(db.url, ...args)];
      expect(onPg.code, onPg.stderr).toBe(0);
      expect(onPg.stdout).toBe(onSqlite.stdout);
    }
  });
});
