import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, runOnTerminal } from './helpers/cli.js';
import { logFixture } from './helpers/log-fixture.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { writeLogTruncatedBeforeCalls, writeTruncatedLog } from './helpers/truncated-log.js';

const hints = (output: string) => output.split('\n').filter((line) => line.startsWith('husky-relay: '));

/**
 * An id the log does not hold is told apart for what it is (README "Filters", "Operator events",
 * "Retention"): an alert's event id `op-SEQ` past the log's end says where the log ends (QA: it
 * said "not an operator event"), and the retention note shows only when retention removed calls'
 * entries, so that the id asked for could have been among them (QA: it showed on a log retention
 * had cut only serve's `rules.loaded` entries from).
 */
describe('op-SEQ past the end of the log', () => {
  // Given a log retention truncated: it starts at entry 4
  let last = 0;
  const log = logFixture('husky-bounds-', async (dbPath, dir) => {
    await writeTruncatedLog(dbPath);
    const status = await runCli(['--db', dbPath, 'status', '--json'], { cwd: dir, env: cliEnv() });
    last = (JSON.parse(status.stdout) as { last_seq: number }).last_seq;
  });

  it('log --event and deliveries --event op-SEQ: "the log ends at seq N", exit 0', async () => {
    const past = `op-${last + 1}`;
    for (const command of ['log', 'deliveries']) {
      const r = await runOnTerminal([...log.db, command, '--event', past], log.dir);
      expect(r.code).toBe(0);
      expect(hints(r.output)).toEqual([`husky-relay: no event "${past}" in the log: the log ends at seq ${last}`]);
    }
  }, 60_000);

  it('call op-SEQ: "the log ends at seq N", exit 1', async () => {
    const r = await runCli([...log.db, 'call', `op-${last + 50}`], { cwd: log.dir, env: cliEnv() });
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `husky-relay: no call "op-${last + 50}" in the log: the log ends at seq ${last}\n` });
  });
});

describe('an operator event no rule routed', () => {
  // Given a log whose entry 1 is a sink.paused no rule turned into an alert
  const log = logFixture('husky-op-hint-', async (dbPath) => {
    const sqlite = new SqliteLog(dbPath);
    sqlite.append([{ type: 'sink.paused', data: { sink: 'slack', reason: 'token_revoked: refused', code: 'token_revoked', delivery_id: 'dlv_x' } }]);
    sqlite.close();
  });

  it('deliveries --event op-1 on a terminal: the hint does not point at `deliveries --event op-1`, the command just run (QA); log --event still does', async () => {
    const deliveries = await runOnTerminal([...log.db, 'deliveries', '--event', 'op-1'], log.dir);
    expect(deliveries.code).toBe(0);
    expect(hints(deliveries.output)).toEqual([
      'husky-relay: no call event "op-1": it names the operator event at seq 1 (sink.paused); no alert of it is listed: one is planned only by a rule whose on: matches sink.paused (log --json shows the entry)',
    ]);
    const entries = await runOnTerminal([...log.db, 'log', '--event', 'op-1'], log.dir);
    expect(hints(entries.output)).toEqual([
      'husky-relay: no call event "op-1": it names the operator event at seq 1 (sink.paused), whose alerts `deliveries --event op-1` lists (log --json shows the entry)',
    ]);
  }, 60_000);
});

describe('the retention note, on a log retention truncated without removing any call', () => {
  // Given a log whose first two entries (rules.loaded) retention removed; its one call stays
  const log = logFixture('husky-bounds-', async (dbPath) => expect(await writeLogTruncatedBeforeCalls(dbPath)).toEqual({ erased: 0, removed: 2 }));

  it('call, log --event and deliveries --call say "not in the log" with no note about retention', async () => {
    // (the log starts at entry 3, and its call is there)
    expect((await runCli([...log.db, 'log', '--verify'], { cwd: log.dir, env: cliEnv() })).stdout).toContain('the log starts at entry 3: retention removed the entries before it');
    expect((await runCli([...log.db, 'call', 'call_3'], { cwd: log.dir, env: cliEnv() })).code).toBe(0);
    const call = await runCli([...log.db, 'call', 'call_1'], { cwd: log.dir, env: cliEnv() });
    expect(call).toMatchObject({ code: 1, stderr: 'husky-relay: no call "call_1" in the log\n' });
    const event = await runOnTerminal([...log.db, 'log', '--event', 'evt_1'], log.dir);
    expect(event.code).toBe(0);
    expect(hints(event.output)).toEqual(['husky-relay: no event "evt_1" in the log']);
    const deliveries = await runOnTerminal([...log.db, 'deliveries', '--call', 'call_1'], log.dir);
    expect(deliveries.code).toBe(0);
    expect(hints(deliveries.output)).toEqual(['husky-relay: no call "call_1" in the log']);
  }, 60_000);
});
