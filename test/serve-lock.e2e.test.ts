import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireServeLock, heldBy, pidFilePath } from '../src/log/sqlite/serve-lock.js';
import { cliEnv, freePort, runCli } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { SECRET } from './helpers/relay.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url));

describe('one serve per database, with a lock that dies with its process (issue 11 item 9)', () => {
  const harness = processHarness('husky-lock-e2e-');
  const setup = () => {
    const dir = harness.dir();
    return { dir, dbPath: join(dir, 'relay.db') };
  };
  const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });
  const serve = (dir: string, dbPath: string, args: string[] = ['--port', '0']) =>
    harness.track(spawnCli(['--db', dbPath, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', ...args], { cwd: dir, env }));

  it('a serve killed with SIGKILL does not keep the next one from starting', async () => {
    // Given a serve that was killed outright
    const { dir, dbPath } = setup();
    const first = serve(dir, dbPath);
    await first.listening();
    first.child.kill('SIGKILL');
    await first.exited;
    // When serve starts again on the same database
    const second = serve(dir, dbPath);
    const url = await second.listening();
    // Then it runs, and the pid file names it
    expect((await fetch(`${url.replace('/webhooks/husky', '')}/healthz`)).status).toBe(200);
    expect(heldBy(dbPath)).toMatchObject({ pid: second.pid, holder: 'serve' });
  });

  it('a pid file naming a live unrelated process does not block', async () => {
    // Given a pid file left behind whose pid is now another, running process (this test runner)
    const { dir, dbPath } = setup();
    writeFileSync(pidFilePath(dbPath), `${process.pid}\nserve\n`);
    // When serve starts
    const child = serve(dir, dbPath);
    await child.listening();
    // Then it starts, and replaces the file with its own pid
    expect(readFileSync(pidFilePath(dbPath), 'utf8')).toMatch(new RegExp(`^${child.pid}\\nserve\\nhttp://127\\.0\\.0\\.1:\\d+\\n$`));
  });

  it('two serves on one database: the second says who holds it and exits 1; the first keeps running', async () => {
    // Given a serve running
    const { dir, dbPath } = setup();
    const first = serve(dir, dbPath);
    const url = await first.listening();
    // When a second one is started on the same database
    const second = await serve(dir, dbPath).exited;
    // Then it is refused by name, and the first still answers
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`husky-relay: ${dbPath} is held by serve (pid ${first.pid}); stop it first\n`);
    expect((await fetch(`${new URL(url).origin}/healthz`)).status).toBe(200);
  });

  it('serve refuses while replay --rebuild holds the database, and rebuild refuses while serve runs', async () => {
    // Given a rebuild holding the database (this process)
    const { dir, dbPath } = setup();
    const rebuild = acquireServeLock(dbPath, 'replay --rebuild');
    // When serve is started
    const refused = await serve(dir, dbPath).exited;
    rebuild.release();
    // Then it names the rebuild
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`husky-relay: ${dbPath} is held by replay --rebuild (pid ${process.pid}); stop it first\n`);
    // And the other way round
    const running = serve(dir, dbPath);
    await running.listening();
    const result = await runCli(['--db', dbPath, 'replay', '--rebuild'], { cwd: dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`replay --rebuild: serve (pid ${running.pid}) holds ${dbPath}; stop it first`);
  });

  it('send, without --url, reaches the serve of its database on the port it was given', async () => {
    // Given serve on an explicit port (no PORT anywhere)
    const { dir, dbPath } = setup();
    const port = await freePort();
    await serve(dir, dbPath, ['--port', String(port)]).listening();
    // When send is run with the same --db and no --url
    const result = await runCli(['--db', dbPath, 'send', FIXTURE], { cwd: dir, env });
    // Then the event reached it
    expect(result).toMatchObject({ code: 0, stdout: `200 ${JSON.stringify({ ok: true, event_id: 'evt_test123', seq: 1 })}\n` });
  });
});
