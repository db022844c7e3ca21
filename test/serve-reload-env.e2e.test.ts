import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { startFakeHttp, type FakeHttp } from '../testing/fakes/fake-http.js';
import { cliEnv, jsonLines } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { makeEvent, SECRET } from './helpers/relay.js';

const RULES = `version: 1
sinks:
  crm:
    type: http
    url: "\${CRM_HOOK_URL}"
rules:
  - id: forward
    on: call.completed
    actions:
      - sink: crm
`;

/** Polls `check` every 20 ms for at most `ms`: what a user waits for, not a timing assertion. */
async function eventually(check: () => boolean, ms = 15_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await delay(20)) if (check()) return true;
  return check();
}

describe('SIGHUP re-reads .env for the rules as well as the secrets (README "Command line")', () => {
  const harness = processHarness('husky-reload-env-');
  const fakes: FakeHttp[] = [];
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });

  it('a sink URL changed in .env is used for the next event after SIGHUP, and the old one gets nothing more', async () => {
    // Given serve started in a folder whose .env names the CRM's URL, used by the rules as ${CRM_HOOK_URL}
    const [before, after] = [await startFakeHttp(), await startFakeHttp()];
    fakes.push(before, after);
    const dir = harness.dir();
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    writeFileSync(join(dir, '.env'), `CRM_HOOK_URL=${before.url}\n`);
    const child = harness.track(
      spawnCli(['--db', join(dir, 'relay.db'), '--rules', join(dir, 'rules.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
        cwd: dir,
        env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }),
      }),
    );
    const origin = new URL(await child.listening()).origin;
    const send = async (id: string) => {
      const body = makeEvent({ event_id: id });
      const res = await fetch(`${origin}/webhooks/husky`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) } });
      expect(res.status).toBe(200);
    };
    /** The event ids a fake received, in order (each POST carries the event it was planned from). */
    const received = (fake: FakeHttp) => fake.requests.map((r) => /evt_(?:before|after)_reload/.exec(r.rawBody)?.[0]);
    await send('evt_before_reload');
    expect(await eventually(() => received(before).includes('evt_before_reload'))).toBe(true);

    // When .env is edited to point at the new URL and serve gets SIGHUP
    writeFileSync(join(dir, '.env'), `CRM_HOOK_URL=${after.url}\n`);
    child.child.kill('SIGHUP');
    const messages = () => jsonLines(child.stdout()).map((l) => l['msg']);
    expect(await eventually(() => messages().includes('rules loaded (SIGHUP)'))).toBe(true);
    await send('evt_after_reload');

    // Then the next event goes to the new URL, and the old one saw only the first
    expect(await eventually(() => received(after).includes('evt_after_reload'))).toBe(true);
    expect(received(before)).toEqual(['evt_before_reload']);
    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it('a .env that a start would refuse (LOG_LEVEL=verbose): SIGHUP logs why, and serve goes on with what it had', async () => {
    // Given serve running with a .env it accepted
    const dir = harness.dir();
    writeFileSync(join(dir, '.env'), `HUSKY_WEBHOOK_SECRET=${SECRET}\n`);
    // (LOG_LEVEL unset in the environment: one set there would win over .env, at start as on SIGHUP)
    const child = harness.track(spawnCli(['--db', join(dir, 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv({ LOG_LEVEL: undefined }) }));
    const origin = new URL(await child.listening()).origin;
    // When .env gets a level pino does not have, and a new secret, and serve gets SIGHUP
    writeFileSync(join(dir, '.env'), `HUSKY_WEBHOOK_SECRET=another-${SECRET}\nLOG_LEVEL=verbose\n`);
    child.child.kill('SIGHUP');
    const errors = () => jsonLines(child.stdout()).filter((l) => String(l['msg']).startsWith('SIGHUP'));
    expect(await eventually(() => errors().length > 0)).toBe(true);
    // Then one error line says what is wrong, and the secret in force is still the first one
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatchObject({ level: 50, err: 'LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent' });
    const body = makeEvent();
    const res = await fetch(`${origin}/webhooks/husky`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) } });
    expect(res.status).toBe(200);
    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  /** serve with no rules in `dir`, in `env`; the lines starting with SIGHUP it logged, and a webhook signed with `secret`'s status. */
  async function serveIn(dir: string, env: NodeJS.ProcessEnv) {
    const child = harness.track(spawnCli(['--db', join(dir, 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env }));
    const origin = new URL(await child.listening()).origin;
    const sighups = () => jsonLines(child.stdout()).filter((l) => String(l['msg']).startsWith('SIGHUP'));
    /** Sends SIGHUP and waits for its first line: `SIGHUP: webhook secrets reloaded` (info) when accepted, an error when refused. */
    const hup = async () => {
      const before = sighups().length;
      child.child.kill('SIGHUP');
      expect(await eventually(() => sighups().length > before)).toBe(true);
      return sighups()[before]!;
    };
    const post = async (secret: string) => {
      const body = makeEvent();
      return (await fetch(`${origin}/webhooks/husky`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, secret) } })).status;
    };
    return { child, hup, post };
  }

  it('a refused .env leaves nothing behind: PORT=abc refused, then that line gone, the next SIGHUP is accepted and its new secret takes effect', async () => {
    // Given serve running on the secret .env gave at start
    const dir = harness.dir();
    writeFileSync(join(dir, '.env'), `HUSKY_WEBHOOK_SECRET=${SECRET}\n`);
    const { child, hup, post } = await serveIn(dir, cliEnv());
    // When PORT=abc is added to .env: the reload is refused
    writeFileSync(join(dir, '.env'), `HUSKY_WEBHOOK_SECRET=${SECRET}\nPORT=abc\n`);
    expect(await hup()).toMatchObject({ level: 50, msg: expect.stringMatching(/^SIGHUP: the environment is refused/), err: 'PORT: "abc" is not a port number' });
    // And then the line is gone and .env names a new secret: the reload is accepted
    writeFileSync(join(dir, '.env'), `HUSKY_WEBHOOK_SECRET=another-${SECRET}\n`);
    expect(await hup()).toMatchObject({ level: 30, msg: 'SIGHUP: webhook secrets reloaded' });
    // Then a webhook signed with the new secret is accepted, and one signed with the old one no longer
    expect(await post(`another-${SECRET}`)).toBe(200);
    expect(await post(SECRET)).toBe(401);
    // And after another refusal, an empty .env, then none at all, are accepted too
    writeFileSync(join(dir, '.env'), `SLACK_API_URL=ftp://x\n`);
    expect(await hup()).toMatchObject({ level: 50, err: expect.stringMatching(/^SLACK_API_URL: "ftp:\/\/x"/) });
    writeFileSync(join(dir, '.env'), '');
    expect(await hup()).toMatchObject({ level: 30, msg: 'SIGHUP: webhook secrets reloaded' });
    rmSync(join(dir, '.env'));
    expect(await hup()).toMatchObject({ level: 30, msg: 'SIGHUP: webhook secrets reloaded' });
    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it('the environment at start wins over .env on SIGHUP as at start: LOG_LEVEL=info there and LOG_LEVEL=verbose in .env is not refused', async () => {
    // Given serve started with LOG_LEVEL=info in its environment and LOG_LEVEL=verbose in .env (the environment wins: it starts)
    const dir = harness.dir();
    writeFileSync(join(dir, '.env'), `LOG_LEVEL=verbose\n`);
    const { child, hup, post } = await serveIn(dir, cliEnv({ LOG_LEVEL: 'info', HUSKY_WEBHOOK_SECRET: '' }));
    // When .env also gives a secret (the environment set it empty, so .env fills it) and serve gets SIGHUP
    writeFileSync(join(dir, '.env'), `LOG_LEVEL=verbose\nHUSKY_WEBHOOK_SECRET=${SECRET}\n`);
    // Then the reload is accepted, as a start would be, and the secret .env gives is in force
    expect(await hup()).toMatchObject({ level: 30, msg: 'SIGHUP: webhook secrets reloaded' });
    expect(await post(SECRET)).toBe(200);
    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });
});
