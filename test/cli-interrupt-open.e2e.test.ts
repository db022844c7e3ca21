import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';

/**
 * A Ctrl-C while `replay --rebuild` or `--verify` is still opening the log (here: waiting for a
 * lock another connection holds, as it would wait while the log migrates) stops it with the same
 * line as one later, exit 1; it used to take Node's default: exit 130, nothing said (QA).
 */
describe('Ctrl-C while replay opens the log', () => {
  const harness = processHarness('husky-open-int-');

  // (`--verify` takes the same path, but only reads: a held lock does not make its open wait)
  it.each([['--rebuild', 'husky-relay: replay --rebuild: interrupted; the projections are as they were\n']])('replay %s: exit 1 and its one line', async (flag, line) => {
    // Given a log held exclusively by another connection, so opening it waits (busy timeout)
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    new SqliteLog(dbPath).close();
    const blocker = new Database(dbPath);
    blocker.pragma('locking_mode = EXCLUSIVE');
    blocker.exec('BEGIN EXCLUSIVE');
    const child = harness.track(spawnCli(['--db', dbPath, 'replay', flag], { cwd: dir, env: cliEnv() }));
    // When Ctrl-C comes while it waits to open it (its modules are loaded well within 1.5 s), and the lock then goes
    await delay(1500);
    child.child.kill('SIGINT');
    await delay(200);
    blocker.close();
    const result = await child.exited;
    // Then it stops with the line a later Ctrl-C gives
    expect(result.signal).toBeNull();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: line });
  });
});
