import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, expectOneLine, runCli } from './helpers/cli.js';
import { damagedDatabase } from './helpers/damage.js';
import { writeRules } from './helpers/pipeline.js';
import { SECRET, tempDir } from './helpers/relay.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

function setUp(): { dir: string; env: NodeJS.ProcessEnv } {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const rules = writeRules(temp.dir, 'version: 1\nsinks:\n  console: { type: log }\nrules: []\n');
  return { dir: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rules }) };
}

describe('commands on a damaged or foreign database file say what and where, exit 1', () => {
  it('a damaged page of the log itself: every command that reads it, one line naming the table and the backup', async () => {
    // Given a log whose entries table has its root page overwritten
    const { dir, env } = setUp();
    const db = join(dir, 'relay.db');
    damagedDatabase(db, 'entries');
    for (const command of [['status'], ['log'], ['replay', '--rebuild'], ['replay', '--verify'], ['replay', '--dry-run']]) {
      // When each command runs on it
      const result = await runCli(['--db', db, ...command], { cwd: dir, env });
      // Then it names the file, the table and what to do, never a stack trace or exit 2
      expectOneLine(result, new RegExp(`${db} is damaged: the log itself \\(table entries\\) cannot be read \\(database disk image is malformed\\); stop serve and restore the latest backup`));
    }
  }, 60_000);

  it('a damaged page of a derived table: status says to rebuild, and replay --rebuild repairs it from the log', async () => {
    for (const table of ['p_deliveries', 'sqlite_autoindex_p_calls_1']) {
      // Given a log of three events whose derived table has a damaged page
      const { dir, env } = setUp();
      const db = join(dir, 'relay.db');
      damagedDatabase(db, table);
      const owner = table.startsWith('sqlite_autoindex_') ? 'p_calls' : table;
      // When the derived state is verified
      const before = await runCli(['--db', db, 'replay', '--verify'], { cwd: dir, env });
      // Then the user is told which table, and that a rebuild makes it again
      expectOneLine(before, new RegExp(`the derived table ${owner}.* cannot be read .*run \`husky-relay replay --rebuild\``));
      // And when they rebuild, it is repaired from the log, and the file is whole again
      const rebuilt = await runCli(['--db', db, 'replay', '--rebuild'], { cwd: dir, env });
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      expect(rebuilt.stdout).toContain(`repaired: ${owner} had a damaged page; it was made again from the log`);
      const check = new Database(db, { readonly: true });
      try {
        expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(check.prepare('SELECT call_id FROM p_calls ORDER BY call_id').pluck().all()).toEqual(['c0', 'c1', 'c2']);
      } finally {
        check.close();
      }
      const verified = await runCli(['--db', db, 'replay', '--verify'], { cwd: dir, env });
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/the projections match the log \(3 entries/);
      const status = await runCli(['--db', db, 'status', '--json'], { cwd: dir, env });
      expect(JSON.parse(status.stdout).events).toEqual({ total: 3, by_type: { 'call.completed': 3 } });
    }
  }, 60_000);

  it('replay --rebuild on files that are no database (text, random bytes): one line, exit 1, the file untouched', async () => {
    const { dir, env } = setUp();
    const cases: [string, string | Buffer][] = [
      ['notes.db', 'shopping list\n'],
      ['random.db', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256))],
    ];
    for (const [name, content] of cases) {
      const db = join(dir, name);
      writeFileSync(db, content);
      const result = await runCli(['--db', db, 'replay', '--rebuild'], { cwd: dir, env });
      expectOneLine(result, new RegExp(`${db} is not a husky-relay database \\(not an SQLite file\\)`));
      expect(readFileSync(db)).toEqual(Buffer.from(content));
    }
  });
});
