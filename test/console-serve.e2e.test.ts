import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { serveFixture } from './helpers/serve-fixture.js';
import { launchBrowser, signInStatus } from './helpers/browser.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

/**
 * `serve` and its web console (README "Console"): where the console is and where its token is
 * are printed at start (never the token), the generated token is private, `--no-ui` turns the
 * console off, and a console token too short to be safe is refused before anything starts.
 */

const relay = serveFixture();
afterEach(() => relay.teardown());

describe('serve and the web console', () => {
  it('generates a private console token beside the database and prints where it is and where the console is, never the token', async () => {
    const { serve, dbPath } = await relay.start();
    const file = join(dbPath, '..', 'ui-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(serve.stderr()).toContain(`Web console: ${serve.url}/ui/`);
    expect(serve.stderr()).toContain(file);
    expect(serve.stdout()).toContain('web console');
    expect(serve.stdout() + serve.stderr()).not.toContain(token);
    // the console answers: sign-in page first, the token from the file signs in
    const first = await fetch(`${serve.url}/ui/`, { redirect: 'manual' });
    expect(first.headers.get('location')).toBe('/ui/login');
    expect(await signInStatus(serve.url, token)).toEqual({ status: 303, location: '/ui/' });
    expect(serve.stdout() + serve.stderr()).not.toContain(token);
  });

  it('in Chromium, as a new user: the sign-in page, the token from the file, the overview, and a call sent to it', async () => {
    const { serve, dbPath } = await relay.start();
    const body = makeEvent({}, { call_id: 'call_first_look', summary: 'Hello from the first call.' });
    const sent = await fetch(`${serve.url}/webhooks/husky`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    expect(sent.status).toBe(200);
    const { browser, page } = await launchBrowser();
    try {
      await page.goto(`${serve.url}/ui/`);
      expect(new URL(page.url()).pathname).toBe('/ui/login');
      await page.fill('#token', readFileSync(join(dbPath, '..', 'ui-token'), 'utf8').trim());
      await page.click('button[type=submit]');
      await page.waitForURL(`${serve.url}/ui/`);
      await expect(page.locator('h1').first().textContent()).resolves.toBe('Overview');
      await expect(page.locator('#count-events').textContent()).resolves.toBe('1');
      await page.click('a[href="/ui/events"]');
      await page.click('a[href="/ui/calls/call_first_look"]');
      await expect(page.locator('#timeline').textContent()).resolves.toContain('call.completed');
    } finally {
      await browser.close();
    }
  });

  it('takes HUSKY_RELAY_UI_TOKEN instead, and writes no file', async () => {
    const token = 'a-console-token-from-the-environment';
    const { serve, dbPath } = await relay.start({ HUSKY_RELAY_UI_TOKEN: token });
    expect(existsSync(join(dbPath, '..', 'ui-token'))).toBe(false);
    expect(serve.stdout()).toContain('HUSKY_RELAY_UI_TOKEN');
    expect((await signInStatus(serve.url, token)).status).toBe(303);
    expect((await signInStatus(serve.url, 'the-wrong-console-token')).status).toBe(401);
  });

  it('serves no console with --no-ui', async () => {
    const temp = tempDir();
    try {
      const { startServe, killServe } = await import('./helpers/cli.js');
      const dbPath = join(temp.dir, 'relay.db');
      const serve = await startServe({ dbPath, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }), args: ['--no-ui'] });
      try {
        const answer = await fetch(`${serve.url}/ui/login`);
        expect(answer.status).toBe(404);
        expect(existsSync(join(temp.dir, 'ui-token'))).toBe(false);
        expect(serve.stdout() + serve.stderr()).not.toContain('/ui/');
      } finally {
        await killServe(serve);
      }
    } finally {
      temp.cleanup();
    }
  });

  it('refuses a console token too short to be safe: exit 1, one line naming the variable', async () => {
    const temp = tempDir();
    try {
      const result = await runCli(['--db', join(temp.dir, 'relay.db'), 'serve', '--port', '0'], {
        cwd: temp.dir,
        env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_UI_TOKEN: 'short' }),
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('HUSKY_RELAY_UI_TOKEN');
      expect(result.stderr).not.toContain('short');
    } finally {
      temp.cleanup();
    }
  });
});
