import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { cliEnv, expectOneLine, runCli, runOnTerminal } from './helpers/cli.js';
import { damageEntryData } from './helpers/damage.js';
import { writeRules } from './helpers/pipeline.js';
import { SECRET, tempDir } from './helpers/relay.js';

/**
 * Commands on a log one of whose entries was rewritten by hand as JSON of another shape than its
 * type's (README "Faults"): the entry is named as damaged, one line, exit 1, where the command
 * cannot do its work without it; never a stack, and never an answer about something else.
 */

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

const EMAIL = 'okapi@example.com';

function event(i: number): NewEntry {
  const body = JSON.stringify({ event_id: `e${i}`, event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i}`, contact_email: EMAIL } });
  return { type: 'event.received', data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body } };
}

/** A log of `entries` in a fresh folder, and a way to run the CLI on it. */
function logOf(entries: NewEntry[]): { db: string; dir: string; cli: (...args: string[]) => ReturnType<typeof runCli> } {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const rules = writeRules(temp.dir, 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions: [{ sink: console, text: hello }]\n');
  const db = join(temp.dir, 'relay.db');
  const log = new SqliteLog(db);
  log.append(entries);
  log.close();
  const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rules });
  return { db, dir: temp.dir, cli: (...args) => runCli(['--db', db, ...args], { cwd: temp.dir, env }) };
}

const FACTS = { event_id: 'e0', event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z' };

describe('erase --contact, when an event that mentions the contact was rewritten without a call id it can use', () => {
  it.each([
    { data: '{}', problem: 'event_id is missing' },
    { data: JSON.stringify({ ...FACTS, call_id: null }), problem: 'call_id is not text \\(null\\)' },
    { data: JSON.stringify({ ...FACTS, call_id: 5 }), problem: 'call_id is not text \\(number\\)' },
    { data: JSON.stringify({ ...FACTS, call_id: ['c0'] }), problem: 'call_id is not text \\(an array\\)' },
  ])('$data: names the entry, one line, exit 1, and erases nothing', async ({ data, problem }) => {
    // Given two calls of the same contact, the first one's event rewritten by hand
    const { db, cli } = logOf([event(0), event(1)]);
    damageEntryData(db, 1, data);
    // When the contact's calls are erased (or listed)
    for (const args of [['erase', '--contact', EMAIL, '--dry-run'], ['erase', '--contact', EMAIL]]) {
      const result = await cli(...args);
      // Then the damaged entry is named, with what is wrong and what to do
      expectOneLine(result, new RegExp(`^husky-relay: entry 1 of the log at ${db} is damaged: its data is not what a event\\.received entry holds \\(${problem}\\); run \`husky-relay log --verify\``));
    }
    // And nothing was erased: the other call's event still holds its body
    const log = await cli('log', '--json', '--call', 'c1');
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toContain(EMAIL);
  }, 60_000);
});

describe('deliveries --event op-SEQ of an operator entry rewritten as JSON of another shape', () => {
  it.each(['{}', '{"delivery_id":"d_gone","reason":7}', '{"delivery_id":null,"reason":"http_400: no"}'])('%s: the hint says the router skips it as damaged', async (data) => {
    // Given a dead letter rewritten by hand
    const { db, dir } = logOf([event(0), { type: 'delivery.dead', data: { delivery_id: 'd_gone', reason: 'http_400: no' } }]);
    damageEntryData(db, 2, data);
    // When its alerts are asked for, on a terminal
    const result = await runOnTerminal(['--db', db, 'deliveries', '--event', 'op-2'], dir);
    // Then the hint says why there is none: the router skips it
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(
      'husky-relay: no call event "op-2": it names the operator event at seq 2 (delivery.dead), which is damaged: the router skips it, so no rule alerts on it (husky-relay log --verify) (log --json shows the entry)\n',
    );
  }, 30_000);
});

describe('replay, when an event was rewritten as JSON of another shape', () => {
  it.each([
    { data: '{}', problem: 'event_id is missing' },
    { data: JSON.stringify({ ...FACTS, event_id: 7, call_id: 'c0' }), problem: 'event_id is not text \\(number\\)' },
    { data: JSON.stringify({ ...FACTS, call_id: 'c0', received_at: 5 }), problem: 'received_at is not text \\(number\\)' },
  ])('$data: names the entry as serve\'s router would skip it, one line, exit 1, and plans nothing', async ({ data, problem }) => {
    // Given two events, the first rewritten by hand (its sealed body intact)
    const { db, cli } = logOf([event(0), event(1)]);
    damageEntryData(db, 1, data);
    // When the current rules are run over them, as a dry run and for real
    for (const args of [['replay', '--dry-run'], ['replay']]) {
      const result = await cli(...args);
      // Then the entry is named, with what is wrong and what to do
      expectOneLine(result, new RegExp(`^husky-relay: entry 1 of the log at ${db} is damaged: its data is not what a event\\.received entry holds \\(${problem}\\); run \`husky-relay log --verify\``));
    }
    // And nothing was planned, from it or from the event after it
    const log = await cli('log', '--json', '--type', 'delivery.planned');
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toBe('');
  }, 60_000);
});
