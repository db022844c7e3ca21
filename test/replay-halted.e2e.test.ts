import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { cliEnv, jsonLines, runCli } from './helpers/cli.js';
import { damageEntryData } from './helpers/damage.js';
import { writeRules } from './helpers/pipeline.js';
import { SECRET, tempDir } from './helpers/relay.js';

/**
 * QA (new-user pass): `replay` on a log whose entry past its first batches (500 events each) is
 * damaged or of another shape appended the plans of those batches, then said only that the
 * entry is damaged (exit 1): 1000 deliveries planned, and nothing said of them, nor of the
 * generation a `--force` run planned them under. It now says what stays planned.
 */

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

function event(i: number): NewEntry {
  const body = JSON.stringify({ event_id: `e${i}`, event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i}` } });
  return { type: 'event.received', data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body } };
}

/** A log of `events` events (seqs 1…), entry `seq` rewritten as `data`, and a way to run the CLI on it. */
function damagedLog(events: number, seq: number, data: string): { db: string; cli: (...args: string[]) => ReturnType<typeof runCli> } {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const rules = writeRules(temp.dir, 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions: [{ sink: console, text: hello }]\n');
  const db = join(temp.dir, 'relay.db');
  const log = new SqliteLog(db);
  log.append(Array.from({ length: events }, (_, i) => event(i)));
  log.close();
  damageEntryData(db, seq, data);
  const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rules });
  return { db, cli: (...args) => runCli(['--db', db, ...args], { cwd: temp.dir, env }) };
}

describe('replay on a log damaged past its first batches', () => {
  it.each([
    { events: 1200, seq: 1100, data: '{}', what: 'its data is not what a event\\.received entry holds \\(event_id is missing\\)', through: 1000, planned: '1,000' },
    { events: 700, seq: 650, data: '{not json', what: 'its data is not valid JSON', through: 500, planned: '500' },
  ])('entry $seq of $events is $data: after the damaged-entry line, says what stays planned, and under which generation', async ({ events, seq, data, what, through, planned }) => {
    const { db, cli } = damagedLog(events, seq, data);
    // When the rules are run over the log
    const first = await cli('replay');
    // Then it exits 1, names the damaged entry, then says which plans were appended
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toBe('');
    const [damaged, stayed, ...rest] = first.stderr.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(damaged).toMatch(new RegExp(`^husky-relay: entry ${seq} of the log at ${db} is damaged: ${what}`));
    expect(stayed).toBe(
      `husky-relay: replay: stopped at entry ${seq}; the ${planned} deliveries planned for the events through seq ${through} stay planned (serve's dispatcher delivers them); run the same command again once the log is repaired: it plans only what is not planned yet`,
    );
    // And a --force run names the generation its plans are under, as the log holds them
    const forced = await cli('replay', '--force');
    expect(forced.code, forced.stderr).toBe(1);
    const line = forced.stderr.trimEnd().split('\n')[1];
    const generation = /under generation (\S+) for/.exec(line ?? '')?.[1];
    expect(line).toBe(
      `husky-relay: replay --force: stopped at entry ${seq}; the ${planned} deliveries planned under generation ${generation} for the events through seq ${through} stay planned (serve's dispatcher delivers them); another --force run plans every event again under a new generation and would deliver those twice`,
    );
    const plans = jsonLines((await cli('log', '--json', '--type', 'delivery.planned')).stdout);
    expect(plans.filter((p) => (p['data'] as { generation?: string }).generation === generation)).toHaveLength(through);
    expect(plans).toHaveLength(2 * through);
    // And a dry run, which appends nothing, says only that the entry is damaged
    const dry = await cli('replay', '--dry-run');
    expect(dry.code).toBe(1);
    expect(dry.stderr.trimEnd().split('\n')).toHaveLength(1);
    // And so does the same replay again: its batches were planned by the first, nothing new stays
    const again = await cli('replay');
    expect(again.code).toBe(1);
    expect(again.stderr.trimEnd().split('\n'), again.stderr).toEqual([damaged]);
  }, 90_000);
});
