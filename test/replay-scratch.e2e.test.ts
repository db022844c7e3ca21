import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { scratchPath } from '../src/project/rebuild/scratch.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { deadPid } from './helpers/pids.js';
import { SECRET } from './helpers/relay.js';
import { smallEvents } from './helpers/entries.js';

/** A log of `n` small events, appended in one transaction. */
function logOf(dbPath: string, n: number): void {
  const log = new SqliteLog(dbPath);
  log.append(smallEvents(n));
  log.close();
}

const scratchFiles = (dir: string) => readdirSync(dir).filter((name) => name.includes('.rebuild-'));

describe('scratch databases of rebuilds that died are removed (issue 11 item 18)', () => {
  const harness = processHarness('husky-scratch-');

  it('a rebuild killed with SIGKILL leaves its scratch file; the next verify removes it', async () => {
    // Given a log large enough that a rebuild takes a while
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    logOf(dbPath, 40_000);
    // When a rebuild is killed outright while its scratch database exists
    const rebuild = harness.track(spawnCli(['--db', dbPath, 'replay', '--rebuild'], { cwd: dir, env: cliEnv() }));
    const scratch = scratchPath(dbPath, rebuild.pid);
    const deadline = Date.now() + 15_000;
    while (!existsSync(scratch) && rebuild.child.exitCode === null && Date.now() < deadline) await delay(2);
    rebuild.child.kill('SIGKILL');
    await rebuild.exited;
    expect(existsSync(scratch)).toBe(true);
    // And later a verify runs
    const verify = await runCli(['--db', dbPath, 'replay', '--verify'], { cwd: dir, env: cliEnv(), timeoutMs: 30_000 });
    // Then the dead rebuild's file is gone, and so is the verify's own
    expect(verify.code).toBe(0);
    expect(scratchFiles(dir)).toEqual([]);
  }, 60_000); // a log to build, a rebuild and a verify of it: seconds on a busy machine

  it('serve removes the files no process holds, and leaves those in use and other databases’ alone', async () => {
    // Given, beside the log: a scratch file of a process that is gone, one of a process that
    // is gone but whose pid now runs something else, one in use by a build, and another log's
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    logOf(dbPath, 10);
    const dead = scratchPath(dbPath, deadPid());
    writeFileSync(dead, 'half-written scratch');
    const reused = scratchPath(dbPath, process.ppid);
    new Database(reused).exec('CREATE TABLE p_calls (x)');
    const inUse = scratchPath(dbPath, 999_999);
    const holder = new Database(inUse);
    holder.pragma('locking_mode = EXCLUSIVE'); // as a build holds it (buildScratch)
    holder.pragma('journal_mode = MEMORY');
    holder.exec('CREATE TABLE p_calls (x)');
    const otherLog = scratchPath(join(dir, 'other.db'), deadPid());
    writeFileSync(otherLog, '');
    try {
      // When serve starts on the log
      const serve = harness.track(
        spawnCli(['--db', dbPath, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
          cwd: dir,
          env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }),
        }),
      );
      await serve.listening();
      // Then only the file in use and the other log's remain
      expect(scratchFiles(dir).sort()).toEqual([otherLog, inUse].map((p) => p.slice(dir.length + 1)).sort());
    } finally {
      holder.close();
    }
  });
});
