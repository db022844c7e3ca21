import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { CliResult } from './helpers/cli.js';
import { cliEnv } from './helpers/cli.js';
import { processHarness, spawnCli, type CliChild } from './helpers/cli-process.js';
import { inNanosleep } from './helpers/proc.js';

const AT = '2026-06-01T10:00:00.000Z';
const RULES = 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions:\n      - sink: console\n        text: "{{ data.call_id }}"\n';

/**
 * A log with a call (call_1: one call.completed event), its delivery dead (dlv_1, re-drivable),
 * and the sink `console` paused: something for each command that writes to write.
 */
function writeLog(dbPath: string): void {
  const log = new SqliteLog(dbPath);
  const body = JSON.stringify({ event_id: 'evt_1', event_type: 'call.completed', data: { call_id: 'call_1' } });
  log.append([{ type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org', created_at: AT, received_at: AT, call_id: 'call_1', body } }]);
  const plan = { delivery_id: 'dlv_1', event_id: 'evt_1', event_seq: 1, event_type: 'call.completed', call_id: 'call_1', rule_id: 'old', action_index: 0, sink: 'console', request: { text: 'call_1' }, order_key: null, rules_hash: 'old' };
  log.append([{ type: 'delivery.planned', data: plan }]);
  log.append([{ type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'http_404: HTTP 404' } }]);
  log.append([{ type: 'sink.paused', data: { sink: 'console', reason: 'invalid_auth: refused', code: 'invalid_auth', delivery_id: 'dlv_1' } }]);
  log.close();
}

/** What a user could see change in the log: its entries, the payloads and keys erasure deletes, the deliveries and sinks as projected. */
function stateOf(db: Database.Database): unknown {
  const all = (sql: string) => db.prepare(sql).all();
  return {
    entries: all('SELECT seq, type, hash FROM entries ORDER BY seq'),
    payloads: all('SELECT seq, call_id FROM payloads ORDER BY seq'),
    keys: all('SELECT call_id FROM call_keys ORDER BY call_id'),
    deliveries: all('SELECT * FROM p_deliveries ORDER BY delivery_id'),
    sinks: all('SELECT * FROM p_sink_state ORDER BY 1'),
  };
}

/** Resolves once `cli` is waiting for a lock (its thread asleep in SQLite's busy handler); throws if it ends or never does. */
async function waitingForLock(cli: CliChild): Promise<void> {
  for (let seen = 0, deadline = Date.now() + 20_000; seen < 2; seen += inNanosleep(cli.pid) ? 1 : 0) {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`it never waited for the lock (exit ${cli.child.exitCode ?? cli.child.signalCode})\n${cli.stderr()}`);
    }
    await delay(10);
  }
}

/**
 * QA: Ctrl-C while `erase` or `retry` waited for the write lock another process held (serve
 * mid-commit, another command) ended them with exit 130 and nothing said; `replay --force`
 * ignored it until its 5 s busy timeout ended it with the lock's line. SQLite's wait held the
 * thread, so the signal's handler could not run. Each now stops at Ctrl-C with one line saying
 * what was interrupted and that nothing was written, exit 1, as while the log opens
 * (cli-interrupt-open.e2e.test.ts).
 */
describe("Ctrl-C while a command waits for another process's write lock", () => {
  const harness = processHarness('husky-lock-int-');

  /** `args` run on the log of `writeLog` while another connection holds its write lock; `signal` sent once it waits for it. */
  async function interruptedWhileWaiting(args: string[], signal: NodeJS.Signals = 'SIGINT'): Promise<{ result: CliResult; before: unknown; after: unknown; dbPath: string }> {
    const dir = harness.dir();
    const dbPath = join(dir, 'relay.db');
    writeLog(dbPath);
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    const blocker = new Database(dbPath);
    try {
      const before = stateOf(blocker);
      // the write lock alone: the command opens and reads the log, and waits when it writes
      blocker.exec('BEGIN IMMEDIATE');
      const cli = harness.track(spawnCli(['--db', dbPath, '--rules', join(dir, 'rules.yaml'), ...args], { cwd: dir, env: cliEnv() }));
      await waitingForLock(cli);
      cli.child.kill(signal);
      const result = await cli.exited;
      blocker.exec('ROLLBACK');
      return { result, before, after: stateOf(blocker), dbPath };
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
    }
  }

  const WAITED = "interrupted while it waited for another process's write lock on the log";

  it.each([
    [['erase', '--call', 'call_1'], 'SIGINT', 'erase'],
    [['erase', '--call', 'call_1'], 'SIGTERM', 'erase'],
    [['retry', '--dead'], 'SIGINT', 'retry'],
    [['retry', 'dlv_1'], 'SIGINT', 'retry'],
    [['resume', 'console'], 'SIGINT', 'resume'],
  ] as const)('%j (%s): exit 1, one line saying nothing was changed; the log unchanged', async (args, signal, command) => {
    const { result, before, after } = await interruptedWhileWaiting([...args], signal);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 1, stdout: '', stderr: `husky-relay: ${command}: ${WAITED}; nothing was changed\n` });
    expect(after).toEqual(before);
  }, 60_000);

  it.each([
    [['replay', '--force'], 'replay --force'],
    [['replay'], 'replay'],
    [['replay', '--since', '2026-01-01'], 'replay'],
  ])("%j (a backfill): exit 1 at Ctrl-C, not at the busy timeout with the lock's line; one line, nothing planned", async (args, command) => {
    const { result, before, after } = await interruptedWhileWaiting(args);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `husky-relay: ${command}: ${WAITED}; nothing was planned: run the same command again to start over\n`,
    });
    expect(after).toEqual(before);
  }, 60_000);

  it('replay --rebuild (its swap waits): exit 1, its one line, the projections as they were, no pid file', async () => {
    const { result, before, after, dbPath } = await interruptedWhileWaiting(['replay', '--rebuild']);
    expect(result.signal).toBeNull();
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'husky-relay: replay --rebuild: interrupted; the projections are as they were\n',
    });
    expect(after).toEqual(before);
    expect(existsSync(`${dbPath}.serve.pid`)).toBe(false);
  }, 60_000);
});
