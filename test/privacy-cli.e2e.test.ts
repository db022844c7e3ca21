import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { cliEnv, jsonLines, runCli } from './helpers/cli.js';
import { deliveriesOf, fixture, ManualClock, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

/**
 * `erase`, `log --verify` and `status --json` `chain_head` through the built CLI (README
 * "Personal data"): a call whose transcript holds a marker and whose contact has an email.
 */
const MARKER = 'okapi-marker-94b2d0';
const EMAIL = 'okapi@example.com';
const CALL = 'call_okapi_1';
let fake: FakeHttp;
let dir: string;
let cleanup: () => void;
let dbPath: string;
let rulesPath: string;
const cli = (...args: string[]) => runCli(['--db', dbPath, '--rules', rulesPath, ...args], { cwd: dir, env: cliEnv(), timeoutMs: 60_000 });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  fake = await startFakeHttp();
  rulesPath = writeRules(
    dir,
    `version: 1
sinks:
  hook: { type: http, url: "${fake.url}" }
rules:
  - id: to-hook
    on: call.*
    actions:
      - sink: hook
`,
  );
  const relay = await startRoutingRelay({ dir, rulesPath, clock: new ManualClock() });
  dbPath = relay.dbPath;
  await postEvent(relay, fixture('call.completed', (e) => Object.assign(e.data, { call_id: CALL, transcript: MARKER, contact_email: EMAIL })));
  await postEvent(relay, fixture('call.initiated', (e) => (e.data.call_id = 'call_kept')));
  await until(() => deliveriesOf(relay.log).filter((d) => d.status === 'succeeded').length === 2, { what: 'both delivered' });
  await relay.close();
  relay.log.close();
}, 120_000);
afterAll(async () => {
  await fake.close();
  cleanup();
});

describe.sequential('erase --contact through the CLI (README "Personal data")', () => {
  it('before: the files hold no marker, log --json shows it', async () => {
    const bytes = Buffer.concat([dbPath, `${dbPath}-wal`].filter(existsSync).map((p) => readFileSync(p)));
    expect(bytes.includes(MARKER)).toBe(false);
    const log = await cli('log', '--json', '--call', CALL);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain(MARKER);
  }, 120_000);

  it('--dry-run lists the call and changes nothing', async () => {
    const dry = await cli('erase', '--contact', EMAIL.toUpperCase(), '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`${CALL}\\s+1\\s+2\\s+would be erased`));
    expect(dry.stdout).toContain('dry run: 1 call would be erased; nothing was changed');
    expect((await cli('log', '--json', '--call', CALL)).stdout).toContain(MARKER);
  }, 120_000);

  it('erases: gone from every output, call shows [erased], replay --verify matches, log --verify passes', async () => {
    const erased = await cli('erase', '--contact', EMAIL, '--reason', 'customer asked');
    expect(erased).toMatchObject({ code: 0, stderr: '' });
    expect(erased.stdout).toMatch(new RegExp(`^erased ${CALL}: 2 payloads, 0 open deliveries closed \\(seq \\d+\\)\\n$`));
    for (const args of [['log', '--json'], ['log'], ['call', CALL], ['call', CALL, '--json'], ['deliveries', '--json'], ['status', '--json']]) {
      const out = await cli(...args);
      expect(out.code).toBe(0);
      expect(out.stdout).not.toContain(MARKER);
    }
    const story = (await cli('call', CALL)).stdout.trimEnd().split('\n');
    expect(story[0]).toContain('[erased]');
    // and its timeline ends with the erasure (§9): who and why
    expect(story.at(-1)?.split(/ {2,}/).slice(2)).toEqual(['-', 'erased', 'by cli: customer asked']);
    const lines = jsonLines((await cli('log', '--json', '--call', CALL)).stdout);
    expect(lines.find((e) => e['type'] === 'event.received')).toMatchObject({ data: { call_id: CALL, body: '[erased]' } });
    expect(lines.at(-1)).toMatchObject({ type: 'call.erased', data: { call_id: CALL, reason: 'customer asked', by: 'cli', downstream: false } });
    expect((await cli('replay', '--verify')).code).toBe(0);
    const verify = await cli('log', '--verify');
    const status = JSON.parse((await cli('status', '--json')).stdout) as { chain_head: string; last_seq: number };
    expect(verify).toMatchObject({ code: 0, stdout: `chain ok: ${status.last_seq} entries, head ${status.chain_head}\n` });
    // a replay over all events skips the erased one, and says so
    const replay = await cli('replay', '--dry-run');
    expect(replay.stdout).toContain('1 of them erased and skipped');
  }, 240_000);

  it('--downstream plans a signed call.erased notice to the HTTP sink that received the call', async () => {
    const erased = await cli('erase', '--call', 'call_kept', '--downstream');
    expect(erased.code).toBe(0);
    expect(erased.stdout).toContain('erased call_kept: 2 payloads');
    expect(erased.stdout).toContain('deletions at the sinks are planned as deliveries');
    const deliveries = JSON.parse((await cli('deliveries', '--json')).stdout) as { rule_id: string; sink: string; status: string }[];
    expect(deliveries.filter((d) => d.rule_id === 'erase').map((d) => [d.sink, d.status])).toEqual([['hook', 'pending']]);
    expect((await cli('log', '--verify')).code).toBe(0);
  }, 120_000);

  it('a database whose entry was edited in SQLite fails log --verify, naming the entry', async () => {
    const copy = join(dir, 'tampered.db');
    copyFileSync(dbPath, copy);
    const raw = new Database(copy);
    raw.exec(`DROP TRIGGER entries_no_update`);
    raw.prepare(`UPDATE entries SET data = json_set(data, '$.outcome', 'failed') WHERE type = 'delivery.attempted' AND seq = (SELECT min(seq) FROM entries WHERE type = 'delivery.attempted')`).run();
    const seq = raw.prepare(`SELECT min(seq) FROM entries WHERE type = 'delivery.attempted'`).pluck().get() as number;
    raw.close();
    const verify = await runCli(['--db', copy, 'log', '--verify'], { cwd: dir, env: cliEnv(), timeoutMs: 60_000 });
    expect(verify.code).toBe(1);
    expect(verify.stderr).toBe(`husky-relay: log --verify: entry ${seq} does not match the chain: its hash does not match its contents (${seq - 1} entries before it are sound)\n`);
  }, 120_000);
});
