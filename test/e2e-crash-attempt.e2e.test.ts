import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { sign } from '../src/receive/verify-signature.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { cliEnv, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { deliveriesOf, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

let fake: FakeHttp | undefined;
let serves: ServeProcess[] = [];
let cleanup: (() => void) | undefined;

afterEach(async () => {
  for (const s of serves) {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await s.exited;
  }
  serves = [];
  await fake?.close();
  cleanup?.();
});

describe('a crash during an attempt (README "Delivery": at-least-once)', () => {
  it('repeats that one attempt after restart, and the delivery ends succeeded', async () => {
    // Given serve delivering to a receiver that holds the first request without answering
    const temp = tempDir();
    cleanup = temp.cleanup;
    fake = await startFakeHttp();
    fake.failNext({ hang: true });
    const rulesPath = writeRules(
      temp.dir,
      `version: 1
sinks:
  audit: { type: http, url: "${fake.url}", secret: "whsec_dGVzdC1zZWNyZXQtZm9yLWF1ZGl0LWxvbmctZW5vdWdo" }
rules:
  - id: audit-all
    on: "*"
    actions:
      - sink: audit
`,
    );
    const dbPath = `${temp.dir}/relay.db`;
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rulesPath });
    const first = await startServe({ dbPath, cwd: temp.dir, env });
    serves.push(first);
    const body = makeEvent();
    const ack = await fetch(first.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    expect(ack.status).toBe(200);
    await until(() => fake!.requests.length === 1, { what: 'the attempt to reach the receiver', timeoutMs: 8000 });

    // When the relay is killed while the receiver holds the request
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // and starts again, the receiver now answering 200
    const second = await startServe({ dbPath, cwd: temp.dir, env });
    serves.push(second);
    const log = new SqliteLog(dbPath);
    try {
      await until(() => deliveriesOf(log)[0]?.status === 'succeeded', { what: 'the delivery to succeed after restart', timeoutMs: 8000 });
    } finally {
      log.close();
    }

    // Then the receiver saw the same delivery twice at most (same webhook-id), and the log one attempt
    const ids = fake.requests.map((q) => q.headers['webhook-id']);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(fake.requests[0]?.abandoned).toBe(true);
    const cli = await runCli(['--db', dbPath, 'deliveries', '--json'], { cwd: temp.dir, env: cliEnv() });
    expect(JSON.parse(cli.stdout)).toEqual([expect.objectContaining({ delivery_id: ids[0], status: 'succeeded', attempts: 1, last_error: null })]);
  });
});
