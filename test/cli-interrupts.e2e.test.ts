import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { logFixture } from './helpers/log-fixture.js';
import { freshPgDatabase, pgQuery } from './helpers/pg.js';
import { interruptOnTerminal, type InterruptedRun } from './helpers/terminal.js';
import { CLI, cliEnv, runCli } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { setTimeout as delay } from 'node:timers/promises';

const EVENTS = 25_000;

/** `EVENTS` call.completed events, one transaction; and a rules file whose one rule plans a delivery for each. */
function writeLog(dbPath: string, dir: string, events = EVENTS): void {
  const log = new SqliteLog(dbPath);
  const entries: NewEntry[] = Array.from({ length: events }, (_, i) => {
    const body = JSON.stringify({ event_id: `evt_${i}`, event_type: 'call.completed', data: { call_id: `call_${i % 500}` } });
    return { type: 'event.received', data: { event_id: `evt_${i}`, event_type: 'call.completed', org_id: 'org', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: `call_${i % 500}`, body } };
  });
  log.append(entries);
  log.close();
  writeFileSync(join(dir, 'rules.yaml'), 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions:\n      - sink: console\n        text: "{{ data.call_id }}"\n');
}

/** A frame of the bar `label` on the terminal. */
const frame = (label: string) => new RegExp(`${label} \\[[^\\]]*\\] \\d+% \\|`);

/**
 * What a person sees after Ctrl-C stopped a command with a bar `label`: exit 1; after the bar's
 * last frame, the cursor shown and line wrapping on again, then `LABEL stopped at P % (d/t
 * entries)` short of 100 %, then one line `husky-relay: …` matching `message`. Returns that line.
 */
function expectStopped(run: InterruptedRun, label: string, message: RegExp): string {
  expect(run.code).toBe(1);
  const afterBar = run.output.slice(run.output.lastIndexOf(`\x1b[1G${label} [`));
  expect(afterBar).toContain('\x1b[?25h');
  expect(afterBar).toContain('\x1b[?7h');
  const stopped = new RegExp(`${label} stopped at (\\d+) % \\((\\d+)/(\\d+) entries\\)\\n(husky-relay: .*)\\n$`).exec(afterBar);
  expect(stopped, afterBar).not.toBeNull();
  expect(Number(stopped![1])).toBeLessThan(100);
  expect(Number(stopped![2])).toBeLessThan(Number(stopped![3]));
  expect(stopped![4]).toMatch(message);
  return stopped![4]!;
}

/**
 * QA (new-user pass): Ctrl-C during a long command with a progress bar killed it (exit 130): the
 * bar stayed, no line said where it stopped, the cursor stayed hidden and line wrapping off, and
 * `migrate` left its pid file. Each now stops at a safe point, as `replay --rebuild` did.
 */
describe('Ctrl-C on a terminal during a long command', () => {
  const log = logFixture('husky-interrupts-', async (dbPath, dir) => writeLog(dbPath, dir));
  const dbPath = () => join(log.dir, 'relay.db');
  const args = (...rest: string[]) => [...log.db, '--rules', join(log.dir, 'rules.yaml'), ...rest];
  const planned = () => {
    const db = new Database(dbPath(), { readonly: true });
    try {
      return db.prepare(`SELECT json_extract(data, '$.generation') AS generation, count(*) AS n FROM entries WHERE type = 'delivery.planned' GROUP BY 1 ORDER BY 1`).all();
    } finally {
      db.close();
    }
  };

  it('replay --rebuild and --verify: the stop line, the terminal restored, no pid file', async () => {
    for (const [flag, label, message] of [
      ['--rebuild', 'rebuilding', /^husky-relay: replay --rebuild: interrupted; the projections are as they were$/],
      ['--verify', 'verifying', /^husky-relay: replay --verify: interrupted before the comparison; nothing was changed/],
    ] as const) {
      const run = await interruptOnTerminal(args('replay', flag), { cwd: log.dir, when: frame(label) });
      expectStopped(run, label, message);
      expect(existsSync(`${dbPath()}.serve.pid`)).toBe(false);
    }
  }, 60_000);

  it('replay --dry-run: stops, says nothing was appended; exit 1', async () => {
    const run = await interruptOnTerminal(args('replay', '--dry-run'), { cwd: log.dir, when: /call\.completed evt_20\b/ });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/\nhusky-relay: replay --dry-run: interrupted after seq \d+ of \d+; nothing was appended\n$/);
    expect(planned()).toEqual([]);
  }, 60_000);

  it('replay --force (a backfill): what was planned stays planned, whole, and the line says so and how not to deliver it twice', async () => {
    const run = await interruptOnTerminal(args('replay', '--force'), { cwd: log.dir, when: frame('replaying') });
    const line = expectStopped(run, 'replaying', /^husky-relay: replay --force: interrupted after seq \d+ of \d+; the [\d,]+ deliver(y|ies) planned so far under generation g\w+ stay planned .*would deliver those twice; /);
    const [, after, count, generation] = /after seq (\d+) of \d+; the ([\d,]+) deliver(?:y|ies) planned so far under generation (g\w+)/.exec(line)!;
    // every event read has its plan, no more: one rule, one action each
    expect(planned()).toEqual([{ generation, n: Number(count!.replace(/,/g, '')) }]);
    expect(Number(after)).toBe(Number(count!.replace(/,/g, '')));
    expect(Number(after)).toBeLessThan(EVENTS);
  }, 60_000);

  it('replay (a backfill): stops, what was planned stays planned, and the line says running it again plans only the rest', async () => {
    const before = planned();
    const run = await interruptOnTerminal(args('replay'), { cwd: log.dir, when: frame('replaying') });
    expectStopped(run, 'replaying', /^husky-relay: replay: interrupted after seq \d+ of \d+; the [\d,]+ deliver(y|ies) planned so far stay planned .*run the same command again to plan the rest: it plans only what is not planned yet$/);
    expect(planned().length).toBe(before.length + 1);
  }, 60_000);

  it('migrate --to postgres://…: nothing copied, the pid file gone; run again, it copies it all and says how many, grouped', async () => {
    const target = await freshPgDatabase();
    try {
      const env = { HUSKY_RELAY_MASTER_KEY: readFileSync(join(log.dir, 'master-key'), 'utf8').trim() };
      const run = await interruptOnTerminal([...log.db, 'migrate', '--to', target.url], { cwd: log.dir, when: frame('copying'), env });
      expectStopped(run, 'copying', /^husky-relay: migrate: interrupted; nothing was copied \(the import into postgres:\/\/\S+ rolled back\), and \S+ is unchanged/);
      expect(existsSync(`${dbPath()}.serve.pid`)).toBe(false);
      expect(await pgQuery<{ n: number }>(target.url, 'SELECT count(*)::int AS n FROM entries')).toEqual([{ n: 0 }]);
      // And the same migrate again copies it all, counted as every other command counts (QA: `copied 22001 entries`)
      const again = await runCli([...log.db, 'migrate', '--to', target.url], { cwd: log.dir, env: cliEnv(env), timeoutMs: 60_000 });
      expect(again.stderr).toBe('');
      expect(again.stdout).toMatch(/^copied \d{2},\d{3} entries \(through seq \d+\) to postgres:/);
    } finally {
      await target.drop();
    }
  }, 60_000);
});

