import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { acquireServeLock } from '../src/log/sqlite/serve-lock.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';
import { appendSteps, envelopeOf, sampleSteps, stepArb, steppingClock, TRACE_RULES } from './helpers/replay-scenario.js';


describe('husky-relay replay (the built CLI)', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  const cli = (...args: string[]) => runCli(['--db', dbPath, '--rules', join(temp.dir, 'rules.yaml'), ...args], { cwd: temp.dir, env: cliEnv(), timeoutMs: 15_000 });

  beforeEach(() => {
    temp = tempDir('husky-replay-cli-');
    dbPath = join(temp.dir, 'relay.db');
    writeFileSync(join(temp.dir, 'rules.yaml'), TRACE_RULES);
    // a log with every outcome: pending, retrying, succeeded, dead, re-driven, rate limited
    const log = new SqliteLog(dbPath, { now: steppingClock() });
    appendSteps(log, sampleSteps(stepArb, 300, 42));
    log.close();
  });
  afterEach(() => temp.cleanup());

  it('replay --rebuild: status --json and deliveries --json are identical before and after', async () => {
    // Given what status and deliveries print now
    const status = await cli('status', '--json');
    const deliveries = await cli('deliveries', '--json', '--limit', '100000');
    expect(status.code).toBe(0);
    expect(JSON.parse(deliveries.stdout).map((d: { status: string }) => d.status)).toEqual(
      expect.arrayContaining(['pending', 'retrying', 'succeeded', 'dead']),
    );

    // When the projections are rebuilt (piped: no progress bar)
    const rebuild = await cli('replay', '--rebuild');

    // Then it says what it did, and both outputs are byte for byte the same
    expect(rebuild).toMatchObject({ code: 0, stderr: '' });
    expect(rebuild.stdout).toMatch(/^rebuilt from [\d,]+ entries \(through seq \d+\) in [\d.]+ s/);
    expect(rebuild.stdout).toMatch(/p_deliveries\s+\d+/);
    expect((await cli('status', '--json')).stdout).toBe(status.stdout);
    expect((await cli('deliveries', '--json', '--limit', '100000')).stdout).toBe(deliveries.stdout);
    // And --verify agrees
    expect(await cli('replay', '--verify')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^the projections match the log/) });
  });

  it('replay --rebuild refuses while serve holds the database, and changes nothing', async () => {
    // Given a live process holding the serve lock
    const lock = acquireServeLock(dbPath);
    const status = await cli('status', '--json');

    // When a rebuild is asked for
    const result = await cli('replay', '--rebuild');
    lock.release();

    // Then it exits 1 saying who holds the database and what to do
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`serve (pid ${process.pid}) holds ${dbPath}; stop it first`);
    expect(result.stdout).toBe('');
    expect((await cli('status', '--json')).stdout).toBe(status.stdout);
  });

  it('replay --verify prints the rows that differ from the log and exits 1', async () => {
    // Given projections that drifted from the log
    const log = new SqliteLog(dbPath);
    const id = log.db.prepare(`SELECT delivery_id FROM p_deliveries WHERE status = 'succeeded' LIMIT 1`).pluck().get() as string;
    log.db.prepare(`UPDATE p_deliveries SET status = 'dead' WHERE delivery_id = ?`).run(id);
    log.close();

    // When verified
    const result = await cli('replay', '--verify');

    // Then the row is named with both values, and the repair is suggested
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`p_deliveries delivery_id=${id}: status live "dead", rebuilt "succeeded"`);
    expect(result.stdout).toContain('1 projection row differs');
    expect(result.stdout).toContain('husky-relay replay --rebuild');
  });

  it('replay --dry-run shows the plans and a count per rule, appends nothing; replay then plans them', async () => {
    // Given two events the router never saw
    const log = new SqliteLog(dbPath, { now: steppingClock(Date.parse('2026-08-01T00:00:00Z')) });
    const ids = ['evt_cli_1', 'evt_cli_2'];
    log.append(
      ids.map((id, i) => {
        const envelope = envelopeOf(id, 'call.completed', 40 + i);
        return {
          type: 'event.received' as const,
          data: { event_id: id, event_type: 'call.completed', org_id: envelope.org_id, created_at: envelope.created_at, received_at: '2026-08-01T00:00:00.000Z', call_id: envelope.data.call_id, body: JSON.stringify(envelope) },
        };
      }),
    );
    const lastSeq = log.lastSeq();
    log.close();

    // When dry run for events received since August
    const dry = await cli('replay', '--since', '2026-08-01', '--dry-run');

    // Then each would-be delivery is a line with rule, sink, event and request, then the counts
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^trace\s+console\s+call\.completed evt_cli_1\s+"call\.completed call_40"/m);
    expect(dry.stdout).toMatch(/^trace\s+2\s+0$/m);
    expect(dry.stdout).toContain('dry run: 2 deliveries would be planned for 2 events');
    expect(JSON.parse((await cli('status', '--json')).stdout).last_seq).toBe(lastSeq);

    // And the real run plans them, once
    expect((await cli('replay', '--since', '2026-08-01')).stdout).toContain('planned 2 deliveries for 2 events');
    expect((await cli('replay', '--since', '2026-08-01')).stdout).toMatch(/^trace\s+0\s+2$/m);
    const deliveries = JSON.parse((await cli('deliveries', '--json')).stdout) as { event_id: string; status: string }[];
    expect(deliveries.filter((d) => ids.includes(d.event_id)).map((d) => d.status)).toEqual(['pending', 'pending']);
  });

  it('usage errors exit 1 and say what is wrong', async () => {
    expect(await cli('replay', '--rebuild', '--dry-run')).toMatchObject({ code: 1, stderr: expect.stringContaining('--rebuild takes no other options') });
    expect(await cli('replay', '--since', 'last tuesday')).toMatchObject({ code: 1, stderr: expect.stringContaining('--since: "last tuesday" is not an ISO-8601') });
    expect(await cli('replay', '--rule', 'nope', '--dry-run')).toMatchObject({ code: 1, stderr: expect.stringContaining('--rule: no rule "nope"') });
  });
});
