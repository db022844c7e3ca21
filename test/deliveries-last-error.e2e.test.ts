import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { signIn } from './helpers/browser.js';
import { cliEnv, runCli, startServe } from './helpers/cli.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { SECRET, tempDir } from './helpers/relay.js';

/**
 * `deliveries`' LAST ERROR column (README "Command line"): an open delivery shows its last
 * error, a dead one why it is dead, and one that succeeded after a failed attempt shows that
 * error as `earlier: …`, so it does not read as a failure; `--json` keeps `last_error` as it is.
 * The console's deliveries page says the same.
 */
const plan = (delivery_id: string): NewEntry => ({
  type: 'delivery.planned',
  data: {
    delivery_id,
    event_id: 'evt_1',
    event_seq: 1,
    event_type: 'call.completed',
    rule_id: 'to-hook',
    action_index: delivery_id === 'dlv_ok' ? 0 : 1,
    sink: 'hook',
    request: { body: {} },
    order_key: null,
    rules_hash: 'f'.repeat(64),
  },
});
const failed = (delivery_id: string): NewEntry => ({
  type: 'delivery.attempted',
  data: {
    delivery_id,
    attempt: 1,
    outcome: 'failed',
    duration_ms: 30,
    error: { kind: 'transient', code: 'http_503', message: 'Service Unavailable', status: 503 },
    retry_at: '2026-06-01T09:01:00.000Z',
    result: null,
  },
});

let temp: ReturnType<typeof tempDir>;
let dbPath: string;
beforeAll(() => {
  temp = tempDir();
  dbPath = join(temp.dir, 'relay.db');
  const log = new SqliteLog(dbPath, { now: () => new Date('2026-06-01T09:00:00.000Z') });
  const body = JSON.stringify({ event_id: 'evt_1', event_type: 'call.completed', data: { call_id: 'call_1' } });
  log.append([{ type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org_1', created_at: '2026-06-01T08:59:00Z', received_at: '2026-06-01T09:00:00Z', call_id: 'call_1', body } }]);
  log.append([plan('dlv_ok'), plan('dlv_open'), failed('dlv_ok'), failed('dlv_open')]);
  log.append([{ type: 'delivery.attempted', data: { delivery_id: 'dlv_ok', attempt: 2, outcome: 'succeeded', duration_ms: 40, error: null, retry_at: null, result: null } }]);
  log.close();
});
afterAll(() => temp.cleanup());

describe('deliveries: LAST ERROR', () => {
  it("shows a succeeded delivery's failed attempt as earlier, an open one's as it is; --json keeps last_error", async () => {
    const human = await runCli(['--db', dbPath, 'deliveries'], { cwd: temp.dir, env: cliEnv() });
    expect(human.code).toBe(0);
    const row = (id: string) => human.stdout.split('\n').find((l) => l.startsWith(id))!;
    expect(row('dlv_ok')).toMatch(/\bsucceeded\s+2\s+-\s+earlier: transient http_503: Service Unavailable$/);
    expect(row('dlv_open')).toMatch(/\bretrying\s+1\s+2026-06-01T09:01:00.000Z\s+transient http_503: Service Unavailable$/);
    const json = JSON.parse((await runCli(['--db', dbPath, 'deliveries', '--json'], { cwd: temp.dir, env: cliEnv() })).stdout) as Record<string, unknown>[];
    expect(json.find((d) => d['delivery_id'] === 'dlv_ok')).toMatchObject({ status: 'succeeded', last_error: { kind: 'transient', code: 'http_503', message: 'Service Unavailable' } });
  });
});

describe('the console deliveries page: LAST ERROR', () => {
  it("shows a succeeded delivery's failed attempt as earlier, an open one's as it is", async () => {
    const token = 'console-token-for-last-error-0123';
    const rules = join(temp.dir, 'rules.yaml');
    writeFileSync(rules, `version: 1\nsinks:\n  hook: { type: http, url: "${await closedPortOrigin()}/in" }\nrules:\n  - id: to-hook\n    on: "*"\n    actions: [{ sink: hook }]\n`);
    const serve = await startServe({ dbPath, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_UI_TOKEN: token }), args: ['--rules', rules] });
    try {
      const { cookie } = await signIn(serve.url, token);
      const html = await (await fetch(`${serve.url}/ui/deliveries`, { headers: { cookie } })).text();
      const row = (id: string) => /<tr[\s\S]*?<\/tr>/g.exec(html.slice(html.indexOf(id) - 200))?.[0] ?? '';
      expect(row('dlv_ok')).toContain('earlier: transient http_503: Service Unavailable');
      // (serve has tried the open one again meanwhile: its receiver refuses the connection)
      expect(row('dlv_open')).toMatch(/<td>transient (http_503|econnrefused): /);
      expect(row('dlv_open')).not.toContain('earlier');
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  }, 30_000);
});
