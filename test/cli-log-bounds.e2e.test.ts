import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, runOnTerminal } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';
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
  let temp: ReturnType<typeof tempDir>;
  let db: string[];
  let last: number;

  beforeAll(async () => {
    // Given a log retention truncated: it starts at entry 4
    temp = tempDir('husky-bounds-');
    const dbPath = join(temp.dir, 'relay.db');
    await writeTruncatedLog(dbPath);
    db = ['--db', dbPath];
    const status = await runCli([...db, 'status', '--json'], { cwd: temp.dir, env: cliEnv() });
    last = (JSON.parse(status.stdout) as { last_seq: number }).last_seq;
  }, 60_000);
  afterAll(() => temp.cleanup());

  it('log --event and deliveries --event op-SEQ: "the log ends at seq N", exit 0', async () => {
    const past = `op-${last + 1}`;
    for (const command of ['log', 'deliveries']) {
      const r = await runOnTerminal([...db, command, '--event', past], temp.dir);
      expect(r.code).toBe(0);
      expect(hints(r.output)).toEqual([`husky-relay: no event "${past}" in the log: the log ends at seq ${last}`]);
    }
  }, 60_000);

  it('call op-SEQ: "the log ends at seq N", exit 1', async () => {
    const r = await runCli([...db, 'call', `op-${last + 50}`], { cwd: temp.dir, env: cliEnv() });
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `husky-relay: no call "op-${last + 50}" in the log: the log ends at seq ${last}\n` });
  });
});

describe('the retention note, on a log retention truncated without removing any call', () => {
  let temp: ReturnType<typeof tempDir>;
  let db: string[];

  beforeAll(async () => {
    // Given a log whose first two entries (rules.loaded) retention removed; its one call stays
    temp = tempDir('husky-bounds-');
    const dbPath = join(temp.dir, 'relay.db');
    expect(await writeLogTruncatedBeforeCalls(dbPath)).toEqual({ erased: 0, removed: 2 });
    db = ['--db', dbPath];
  }, 60_000);
  afterAll(() => temp.cleanup());

  it('call, log --event and deliveries --call say "not in the log" with no note about retention', async () => {
    // (the log starts at entry 3, and its call is there)
    expect((await runCli([...db, 'log', '--verify'], { cwd: temp.dir, env: cliEnv() })).stdout).toContain('the log starts at entry 3: retention removed the entries before it');
    expect((await runCli([...db, 'call', 'call_3'], { cwd: temp.dir, env: cliEnv() })).code).toBe(0);
    const call = await runCli([...db, 'call', 'call_1'], { cwd: temp.dir, env: cliEnv() });
    expect(call).toMatchObject({ code: 1, stderr: 'husky-relay: no call "call_1" in the log\n' });
    const event = await runOnTerminal([...db, 'log', '--event', 'evt_1'], temp.dir);
    expect(event.code).toBe(0);
    expect(hints(event.output)).toEqual(['husky-relay: no event "evt_1" in the log']);
    const deliveries = await runOnTerminal([...db, 'deliveries', '--call', 'call_1'], temp.dir);
    expect(deliveries.code).toBe(0);
    expect(hints(deliveries.output)).toEqual(['husky-relay: no call "call_1" in the log']);
  }, 60_000);
});
