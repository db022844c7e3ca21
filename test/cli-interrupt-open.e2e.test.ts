import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { CliResult } from './helpers/cli.js';
import { cliEnv } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';

/** Whether process `pid` has the file `path` open (Linux: its /proc/PID/fd links). */
function holdsOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // not started, or gone
  }
}

/**
 * A Ctrl-C while a command is still opening the log (here: waiting for a lock another connection
 * holds, as it would wait while the log migrates) stops it with one line saying what state things
 * are in, exit 1; it used to take Node's default: exit 130, nothing said (QA).
 */
describe('Ctrl-C while a command opens the log', () => {
  const harness = processHarness('husky-open-int-');

  /**
   * A log of one call.completed event (call_1) and a rules file whose one rule plans a delivery for
   * it, held exclusively by another connection so that opening it waits (busy timeout); `args` run on
   * it, `signal` sent while it waits, and the lock then goes.
   */
  async function interruptedWhileOpening(args: string[], signal: NodeJS.Signals = 'SIGINT'): Promise<{ result: CliResult; dbPath: string; types: () => string[] }> {
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    const body = JSON.stringify({ event_id: 'evt_1', event_type: 'call.completed', data: { call_id: 'call_1' } });
    log.append([{ type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: 'call_1', body } }]);
    log.close();
    writeFileSync(join(dir, 'rules.yaml'), 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions:\n      - sink: console\n        text: "{{ data.call_id }}"\n');
    const blocker = new Database(dbPath);
    blocker.pragma('locking_mode = EXCLUSIVE');
    blocker.exec('BEGIN EXCLUSIVE');
    const child = harness.track(spawnCli(['--db', dbPath, '--rules', join(dir, 'rules.yaml'), ...args], { cwd: dir, env: cliEnv() }));
    // once it has the log's file open, waiting for the lock (its modules loaded: up to seconds on a loaded machine)
    for (const deadline = Date.now() + 10_000; !holdsOpen(child.pid, dbPath) && Date.now() < deadline; ) await delay(20);
    await delay(200);
    child.child.kill(signal);
    await delay(200);
    blocker.close();
    const result = await child.exited;
    const types = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare('SELECT type FROM entries ORDER BY seq').pluck().all() as string[];
      } finally {
        db.close();
      }
    };
    return { result, dbPath, types };
  }

  // (`--verify` takes the same path, but only reads: a held lock does not make its open wait)
  it.each([['--rebuild', 'husky-relay: replay --rebuild: interrupted; the projections are as they were\n']])('replay %s: exit 1 and its one line', async (flag, line) => {
    const { result } = await interruptedWhileOpening(['replay', flag]);
    // Then it stops with the line a later Ctrl-C gives
    expect(result.signal).toBeNull();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: line });
  });

  it.each([['SIGINT'], ['SIGTERM']] as const)('migrate (%s): exit 1, one line saying nothing was copied, no pid file left', async (signal) => {
    const { result, dbPath } = await interruptedWhileOpening(['migrate', '--to', 'postgres://relay:secret@127.0.0.1:1/relay'], signal);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `husky-relay: migrate: interrupted before the copy began; nothing was copied to postgres://relay:***@127.0.0.1:1/relay, and ${dbPath} is unchanged (serve can start on it)\n`,
    });
    expect(existsSync(`${dbPath}.serve.pid`)).toBe(false);
  });

  it.each([
    [['replay'], 'replay: interrupted before it read any event; nothing was planned'],
    [['replay', '--force'], 'replay --force: interrupted before it read any event; nothing was planned'],
    [['replay', '--since', '2026-01-01'], 'replay: interrupted before it read any event; nothing was planned'],
    [['replay', '--dry-run'], 'replay --dry-run: interrupted before it read any event; nothing was appended'],
  ])('%j (a backfill): exit 1, one line, nothing planned, nothing printed', async (args, said) => {
    const { result, types } = await interruptedWhileOpening(args);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 1, stdout: '', stderr: `husky-relay: ${said}: run the same command again to start over\n` });
    expect(types()).toEqual(['event.received']);
  });

  it.each([
    [['erase', '--call', 'call_1'], 'erase'],
    [['retry', '--dead'], 'retry'],
    [['resume', 'console'], 'resume'],
  ])('%j (a short command that writes): exit 1, one line saying nothing was changed', async (args, command) => {
    const { result, types } = await interruptedWhileOpening(args);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 1, stdout: '', stderr: `husky-relay: ${command}: interrupted while the log opened; nothing was changed\n` });
    expect(types()).toEqual(['event.received']);
  });
});
