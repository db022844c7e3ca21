import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';

const MIN_WEBHOOK_SECRET_LENGTH = DEFAULTS.http.minWebhookSecretLength;
import { parseSecrets, resolveSecrets, WebhookSecretError } from '../src/receive/secrets.js';
import { cliEnv, jsonLines, runCli, type CliResult } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';
import { sign } from '../src/receive/verify-signature.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url));
const STANDARD_WEBHOOKS_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('webhook secrets that cannot protect anything are refused, by serve, sign and send alike (issue 11 item 13, issue 12 item 3)', () => {
  const temp = processHarness('husky-secrets-').dir;

  /** serve, sign and send (or only serve), side by side, each with `env` and a --db in a new folder of `dir`. */
  function allThree(dir: string, env: NodeJS.ProcessEnv, only?: 'serve'): Promise<CliResult[]> {
    const db = join(dir, 'data', 'relay.db');
    const runs = [['serve', '--host', '127.0.0.1', '--port', '0'], ['sign', FIXTURE], ['send', FIXTURE, '--url', 'http://127.0.0.1:9/webhooks/husky']];
    return Promise.all(runs.slice(0, only ? 1 : 3).map((args) => runCli(['--db', db, '--rules', join(dir, 'none.yaml'), ...args], { cwd: dir, env })));
  }

  const cases: [string, string, string][] = [
    ['only commas and spaces', '  , ', 'husky-relay: HUSKY_WEBHOOK_SECRET is set but holds no secret (only commas and spaces)'],
    ['one character', 'x', 'husky-relay: HUSKY_WEBHOOK_SECRET: the secret is 1 character long; a webhook secret needs at least 16'],
    ['a pasted "v1,whsec_…"', `v1,${STANDARD_WEBHOOKS_SECRET}`, 'husky-relay: HUSKY_WEBHOOK_SECRET: "v1,whsec_…" looks like a Standard Webhooks value; "v1," is a version prefix'],
    ['a rotation list with one short secret', `${SECRET},short-one`, 'husky-relay: HUSKY_WEBHOOK_SECRET: secret 2 of 2 is 9 characters long'],
    ['only whitespace (a blank line pasted)', '  \n ', 'husky-relay: HUSKY_WEBHOOK_SECRET is set but holds only whitespace (spaces or line breaks)'],
    ['a pasted "V1,Whsec_…" (another case)', `V1,W${STANDARD_WEBHOOKS_SECRET.slice(1)}`, 'husky-relay: HUSKY_WEBHOOK_SECRET: "V1,whsec_…" looks like a Standard Webhooks value; "V1," is a version prefix'],
  ];
  it.each(cases)('HUSKY_WEBHOOK_SECRET %s: exit 1, saying why, never quoting the secret', async (_name, value, message) => {
    // Given the variable set to that
    const dir = temp();
    // When serve, sign and send run
    for (const result of await allThree(dir, cliEnv({ HUSKY_WEBHOOK_SECRET: value }))) {
      // Then each exits 1 with the reason in one line; nothing is printed or made
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.startsWith(message), result.stderr).toBe(true);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain('short-one');
      expect(result.stdout).toBe('');
    }
    // And serve generated no secret in place of the one given
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('an empty or short webhook-secret file: exit 1 naming the file', async () => {
    for (const [content, message, only] of [
      ['', 'holds no secret (it is empty): put the webhook secret in it, or delete it', undefined],
      ['\n', 'holds no secret (it is empty)', 'serve'],
      ['abc\n', 'the secret is 3 characters long', 'serve'],
    ] as const) {
      // Given the secret file beside the database holds that
      const dir = temp();
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'webhook-secret'), content);
      // When serve (and, for the empty file, sign and send) run without the variable
      for (const result of await allThree(dir, cliEnv(), only)) {
        // Then each names the file and what is wrong with it
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toContain(`husky-relay: ${join(dir, 'data', 'webhook-secret')}`);
        expect(result.stderr).toContain(message);
        expect(result.stderr).not.toMatch(/\n\s+at |TypeError/);
      }
    }
  });

  it('spaces and line breaks around a secret are trimmed the same way in the variable and in the file: sign and serve agree', async () => {
    const dir = temp();
    const hmac = (secret: string) => createHmac('sha256', secret).update(readFileSync(FIXTURE)).digest('hex');
    // Given the secret pasted with a line break and spaces, in the variable, and in the file
    const fromEnv = await runCli(['--db', join(dir, 'a', 'relay.db'), 'sign', FIXTURE], { cwd: dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: `\n  ${SECRET} \n` }) });
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'webhook-secret'), `  ${SECRET}\n\n`);
    const fromFile = await runCli(['--db', join(dir, 'b', 'relay.db'), 'sign', FIXTURE], { cwd: dir, env: cliEnv() });
    // Then both sign with the secret itself
    expect(fromEnv.stdout.trim()).toBe(hmac(SECRET));
    expect(fromFile.stdout.trim()).toBe(hmac(SECRET));
    // And serve, given the padded variable, accepts what the trimmed secret signs
    const serve = spawnCli(['--db', join(dir, 'c', 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
      cwd: dir,
      env: cliEnv({ HUSKY_WEBHOOK_SECRET: `\n  ${SECRET} \n` }),
    });
    try {
      const url = await serve.listening();
      const body = makeEvent();
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
      expect(response.status).toBe(200);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('the generated secret meets the rule: serve makes it, sign and send use it', async () => {
    // Given serve started once without a secret
    const dir = temp();
    const db = join(dir, 'data', 'relay.db');
    const serve = spawnCli(['--db', db, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv() });
    try {
      await serve.listening();
      // Then the secret it saved is long enough, one item, and the other commands accept it
      const saved = readFileSync(join(dir, 'data', 'webhook-secret'), 'utf8');
      expect(saved).toMatch(/^hsk_[A-Za-z0-9_-]{32}\n$/);
      expect(parseSecrets(saved, 'file')).toEqual([saved.trim()]);
      const send = await runCli(['--db', db, 'send', FIXTURE], { cwd: dir, env: cliEnv() });
      expect(send.stdout).toMatch(/^200 \{"ok":true/);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('a SIGHUP that finds an unusable secret file keeps the secrets in force, and says so', async () => {
    // Given serve using its saved secret
    const dir = temp();
    const db = join(dir, 'data', 'relay.db');
    const serve = spawnCli(['--db', db, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv() });
    try {
      const url = await serve.listening();
      const secret = readFileSync(join(dir, 'data', 'webhook-secret'), 'utf8').trim();
      // When the file is emptied and serve is told to reload
      writeFileSync(join(dir, 'data', 'webhook-secret'), '');
      serve.child.kill('SIGHUP');
      for (let i = 0; i < 200 && !serve.stdout().includes('did not reload'); i++) await new Promise((r) => setTimeout(r, 20));
      // Then it keeps running with the old secret, and the log says why
      const body = makeEvent();
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, secret) }, body });
      expect(response.status).toBe(200);
      expect(jsonLines(serve.stdout()).map((l) => l['msg'])).toContain('SIGHUP: the webhook secrets did not reload; the previous ones stay in force');
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});

describe('parseSecrets', () => {
  const secret = fc.string({ minLength: MIN_WEBHOOK_SECRET_LENGTH, maxLength: 64, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/=.') });

  it('a rotation list of good secrets, with spaces and empty items around, is exactly those secrets', () => {
    fc.assert(
      fc.property(fc.array(secret, { minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom('', ' ', '  '), { minLength: 2, maxLength: 2 }), (secrets, [before, after]) => {
        // Given the secrets, comma-separated, padded, with a trailing comma
        const value = `${before}${secrets.join(` ,${after}`)},${after}`;
        // Then they come back as given
        expect(parseSecrets(value)).toEqual(secrets);
      }),
    );
  });

  it('any secret shorter than the minimum is refused, wherever it is in the list', () => {
    fc.assert(
      fc.property(fc.array(secret, { maxLength: 3 }), fc.string({ minLength: 1, maxLength: MIN_WEBHOOK_SECRET_LENGTH - 1 }).map((s) => s.replace(/[,\s]/g, 'x')), fc.nat(), (good, short, at) => {
        const list = [...good];
        list.splice(at % (good.length + 1), 0, short);
        expect(() => parseSecrets(list.join(','))).toThrow(WebhookSecretError);
      }),
    );
  });

  it('an empty HUSKY_WEBHOOK_SECRET means unset: the file beside the database is used', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.dir, 'webhook-secret'), `${SECRET}\n`);
      expect(resolveSecrets('', join(dir.dir, 'relay.db'), false)).toMatchObject({ secrets: [SECRET], source: 'file' });
      expect(readdirSync(dir.dir)).toEqual(['webhook-secret']);
    } finally {
      dir.cleanup();
    }
  });
});
