import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, expectOneLine, runCli } from './helpers/cli.js';
import { damageEntryData, damageMiddleLeaf, eventsLog } from './helpers/damage.js';
import { writeRules } from './helpers/pipeline.js';
import { SECRET, tempDir } from './helpers/relay.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

/** A log of `events` events (calls c0, c1, …: seqs 1, 2, …) in a fresh folder, and the environment to run the CLI on it. */
function logOf(events: number): { dir: string; db: string; env: NodeJS.ProcessEnv } {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const rules = writeRules(temp.dir, 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions:\n      - sink: console\n        text: hello\n');
  const db = join(temp.dir, 'relay.db');
  eventsLog(db, events);
  return { dir: temp.dir, db, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rules }) };
}

describe('commands on a log with a damaged entry (its data is not JSON) name it, exit 1', () => {
  it('every command that reads the entry: one line naming its seq, the file, log --verify and the backup', async () => {
    // Given a log whose entry 2 (call c1's event) holds text that is not JSON
    const { dir, db, env } = logOf(3);
    damageEntryData(db, 2);
    const commands = [['log'], ['log', '--json'], ['log', '--call', 'c1'], ['call', 'c1'], ['call', 'c1', '--json'], ['replay', '--verify'], ['replay', '--rebuild'], ['replay', '--dry-run'], ['replay']];
    for (const command of commands) {
      // When each command runs on it
      const result = await runCli(['--db', db, ...command], { cwd: dir, env });
      // Then it names the entry, the file and what to do, never a stack trace or exit 2
      expectOneLine(result, new RegExp(`^husky-relay: entry 2 of the log at ${db} is damaged: its data is not valid JSON.*; run \`husky-relay log --verify\` to check the whole log, then stop serve and restore the latest backup \\(README: Backups\\)$`));
    }
    // And the commands that do not read it still answer
    const status = await runCli(['--db', db, 'status'], { cwd: dir, env });
    expect(status.code, status.stderr).toBe(0);
  }, 90_000);

  it('a damaged delivery.planned entry (not JSON): replay --verify and --rebuild name it, one line, exit 1', async () => {
    // Given a log of 3 events routed (plans at seqs 4–6), whose second plan holds text that is not JSON
    const { dir, db, env } = logOf(3);
    expect((await runCli(['--db', db, 'replay'], { cwd: dir, env })).code).toBe(0);
    damageEntryData(db, 5, '{x');
    for (const command of [['replay', '--verify'], ['replay', '--rebuild']]) {
      const result = await runCli(['--db', db, ...command], { cwd: dir, env });
      expectOneLine(result, new RegExp(`^husky-relay: entry 5 of the log at ${db} is damaged: its data is not valid JSON; run \`husky-relay log --verify\``));
    }
  }, 60_000);

  it.each(['{}', '{"delivery_id":123}'])('a plan rewritten as JSON of another shape (%s): call and log show it with - for what is missing; replay names it, exit 1', async (data) => {
    // Given a log of 3 events routed (plans at seqs 4–6), whose first plan (call c0's) was rewritten
    const { dir, db, env } = logOf(3);
    expect((await runCli(['--db', db, 'replay'], { cwd: dir, env })).code).toBe(0);
    damageEntryData(db, 4, data);
    // When the commands that print it run, they answer as usual: a missing field reads -
    const call = await runCli(['--db', db, 'call', 'c0'], { cwd: dir, env });
    expect(call.stderr).toBe('');
    expect(call.code).toBe(0);
    expect(call.stdout).toMatch(/^4 +\S+ +\S+ +planned +rule -, sink -$/m);
    const log = await runCli(['--db', db, 'log', '--call', 'c0'], { cwd: dir, env });
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/delivery\.planned +\S+ - rule=- event=-$/m);
    // And a rebuild, which projects it, names it as damaged instead of a stack trace
    for (const command of [['replay', '--verify'], ['replay', '--rebuild']]) {
      const result = await runCli(['--db', db, ...command], { cwd: dir, env });
      expectOneLine(result, /^husky-relay: entry 4 of the log at .* is damaged: its data is not what a delivery\.planned entry holds \(.*\); run `husky-relay log --verify`/);
    }
  }, 60_000);

  it('log --verify names the damaged entry as the first that does not match the chain', async () => {
    const { dir, db, env } = logOf(3);
    damageEntryData(db, 2);
    const result = await runCli(['--db', db, 'log', '--verify'], { cwd: dir, env });
    expectOneLine(result, /^husky-relay: log --verify: entry 2 does not match the chain: its data is not valid JSON \(.*\) \(1 entry before it is sound\)$/);
  }, 30_000);

  it('data that is JSON but no object (a hand edit the check lets through) is damaged too', async () => {
    const { dir, db, env } = logOf(3);
    damageEntryData(db, 3, 'null');
    const result = await runCli(['--db', db, 'log'], { cwd: dir, env });
    expectOneLine(result, /^husky-relay: entry 3 of the log at .* is damaged: its data is not a JSON object \(null\); run `husky-relay log --verify`/);
  }, 30_000);

  it('log --verify runs SQLite integrity check: a damaged index of the log, which the chain never reads, fails it', async () => {
    // Given a log whose (type, seq) index has a damaged page in the middle
    const { dir, db, env } = logOf(2000);
    damageMiddleLeaf(db, 'entries_type_seq');
    // When the log is verified
    const result = await runCli(['--db', db, 'log', '--verify'], { cwd: dir, env });
    // Then it says the file is damaged and to restore the backup, not `chain ok`
    expectOneLine(result, new RegExp(`^husky-relay: log --verify: ${db} is damaged: the log's pages do not pass SQLite's integrity check \\(.+\\); stop serve and restore the latest backup \\(README: Backups\\)$`));
    expect(result.stdout).not.toMatch(/chain ok/);
  }, 60_000);
});
