import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/log/store.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { logFixture } from './helpers/log-fixture.js';

/**
 * Every count the CLI prints takes the form that goes with it: `1 entry`, `1 rule`, `1 sink`,
 * never `1 entries` (QA: `chain ok: 1 entries`).
 */
describe('counts of one in CLI output', () => {
  // Given a log of one event (evt_1 of call_1) and a rules file of one rule to one sink
  const rules = () => join(log.dir, 'rules.yaml');
  const log = logFixture('husky-counts-', async (dbPath) => {
    const at = '2026-06-01T10:00:00.000Z';
    const body = JSON.stringify({ event_id: 'evt_1', event_type: 'call.completed', created_at: at, org_id: 'org_1', data: { call_id: 'call_1' } });
    const store = await openStore(dbPath);
    await store.writer.append([{ type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org_1', created_at: at, received_at: at, call_id: 'call_1', body } }]);
    await store.close();
    writeFileSync(join(dbPath, '..', 'rules.yaml'), 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: r\n    on: call.completed\n    actions: [{ sink: console, text: "x" }]\n');
  });

  const run = (...more: string[]) => runCli([...log.db, '--rules', rules(), ...more], { cwd: log.dir, env: cliEnv() });

  it('log --verify: "chain ok: 1 entry"', async () => {
    const r = await run('log', '--verify');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^chain ok: 1 entry, head [0-9a-f]{64}\n$/);
  });

  it('rules check: "ok (1 rule, 1 sink, 1 enabled)"; rules test: "1 of 1 rule matches"', async () => {
    const check = await run('rules', 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toBe(`${rules()}: ok (1 rule, 1 sink, 1 enabled)\n`);
    const test = await run('rules', 'test', fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url)));
    expect(test.stdout.split('\n')[0]).toMatch(/^event \S+ \(call\.completed\): 1 of 1 rule matches$/);
  });

  it('replay --rebuild: "rebuilt from 1 entry (through seq 1)"', async () => {
    const r = await run('replay', '--rebuild');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^rebuilt from 1 entry \(through seq 1\) in \d+\.\d s, [\d,]+ entr(y|ies)\/s$/);
  }, 30_000);
});
