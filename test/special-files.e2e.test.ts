import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, jsonLines } from './helpers/cli.js';
import { processHarness, runCliWith, spawnCli } from './helpers/cli-process.js';
import { until } from './helpers/pipeline.js';
import { makeEvent, SECRET } from './helpers/relay.js';

const VALID = 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions: [{ sink: console, text: ok }]\n';
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

/**
 * Files the relay reads that a user names or edits (the rules file, `.env`, the webhook secret
 * file), replaced by something that is no regular file: a named pipe nobody writes (an open or a
 * read would wait forever), /dev/zero (a read never ends). Each is refused unread, saying what it is.
 */
describe('special files where the relay reads a file: refused at once, never waited on', () => {
  const h = processHarness('husky-special-');
  const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });

  it('rules check on a FIFO or /dev/zero: exit 1 at once, FILE:1:1 saying what it is', async () => {
    const dir = h.dir();
    mkfifo(join(dir, 'pipe.yaml'));
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    for (const [name, what] of [['pipe.yaml', 'a named pipe (FIFO)'], ['zero.yaml', 'a character device']]) {
      const result = await runCliWith(['--rules', join(dir, name!), 'rules', 'check'], { cwd: dir, env, timeoutMs: 10_000 });
      expect(result.signal, 'rules check hung and was killed').toBeNull();
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${join(dir, name!)}:1:1: cannot read rules file: it is ${what}, not a regular file`);
    }
  });

  it('serve with a FIFO for rules starts not ready; SIGHUP to a good file loads it; SIGHUP to a FIFO keeps it', async () => {
    // Given serve started with a named pipe where the rules file should be
    const dir = h.dir();
    const rules = join(dir, 'rules.yaml');
    mkfifo(rules);
    const serve = h.track(spawnCli(['--db', join(dir, 'relay.db'), '--rules', rules, 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env }));
    const origin = new URL(await serve.listening()).origin;
    const readyz = async () => {
      const response = await fetch(`${origin}/readyz`);
      return { status: response.status, body: JSON.stringify(await response.json()) };
    };
    // Then it answers, is not ready, and says why
    expect(await readyz()).toMatchObject({ status: 503 });
    expect((await readyz()).body).toContain(`rules not loaded: fix ${rules}`);
    expect(serve.stdout()).toContain(`${rules}:1:1: cannot read rules file: it is a named pipe (FIFO), not a regular file`);
    // When the pipe is replaced by a valid file and serve is told to reload
    rmSync(rules);
    writeFileSync(rules, VALID);
    serve.child.kill('SIGHUP');
    await until(async () => (await readyz()).status === 200, { what: 'the rules to load', timeoutMs: 10_000 });
    // And then by a pipe again, and reloaded again
    rmSync(rules);
    mkfifo(rules);
    const before = jsonLines(serve.stdout()).length;
    serve.child.kill('SIGHUP');
    await until(() => jsonLines(serve.stdout()).slice(before).some((l) => String(l['msg']).includes('the previous rules stay in force')), {
      what: 'the reload to be refused',
      timeoutMs: 10_000,
    });
    // Then the relay still answers webhooks and stays ready, with the rules it had
    const body = makeEvent();
    const stored = await fetch(`${origin}/webhooks/husky`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    expect(stored.status).toBe(200);
    expect((await readyz()).status).toBe(200);
  });

  it('a FIFO as .env or as the webhook secret file: exit 1, one line naming it', async () => {
    const dir = h.dir();
    mkfifo(join(dir, '.env'));
    const dotEnv = await runCliWith(['--db', join(dir, 'relay.db'), 'status'], { cwd: dir, env, timeoutMs: 10_000 });
    expect(dotEnv.signal, 'status hung on .env and was killed').toBeNull();
    expect(dotEnv.code).toBe(1);
    expect(dotEnv.stderr.trim()).toBe(`husky-relay: cannot read ${join(dir, '.env')}: it is a named pipe (FIFO), not a regular file; remove it or make it a file of VAR=value lines`);

    const other = h.dir();
    mkfifo(join(other, 'webhook-secret'));
    writeFileSync(join(other, 'event.json'), makeEvent());
    const signed = await runCliWith(['--db', join(other, 'relay.db'), 'sign', join(other, 'event.json')], { cwd: other, env: cliEnv(), timeoutMs: 10_000 });
    expect(signed.signal, 'sign hung on the secret file and was killed').toBeNull();
    expect(signed.code).toBe(1);
    expect(signed.stderr.trim()).toBe(`husky-relay: cannot read the webhook secret in ${join(other, 'webhook-secret')}: it is a named pipe (FIFO), not a regular file`);
  });
});
