import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';
import { envelopeOf, TRACE_RULES } from './helpers/replay-scenario.js';

/** Four events, appended at these instants (UTC). */
const TIMES = ['2026-06-01T09:00:00.000Z', '2026-06-01T11:00:00.000Z', '2026-06-01T13:00:00.000Z', '2026-06-01T15:00:00.000Z'];


// New York is UTC-4 in June: reading a zone-less time in the host's zone moves it by four hours
const NEW_YORK = cliEnv({ TZ: 'America/New_York' });

describe('--since and --until read dates one way, whatever the host time zone (issue 12 item 1)', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  const cli = (...args: string[]) =>
    runCli(['--db', dbPath, '--rules', join(temp.dir, 'rules.yaml'), ...args], { cwd: temp.dir, env: NEW_YORK, timeoutMs: 15_000 });

  beforeEach(() => {
    temp = tempDir('husky-dates-');
    dbPath = join(temp.dir, 'relay.db');
    writeFileSync(join(temp.dir, 'rules.yaml'), TRACE_RULES);
    let i = 0;
    const log = new SqliteLog(dbPath, { now: () => new Date(TIMES[i]!) });
    for (; i < TIMES.length; i++) {
      const envelope = envelopeOf(`evt_${i}`, 'call.completed', i);
      log.append([
        {
          type: 'event.received',
          data: { event_id: `evt_${i}`, event_type: 'call.completed', org_id: envelope.org_id, created_at: envelope.created_at, received_at: TIMES[i]!, call_id: envelope.data.call_id, body: JSON.stringify(envelope) },
        },
      ]);
    }
    log.close();
  });
  afterEach(() => temp.cleanup());

  const eventIds = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { data: { event_id: string } }).data.event_id);

  it('log --since: a time without a zone is UTC, with or without seconds', async () => {
    // When the entries since 12:00 are asked for, under TZ=America/New_York
    const withSeconds = await cli('log', '--json', '--since', '2026-06-01T12:00:00');
    const withoutSeconds = await cli('log', '--json', '--since', '2026-06-01T12:00');
    const withZone = await cli('log', '--json', '--since', '2026-06-01T08:00:00-04:00');
    // Then they are those appended at or after 12:00 UTC (13:00 and 15:00), not after 16:00 UTC
    expect(withSeconds.code).toBe(0);
    expect(eventIds(withSeconds.stdout)).toEqual(['evt_2', 'evt_3']);
    expect(eventIds(withoutSeconds.stdout)).toEqual(['evt_2', 'evt_3']);
    expect(eventIds(withZone.stdout)).toEqual(['evt_2', 'evt_3']);
    // And a bare date is midnight UTC of that day
    expect(eventIds((await cli('log', '--json', '--since', '2026-06-01')).stdout)).toEqual(['evt_0', 'evt_1', 'evt_2', 'evt_3']);
  });

  it('replay --since/--until: zone-less times are UTC', async () => {
    // When a dry run covers 10:00 to 14:00, under TZ=America/New_York
    const dry = await cli('replay', '--since', '2026-06-01T10:00:00', '--until', '2026-06-01T14:00', '--dry-run');
    // Then the events of 11:00 and 13:00 UTC are the ones it would plan for
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/call\.completed evt_1\b/);
    expect(dry.stdout).toMatch(/call\.completed evt_2\b/);
    expect(dry.stdout).not.toMatch(/evt_[03]\b/);
    expect(dry.stdout).toContain('dry run: 2 deliveries would be planned for 2 events');
  });

  it('anything else is refused: exit 1 naming the option, the value and the forms it takes', async () => {
    // Given values Date.parse would read somehow (in the host's zone, or as a year)
    const bad: [string[], string][] = [
      [['log', '--since', 'June 1'], '--since: "June 1"'],
      [['log', '--since', '2026-06-01 10:00 PM'], '--since: "2026-06-01 10:00 PM"'],
      [['log', '--since', '-3'], '--since: "-3"'],
      [['log', '--since', '2026-02-30'], '--since: "2026-02-30"'],
      [['replay', '--since', 'yesterday', '--dry-run'], '--since: "yesterday"'],
      [['replay', '--until', '2026-06-01T25:00:00Z', '--dry-run'], '--until: "2026-06-01T25:00:00Z"'],
      [['replay', '--until', 'Mon, 01 Jun 2026 10:00:00 GMT', '--dry-run'], '--until: "Mon, 01 Jun 2026 10:00:00 GMT"'],
    ];
    for (const [args, what] of bad) {
      // When each is given
      const result = await cli(...args);
      // Then the command refuses it in one line that says what it takes, and prints nothing
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `husky-relay: ${what} is not an ISO-8601 date or date-time; use 2026-06-01 (midnight UTC), 2026-06-01T09:00, 2026-06-01T09:00:00Z or 2026-06-01T11:00:00+02:00 (no zone means UTC)\n`,
      );
    }
  });
});
