import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, freePort, jsonLines, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { makeEvent, SECRET, startTestRelay, tempDir, type TestRelay } from './helpers/relay.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url));
const withSecret = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });

// each test has its own folder, so they run side by side (a CLI start costs ~0.3 s)
describe.concurrent('husky-relay sign', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
  });
  afterAll(() => temp.cleanup());

  it("prints the lower-case hex HMAC-SHA256 of the file's exact bytes, as openssl dgst would", async () => {
    // Given an event file (with a trailing newline, which is part of the bytes)
    const file = join(temp.dir, 'event-with-newline.json');
    writeFileSync(file, `${readFileSync(FIXTURE, 'utf8')}\n`);
    // When it is signed
    const result = await runCli(['--db', join(temp.dir, 'relay.db'), 'sign', file], { cwd: temp.dir, env: withSecret });
    // Then the output is exactly the signature HuskyVoice would send
    const expected = createHmac('sha256', SECRET).update(readFileSync(file)).digest('hex');
    expect(result).toMatchObject({ code: 0, stdout: `${expected}\n`, stderr: '' });
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('signs with the first secret while secrets rotate', async () => {
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: 'new-secret-0123456789, old-secret-0123456789' });
    const result = await runCli(['sign', FIXTURE], { cwd: temp.dir, env });
    expect(result.stdout).toBe(`${createHmac('sha256', 'new-secret-0123456789').update(readFileSync(FIXTURE)).digest('hex')}\n`);
  });

  it('without any secret, exits 1 and says how to get one', async () => {
    const result = await runCli(['--db', join(temp.dir, 'relay.db'), 'sign', FIXTURE], { cwd: temp.dir, env: cliEnv() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/HUSKY_WEBHOOK_SECRET/);
  });

  it('a file that does not exist: exit 1 naming it', async () => {
    const missing = join(temp.dir, 'nope.json');
    const result = await runCli(['sign', missing], { cwd: temp.dir, env: withSecret });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
  });
});

describe('husky-relay send', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('signs and posts the file, prints "200 {...}" and exits 0', async () => {
    // Given a running relay
    const url = `${relay.url}/webhooks/husky`;
    // When the sample event is sent to it
    const result = await runCli(['send', FIXTURE, '--url', url], { cwd: relay.dir, env: withSecret });
    // Then the relay's answer is printed and the event is stored with its exact bytes
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`200 ${JSON.stringify({ ok: true, event_id: 'evt_test123', seq: 1 })}\n`);
    expect(relay.log.read(0)[0]?.data).toMatchObject({ body: readFileSync(FIXTURE, 'utf8') });
    // And sending it again shows the duplicate
    const again = await runCli(['send', FIXTURE, '--url', url], { cwd: relay.dir, env: withSecret });
    expect(again.stdout).toBe(`200 ${JSON.stringify({ ok: true, event_id: 'evt_test123', duplicate: true })}\n`);
  });

  it('prints the refusal and exits 1 when the relay refuses (wrong secret)', async () => {
    const result = await runCli(['send', FIXTURE, '--url', `${relay.url}/webhooks/husky`], {
      cwd: relay.dir,
      env: cliEnv({ HUSKY_WEBHOOK_SECRET: 'not-the-relays-secret' }),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('401 {"error":"invalid_signature"}\n');
  });

  it('a URL where nothing listens: exit 1 with a message naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/webhooks/husky`;
    const result = await runCli(['send', FIXTURE, '--url', url], { cwd: relay.dir, env: withSecret });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(url);
    expect(result.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  });
});

