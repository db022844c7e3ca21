import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { damageEntryData } from './helpers/damage.js';
import { entriesOf, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * `status` shows the sinks as the relay running on the log has them (its newest `rules.loaded`),
 * not as a rules file on the machine `status` runs on says (README "Command line").
 */

/** What serve runs: a Slack sink whose token is unset, so serve disables it (no rule needed: only the sinks' states matter here). */
const SERVED = `version: 1
sinks:
  console: { type: log }
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules: []
`;

/** Another machine's rules file: the token written in, and a sink serve never had. */
const ELSEWHERE = `version: 1
sinks:
  slack: { type: slack, token: "xoxb-written-in" }
  crm: { type: http, url: "https://crm.example.com/hook" }
rules: []
`;

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function folder(): string {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

async function serve(dir: string): Promise<TestRelay & { rulesPath: string }> {
  const rulesPath = writeRules(dir, SERVED);
  const relay = await startRoutingRelay({ dir, rulesPath, env: {} });
  cleanups.push(() => relay.close());
  return Object.assign(relay, { rulesPath });
}

/** `status` run in a folder of its own, with that folder's rules file and a token set in its environment. */
async function statusElsewhere(dbPath: string, ...args: string[]) {
  const dir = folder();
  const rulesPath = writeRules(dir, ELSEWHERE);
  const out = await runCli(['--db', dbPath, '--rules', rulesPath, 'status', ...args], { cwd: dir, env: cliEnv({ SLACK_BOT_TOKEN: 'xoxb-elsewhere' }) });
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return { out: out.stdout, rulesPath };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('status: the sinks of the running relay, from the log', () => {
  it('shows the sink serve disabled for its missing token, whatever the local rules file says, and says where that comes from', async () => {
    // Given serve running with a Slack sink whose token is unset
    const relay = await serve(folder());
    const [loaded] = entriesOf(relay.log, 'rules.loaded');
    // Then its rules.loaded records each sink's state
    expect(loaded?.data).toEqual({
      rules_hash: sha256(relay.rulesPath),
      path: relay.rulesPath,
      sinks: { console: { enabled: true }, slack: { enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' } },
    });

    // When status runs elsewhere, with a rules file that has the token and another sink
    const json = JSON.parse((await statusElsewhere(relay.dbPath, '--json')).out);
    // Then it shows the relay's sinks, and where they come from
    expect(json.sinks.slack).toMatchObject({ enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' });
    expect(json.sinks.console).toMatchObject({ enabled: true, disabled_reason: null });
    expect(Object.keys(json.sinks)).toEqual(['console', 'slack']);
    expect(json.sinks_from).toEqual({ source: 'rules.loaded', seq: loaded!.seq, at: loaded!.at, path: relay.rulesPath, rules_hash: sha256(relay.rulesPath) });

    // and a person reads the same, with the line saying so above the sinks
    const lines = (await statusElsewhere(relay.dbPath)).out.split('\n');
    const from = lines.findIndex((l) => l.startsWith('sinks from'));
    expect(lines[from]).toBe(`sinks from the log: rules loaded at seq ${loaded!.seq} (${loaded!.at}) from ${relay.rulesPath}`);
    expect(lines[from + 1]).toMatch(/^SINK\s+STATE/);
    expect(lines.find((l) => l.startsWith('slack '))).toMatch(/^slack\s+disabled: \$\{SLACK_BOT_TOKEN\} not set\s/);
  });

  it('a reload that enables the sink (its token now set) records rules.loaded again, same file, and status follows', async () => {
    // Given serve with the Slack sink disabled
    const relay = await serve(folder());
    const hash = sha256(relay.rulesPath);
    // When a reload finds the token set (the same rules file)
    expect(await relay.pipeline!.reload('SIGHUP', { SLACK_BOT_TOKEN: 'xoxb-now-set' })).toBe(true);
    await until(() => entriesOf(relay.log, 'rules.loaded').length === 2, { what: 'a second rules.loaded' });
    // Then a second rules.loaded, same hash, says the sink is enabled
    const [first, second] = entriesOf(relay.log, 'rules.loaded');
    expect(second!.data).toEqual({ rules_hash: hash, path: relay.rulesPath, sinks: { console: { enabled: true }, slack: { enabled: true } } });
    expect(first!.data.rules_hash).toBe(hash);
    // and status shows it enabled, from that entry
    const json = JSON.parse((await statusElsewhere(relay.dbPath, '--json')).out);
    expect(json.sinks.slack).toMatchObject({ enabled: true, disabled_reason: null });
    expect(json.sinks_from).toMatchObject({ source: 'rules.loaded', seq: second!.seq });

    // When the token goes away again, the sink is disabled again, on record
    expect(await relay.pipeline!.reload('SIGHUP', {})).toBe(true);
    await until(() => entriesOf(relay.log, 'rules.loaded').length === 3, { what: 'a third rules.loaded' });
    expect(entriesOf(relay.log, 'rules.loaded')[2]!.data.sinks?.['slack']).toEqual({ enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' });
    // and a reload that changes nothing records nothing
    expect(await relay.pipeline!.reload('SIGHUP', {})).toBe(true);
    await relay.pipeline!.reload('SIGHUP', {});
    expect(entriesOf(relay.log, 'rules.loaded')).toHaveLength(3);
  });
});

describe("status: a log without the relay's sink states", () => {
  /** A log an older relay wrote: its rules.loaded has no `sinks`. */
  function olderLog(dir: string, rulesPath: string): string {
    const dbPath = join(dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([{ type: 'rules.loaded', data: { rules_hash: sha256(rulesPath), path: rulesPath } }]);
    log.close();
    return dbPath;
  }

  it('falls back to the local rules file, and says why', async () => {
    // Given a log whose only rules.loaded an older relay wrote
    const dir = folder();
    const dbPath = olderLog(dir, writeRules(dir, SERVED));
    // When status runs with a rules file of its own
    const json = await statusElsewhere(dbPath, '--json');
    const report = JSON.parse(json.out);
    // Then the sinks are that file's, and it says so
    expect(Object.keys(report.sinks)).toEqual(['crm', 'slack']);
    expect(report.sinks.slack).toMatchObject({ enabled: true });
    expect(report.sinks_from).toEqual({
      source: 'rules file',
      path: json.rulesPath,
      reason: "the log's latest rules.loaded (seq 1) has no sink states: an older relay wrote it",
    });
    const text = await statusElsewhere(dbPath);
    expect(text.out.split('\n')).toContain(`sinks from ${text.rulesPath} (the log's latest rules.loaded (seq 1) has no sink states: an older relay wrote it)`);
  });

  it('a damaged newest rules.loaded counts as none: status answers from the rules file, exit 0, and says the entry is damaged', async () => {
    // Given a log whose only rules.loaded (with sink states) was damaged on disk
    const dir = folder();
    const dbPath = join(dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([{ type: 'rules.loaded', data: { rules_hash: 'h', path: '/srv/rules.yaml', sinks: { console: { enabled: true } } } }]);
    log.close();
    damageEntryData(dbPath, 1, '{x');
    // When status runs, in JSON and for a person
    const json = await statusElsewhere(dbPath, '--json');
    const report = JSON.parse(json.out);
    // Then the sinks are the local rules file's, and it says why
    expect(Object.keys(report.sinks)).toEqual(['crm', 'slack']);
    expect(report.sinks_from).toEqual({ source: 'rules file', path: json.rulesPath, reason: expect.stringMatching(/^the log's latest rules.loaded \(seq 1\) is damaged: its data is not valid JSON/) });
    const text = await statusElsewhere(dbPath);
    expect(text.out).toMatch(/^sinks from .* \(the log's latest rules.loaded \(seq 1\) is damaged: its data is not valid JSON.*\)$/m);
  });

  it.each([
    ['{}', 'rules_hash is missing'],
    ['{"rules_hash":"h","path":"/srv/rules.yaml","sinks":null}', 'sinks is not an object (null)'],
    ['{"rules_hash":"h","path":7,"sinks":{}}', 'path is not text (number)'],
    ['{"rules_hash":"h","path":"/srv/rules.yaml","sinks":{"slack":true}}', 'sinks.slack is not an object (boolean)'],
    ['{"rules_hash":"h","path":"/srv/rules.yaml","sinks":{"slack":{"enabled":"yes"}}}', 'sinks.slack.enabled is not true or false (string)'],
  ])('a newest rules.loaded rewritten as %s is damaged, not "an older relay": status answers from the rules file and says what is wrong', async (data, what) => {
    // Given a log whose only rules.loaded was rewritten as JSON of another shape
    const dir = folder();
    const dbPath = join(dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([{ type: 'rules.loaded', data: { rules_hash: 'h', path: '/srv/rules.yaml', sinks: { console: { enabled: true } } } }]);
    log.close();
    damageEntryData(dbPath, 1, data);
    // When status runs
    const json = await statusElsewhere(dbPath, '--json');
    // Then the sinks are the local rules file's (exit 0, nothing on stderr), and the reason names the damage
    expect(Object.keys(JSON.parse(json.out).sinks)).toEqual(['crm', 'slack']);
    expect(JSON.parse(json.out).sinks_from.reason).toBe(`the log's latest rules.loaded (seq 1) is damaged: its data is not what a rules.loaded entry holds (${what})`);
  });

  it('serve starting on a log whose newest rules.loaded has sinks: null records the rules in force after it', async () => {
    // Given such a log beside a rules file
    const dir = folder();
    const dbPath = join(dir, 'relay.db');
    const rulesPath = writeRules(dir, SERVED);
    const log = new SqliteLog(dbPath);
    log.append([{ type: 'rules.loaded', data: { rules_hash: sha256(rulesPath), path: rulesPath, sinks: { console: { enabled: true } } } }]);
    log.close();
    damageEntryData(dbPath, 1, JSON.stringify({ rules_hash: sha256(rulesPath), path: rulesPath, sinks: null }));
    // When serve starts on it
    const relay = await serve(dir);
    // Then it appends a rules.loaded with the sinks (before, comparing with sinks: null threw)
    await until(() => entriesOf(relay.log, 'rules.loaded').length === 2, { what: 'a second rules.loaded' });
    expect(entriesOf(relay.log, 'rules.loaded')[1]!.data.sinks).toEqual({ console: { enabled: true }, slack: { enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' } });
  });

  it('a log with no rules.loaded at all: the rules file, and the line says the log has none', async () => {
    const dir = folder();
    const dbPath = join(dir, 'relay.db');
    new SqliteLog(dbPath).close();
    const text = await statusElsewhere(dbPath);
    expect(text.out.split('\n')).toContain(`sinks from ${text.rulesPath} (the log has no rules.loaded)`);
  });

  it('serve on such a log records its sink states at start, though the rules file is the same', async () => {
    // Given an older relay's log, and the same rules file
    const dir = folder();
    olderLog(dir, writeRules(dir, SERVED));
    // When serve starts on it
    const relay = await serve(dir);
    // Then it appends rules.loaded with the sinks, same hash and path as the older entry
    const entries = entriesOf(relay.log, 'rules.loaded');
    expect(entries).toHaveLength(2);
    expect(entries[1]!.data).toEqual({ ...entries[0]!.data, sinks: { console: { enabled: true }, slack: { enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' } } });
  });
});
