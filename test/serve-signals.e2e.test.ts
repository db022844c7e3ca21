import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { heldBy, pidFilePath } from '../src/log/sqlite/serve-lock.js';
import { cliEnv, jsonLines } from './helpers/cli.js';
import { catches, processHarness, spawnCli, type CliChild } from './helpers/cli-process.js';
import { SECRET } from './helpers/relay.js';

/**
 * A start held in the middle: another connection keeps the log locked (exclusive locking mode,
 * so not even a read gets through), and serve waits for it (busy timeout 5 s) until released.
 */
function holdTheLog(dbPath: string): { release(): void } {
  new SqliteLog(dbPath).close();
  const blocker = new Database(dbPath);
  blocker.pragma('locking_mode = EXCLUSIVE');
  blocker.exec('BEGIN EXCLUSIVE');
  return { release: () => blocker.close() };
}

/**
 * Waits until `child` handles SIGHUP, or 1.5 s have passed: then sends `signal`. Either way it
 * arrives while start is held (before the fix, serve handled nothing until it was listening,
 * and the signal ended it). SIGHUP is the mark that the program's handlers are in place:
 * Node itself catches SIGINT and SIGTERM from its first instant (to restore the terminal
 * before it lets them end the process), so their own bits say nothing.
 */
async function sendDuringStart(child: CliChild, signal: NodeJS.Signals): Promise<void> {
  const deadline = Date.now() + 1500;
  while (!catches(child.pid, 'SIGHUP') && Date.now() < deadline) await delay(5);
  child.child.kill(signal);
}

describe('signals while serve starts (issue 11 item 8)', () => {
  const harness = processHarness('husky-signals-');
  const start = () => {
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    const held = holdTheLog(dbPath);
    const child = harness.track(
      spawnCli(['--db', dbPath, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
        cwd: dir,
        env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }),
      }),
    );
    return { dbPath, held, child };
  };

  it('a SIGHUP during start does not kill serve: the reload runs once it has started', async () => {
    // Given serve in the middle of its start
    const { held, child } = start();
    // When SIGHUP arrives then, and start goes on
    await sendDuringStart(child, 'SIGHUP');
    await delay(200);
    held.release();
    const url = await child.listening();
    // Then serve runs and answers, and it reloaded after it started
    expect((await fetch(`${new URL(url).origin}/healthz`)).status).toBe(200);
    const messages = () => jsonLines(child.stdout()).map((l) => l['msg']);
    for (let i = 0; i < 100 && !messages().includes('SIGHUP: webhook secrets reloaded'); i++) await delay(20);
    const lines = messages();
    expect(lines).toContain('reload asked for while starting: it runs once started');
    expect(lines.indexOf('SIGHUP: webhook secrets reloaded')).toBeGreaterThan(lines.indexOf('husky-relay is listening'));
    // And it still stops cleanly
    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('a %s during start stops serve cleanly: exit 0, lock and pid file released', async (signal) => {
    // Given serve in the middle of its start
    const { dbPath, held, child } = start();
    // When the stop signal arrives then
    await sendDuringStart(child, signal);
    await delay(200);
    held.release();
    const result = await child.exited;
    // Then it exits 0 without ever answering, says why, and holds nothing
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout).map((l) => l['msg'])).toContain('stop asked for while starting: stopping as soon as start ends');
    expect(existsSync(pidFilePath(dbPath))).toBe(false);
    expect(heldBy(dbPath)).toBeNull();
    // and the console token it generated, never announced, is not left behind: a later start
    // would only log where its token comes from, so the next one generates it and says where
    expect(existsSync(join(dirname(dbPath), 'ui-token'))).toBe(false);
    expect(result.stderr).not.toContain('console token');
  });
});