// read-only over one database written in beforeAll: the tests run side by side
describe.concurrent('husky-relay log', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  const received = (event_id: string): NewEntry => ({
    type: 'event.received',
    data: {
      event_id,
      event_type: 'call.completed',
      org_id: 'org_abc_123',
      created_at: '2026-06-01T08:59:00Z',
      received_at: '2026-06-01T09:00:00Z',
      call_id: `call_${event_id}`,
      body: `{"event_id":"${event_id}"}`,
    },
  });
  const planned: NewEntry = {
    type: 'delivery.planned',
    data: {
      delivery_id: 'dlv_1',
      event_id: 'evt_b',
      event_seq: 3,
      event_type: 'call.completed',
      rule_id: 'completed-to-slack',
      action_index: 0,
      sink: 'slack',
      request: { channel: '#sales-calls', text: 'hi' },
      order_key: null,
      rules_hash: 'f'.repeat(64),
    },
  };

  beforeAll(() => {
    // Given a log written over three hours
    temp = tempDir();
    dbPath = join(temp.dir, 'relay.db');
    const times = ['2026-06-01T09:00:00.000Z', '2026-06-01T10:00:00.000Z', '2026-06-01T11:00:00.000Z', '2026-06-01T11:00:05.000Z'];
    let i = 0;
    const log = new SqliteLog(dbPath, { now: () => new Date(times[i++]!) });
    log.append([received('evt_a')]);
    log.append([{ type: 'rules.loaded', data: { rules_hash: 'a'.repeat(64), path: '/etc/husky/rules.yaml' } }]);
    log.append([received('evt_b')]);
    log.append([planned]);
    log.close();
  });
  afterAll(() => temp.cleanup());

  const run = (...args: string[]) => runCli(['--db', dbPath, 'log', ...args], { cwd: temp.dir, env: cliEnv() });

  it('prints an aligned table with a header, oldest first', async () => {
    const result = await run();
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    const header = lines[0]!;
    expect(header.split(/\s+/)).toEqual(['SEQ', 'AT', 'TYPE', 'ABOUT']);
    // every column starts where its heading does
    const starts = ['AT', 'TYPE', 'ABOUT'].map((h) => header.indexOf(h));
    for (const line of lines.slice(1)) {
      for (const start of starts) {
        expect(line.slice(start - 2, start)).toBe('  ');
        expect(line[start]).not.toBe(' ');
      }
    }
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['1', '2', '3', '4']);
    expect(lines[1]).toContain('event.received');
    expect(lines[1]).toContain('evt_a');
    expect(lines[4]).toContain('delivery.planned');
  });

  it('--json prints one {"seq","type","at","data","hash"} object per line', async () => {
    const result = await run('--json');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // each with its link in the hash chain (README "Personal data")
    expect(entries.map((e) => Object.keys(e).sort())).toEqual(entries.map(() => ['at', 'data', 'hash', 'seq', 'type']));
    expect(entries[0]).toEqual({ seq: 1, type: 'event.received', at: '2026-06-01T09:00:00.000Z', data: received('evt_a').data, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(entries.map((e) => e['type'])).toEqual(['event.received', 'rules.loaded', 'event.received', 'delivery.planned']);
  });

  it('--type filters, globs included', async () => {
    const events = jsonLines((await run('--json', '--type', 'event.received')).stdout);
    expect(events.map((e) => e['seq'])).toEqual([1, 3]);
    const deliveries = jsonLines((await run('--json', '--type', 'delivery.*')).stdout);
    expect(deliveries.map((e) => e['seq'])).toEqual([4]);
  });

  it('--since keeps entries appended at or after the time, in any ISO offset', async () => {
    expect(jsonLines((await run('--json', '--since', '2026-06-01T10:00:00Z')).stdout).map((e) => e['seq'])).toEqual([2, 3, 4]);
    expect(jsonLines((await run('--json', '--since', '2026-06-01T12:00:00+02:00')).stdout).map((e) => e['seq'])).toEqual([2, 3, 4]);
    expect(
      jsonLines((await run('--json', '--since', '2026-06-01T10:30:00Z', '--type', 'event.received')).stdout).map((e) => e['seq']),
    ).toEqual([3]);
  });

  it('--since that is not a date: exit 1 saying so', async () => {
    const result = await run('--since', 'last tuesday');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--since/);
    expect(result.stderr).toContain('last tuesday');
  });

  it('a database that does not exist: exit 1 naming the path, and nothing is created', async () => {
    const missing = join(temp.dir, 'elsewhere', 'none.db');
    const result = await runCli(['--db', missing, 'log'], { cwd: temp.dir, env: cliEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(existsSync(missing)).toBe(false);
  });

  it('reads HUSKY_RELAY_DB when --db is not given', async () => {
    const result = await runCli(['log', '--json', '--type', 'rules.loaded'], { cwd: temp.dir, env: cliEnv({ HUSKY_RELAY_DB: dbPath }) });
    expect(jsonLines(result.stdout).map((e) => e['seq'])).toEqual([2]);
  });
});

describe('husky-relay serve', () => {
  let temp: ReturnType<typeof tempDir>;
  const children: ServeProcess[] = [];
  beforeEach(() => {
    temp = tempDir();
  });
  afterEach(async () => {
    for (const serve of children.splice(0)) {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
      await serve.exited;
    }
    temp.cleanup();
  });

  async function stop(serve: ServeProcess) {
    serve.child.kill('SIGTERM');
    return serve.exited;
  }

  it('without HUSKY_WEBHOOK_SECRET generates one beside the database (0600), says where once, never prints it', async () => {
    // Given no secret in the environment
    const dbPath = join(temp.dir, 'data', 'relay.db');
    const secretFile = join(temp.dir, 'data', 'webhook-secret');
    // When serve starts for the first time
    const first = await startServe({ dbPath, cwd: temp.dir, env: cliEnv() });
    children.push(first);
    // Then a secret file readable by its owner only exists beside the database, and stderr names it
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(first.stderr()).toContain(secretFile);
    // And `sign`/`send` find it with no variable set, and the relay accepts what they send
    const sent = await runCli(['--db', dbPath, 'send', FIXTURE, '--url', first.webhookUrl], { cwd: temp.dir, env: cliEnv() });
    expect(sent.stdout).toMatch(/^200 /);
    const firstRun = await stop(first);
    expect(firstRun.code).toBe(0);
    // And the secret itself is printed nowhere
    expect(firstRun.stderr + firstRun.stdout + sent.stderr + sent.stdout).not.toContain(secret);
    // When it starts again
    const second = await startServe({ dbPath, cwd: temp.dir, env: cliEnv() });
    children.push(second);
    const secondRun = await stop(second);
    // Then the same secret is used and the generation message is not repeated
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
    expect(secondRun.stderr).not.toContain('generated');
    expect(secondRun.stderr + secondRun.stdout).not.toContain(secret);
  });

  it('with --port 0 prints the "husky-relay is listening" line, with the URL, while it runs (not only at exit)', async () => {
    // Given serve started on any free port, with stdout piped (as under systemd or docker)
    const dbPath = join(temp.dir, 'relay.db');
    // When it comes up
    const serve = await startServe({ dbPath, cwd: temp.dir, env: withSecret, port: 0 });
    children.push(serve);
    // Then the line tells where it listens, and that address answers
    expect(serve.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/husky$/);
    const health = await fetch(`${serve.url}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
  });

  it('never prints the secret, across good and bad signatures, at debug level', async () => {
    // Given serve with a secret from the environment, logging everything
    const dbPath = join(temp.dir, 'relay.db');
    const serve = await startServe({ dbPath, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: `${SECRET},second-${SECRET}`, LOG_LEVEL: 'debug' }) });
    children.push(serve);
    // When it gets good, badly signed, unsigned and invalid requests, and a SIGHUP
    const body = makeEvent();
    const posts: Array<[string, Record<string, string>]> = [
      [body, { 'x-husky-signature': sign(body, SECRET) }],
      [body, { 'x-husky-signature': sign(body, `second-${SECRET}`) }],
      [body, { 'x-husky-signature': sign(body, 'wrong') }],
      [body, { 'x-husky-signature': SECRET }],
      [body, {}],
      ['{"not":"an envelope"}', { 'x-husky-signature': sign('{"not":"an envelope"}', SECRET) }],
    ];
    for (const [payload, headers] of posts) {
      const response = await fetch(serve.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
      await response.text();
    }
    const sign1 = await runCli(['--db', dbPath, 'sign', FIXTURE], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }) });
    const exit = await stop(serve);
    // Then neither its output nor the CLI's error stream contains the secret
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('invalid_signature');
    expect(exit.stdout + exit.stderr).not.toContain(SECRET);
    expect(sign1.stderr).not.toContain(SECRET);
  });
});
