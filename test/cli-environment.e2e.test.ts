import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { assertBuilt, CLI, cliEnv, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url));

describe('the CLI and its environment (README "Command line")', () => {
  let cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  const temp = () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('a child runs in the time zone the suite runs in (CI runs it in America/New_York, .ci/run)', async () => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const child = spawn(process.execPath, ['-e', 'process.stdout.write(Intl.DateTimeFormat().resolvedOptions().timeZone)'], { env: cliEnv() });
      let out = '';
      for await (const chunk of child.stdout) out += String(chunk);
      expect(out).toBe('America/New_York');
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('reads .env from the working directory, and a variable already set wins', async () => {
    // Given a .env that holds the webhook secret
    const dir = temp();
    writeFileSync(join(dir, '.env'), 'HUSKY_WEBHOOK_SECRET=from-dotenv-0123456789\n');
    const hmac = (secret: string) => createHmac('sha256', secret).update(readFileSync(FIXTURE)).digest('hex');
    // When sign runs there, with and without the variable in the environment
    const fromFile = await runCli(['sign', FIXTURE], { cwd: dir, env: cliEnv() });
    const fromEnv = await runCli(['sign', FIXTURE], { cwd: dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: 'from-env-0123456789' }) });
    // Then .env supplies it, and the environment overrides it
    expect(fromFile.stdout.trim()).toBe(hmac('from-dotenv-0123456789'));
    expect(fromEnv.stdout.trim()).toBe(hmac('from-env-0123456789'));
  });

  it('a variable set empty in the environment (HUSKY_WEBHOOK_SECRET= in an EnvironmentFile) is unset: .env supplies it, as on SIGHUP', async () => {
    const dir = temp();
    writeFileSync(join(dir, '.env'), 'HUSKY_WEBHOOK_SECRET=from-dotenv-0123456789\n');
    const result = await runCli(['sign', FIXTURE], { cwd: dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: '' }) });
    expect(result.stdout.trim()).toBe(createHmac('sha256', 'from-dotenv-0123456789').update(readFileSync(FIXTURE)).digest('hex'));
  });

  it('log --follow prints entries appended after it started, one JSON object per line', async () => {
    // Given a log with one event, and `log --follow --json` running on it
    assertBuilt();
    const dir = temp();
    const dbPath = join(dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    cleanups.push(() => log.close());
    const received = (id: string) => ({
      type: 'event.received' as const,
      data: { event_id: id, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:01Z', call_id: 'c', body: '{}' },
    });
    log.append([received('evt_before')]);
    const child = spawn(process.execPath, [CLI, '--db', dbPath, 'log', '--follow', '--json'], { cwd: dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    const lines = createInterface({ input: child.stdout });
    const ids: string[] = [];
    const seen = new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        ids.push((JSON.parse(line) as { data: { event_id: string } }).data.event_id);
        if (ids.length === 1) log.append([received('evt_after')]); // appended while it follows
        if (ids.length === 2) resolve();
      }),
    );
    // When an entry is appended while it runs
    await seen;
    // Then both come out, in order
    expect(ids).toEqual(['evt_before', 'evt_after']);
  });

  it('serve --max-body sets the largest body accepted', async () => {
    // Given serve started with a 1 KiB limit
    const dir = temp();
    const serve: ServeProcess = await startServe({
      dbPath: join(dir, 'relay.db'),
      cwd: dir,
      env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: join(dir, 'none.yaml') }),
      args: ['--max-body', '1KiB'],
    });
    cleanups.push(async () => {
      serve.child.kill('SIGTERM');
      await serve.exited;
    });
    const post = (body: string) =>
      fetch(serve.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    // When a small and a 2 KiB event are posted
    const small = await post(makeEvent());
    const large = await post(makeEvent({}, { summary: 'x'.repeat(2048) }));
    // Then the small one is stored and the large one refused as too large
    expect(small.status).toBe(200);
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ error: 'payload_too_large' });
  });

  it('serve --max-body refuses sizes that are no limit: 0, negative, below 1 KiB, absurd, over 32 MiB', async () => {
    const dir = temp();
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: join(dir, 'none.yaml') });
    const cases: [string, string][] = [
      ['0', '--max-body: 0 is below the smallest limit, 1 KiB'],
      ['1023', '--max-body: 1023 is below the smallest limit, 1 KiB'],
      ['-5', '--max-body: "-5" is not a size'],
      ['1e9', '--max-body: "1e9" is not a size'],
      ['99999999999999999999999', '--max-body: 99999999999999999999999 is over the largest limit, 32 MiB'],
      ['33MiB', '--max-body: 33MiB is over the largest limit, 32 MiB'],
    ];
    for (const [value, message] of cases) {
      const result = await runCli(['--db', join(dir, 'relay.db'), 'serve', '--port', '0', `--max-body=${value}`], { cwd: dir, env });
      expect(result.code, `${value}: ${result.stderr}`).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`husky-relay: ${message}`)]);
    }
  }, 60_000);

  it('serve --host listens on that address only', async () => {
    // Given serve started on 127.0.0.2 (another loopback address), port chosen by the OS
    const dir = temp();
    const serve = await startServe({
      dbPath: join(dir, 'relay.db'),
      cwd: dir,
      env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: join(dir, 'none.yaml') }),
      port: 0,
      args: ['--host', '127.0.0.2'],
    });
    cleanups.push(async () => {
      serve.child.kill('SIGTERM');
      await serve.exited;
    });
    // When /healthz is asked on that address and on 127.0.0.1, same port
    const { port } = new URL(serve.url);
    const there = await rawRequest(serve.url, { method: 'GET', path: '/healthz' });
    const elsewhere = await rawRequest(`http://127.0.0.1:${port}`, { method: 'GET', path: '/healthz' }).catch((error: NodeJS.ErrnoException) => error.code);
    // Then it answers there, and nothing listens on the other address
    expect(serve.url).toBe(`http://127.0.0.2:${port}`);
    expect(there.status).toBe(200);
    expect(elsewhere).toBe('ECONNREFUSED');
  });
});