describe('SIGTERM, and a bar no command stops', () => {
  const harness = processHarness('husky-sigterm-');

  it('replay --force piped, sent SIGTERM mid-run: stops as for Ctrl-C, exit 1; what it planned is whole, and the line says how much', async () => {
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    writeLog(dbPath, dir, 20_000);
    const replay = harness.track(spawnCli(['--db', dbPath, '--rules', join(dir, 'rules.yaml'), 'replay', '--force'], { cwd: dir, env: cliEnv() }));
    const planned = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare(`SELECT count(*) FROM entries WHERE type = 'delivery.planned'`).pluck().get() as number;
      } finally {
        db.close();
      }
    };
    const deadline = Date.now() + 15_000;
    while (planned() === 0 && replay.child.exitCode === null && Date.now() < deadline) await delay(5);
    replay.child.kill('SIGTERM');
    const result = await replay.exited;
    expect(result.code).toBe(1);
    const [, count] = /^husky-relay: replay --force: interrupted after seq \d+ of 20000; the ([\d,]+) deliver(?:y|ies) planned so far under generation g\w+ stay planned/.exec(result.stderr) ?? [];
    expect(Number(count?.replace(/,/g, ''))).toBe(planned());
    expect(planned()).toBeLessThan(20_000);
  }, 60_000);

  it('a bar whose process gets a signal nothing handles: cleared, the stop line, the terminal restored, then the signal ends it', () => {
    const progress = new URL('progress.js', `file://${CLI}`.replace(/cli\.js$/, 'commands/')).href;
    const script = `
      const { progressBar } = await import(${JSON.stringify(progress)});
      const stream = Object.assign(process.stdout, { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true });
      const bar = progressBar('copying', true, stream);
      bar.update({ done: 30, total: 100 });
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => {}, 5000);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(run.signal).toBe('SIGTERM');
    const afterBar = run.stdout.slice(run.stdout.lastIndexOf('copying ['));
    expect(afterBar).toContain('\x1b[?25h');
    expect(afterBar).toContain('\x1b[?7h');
    expect(afterBar).toMatch(/copying stopped at 30 % \(30\/100 entries\)\n$/);
  });
});
