import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, freePort, runCli, type CliResult } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { SECRET } from './helpers/relay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'call.completed.json');
const GENERATED = 'hsk_0123456789abcdefghijklmnopqrstuv';

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliResult> {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** A folder of links to the commands backup.sh uses, every one but sqlite3: a machine without its CLI. */
function pathWithoutSqlite3(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['bash', 'dirname', 'readlink', 'mkdir', 'date', 'gzip', 'du', 'cut', 'cp', 'chmod', 'find', 'rm', 'env']) {
    const at = (process.env['PATH'] ?? '/usr/bin:/bin').split(':').map((p) => join(p, tool)).find((p) => existsSync(p));
    if (at) symlinkSync(at, join(bin, tool));
  }
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

describe('deploy/ (issue 12 item 11)', () => {
  const harness = processHarness('husky-deploy-');

  it.each(['the sqlite3 CLI', 'backup.mjs, without the sqlite3 CLI'])('backup.sh copies the log and the generated webhook secret, with %s', async (how) => {
    // Given a log of three events with the secret serve generated beside it
    const dir = harness.dir();
    const data = join(dir, 'data');
    const log = new SqliteLog(join(data, 'husky-relay.db'));
    for (const id of ['a', 'b', 'c']) {
      log.append([{ type: 'event.received', data: { event_id: id, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: 'c', body: '{}' } }]);
    }
    log.close();
    writeFileSync(join(data, 'webhook-secret'), `${GENERATED}\n`, { mode: 0o600 });
    const backups = join(dir, 'backups');
    const PATH = how.startsWith('backup.mjs') ? pathWithoutSqlite3(dir) : (process.env['PATH'] ?? '/usr/bin:/bin');
    // When backup.sh runs on it
    const result = await run('bash', [join(ROOT, 'deploy', 'backup.sh')], { PATH, HUSKY_RELAY_DB: join(data, 'husky-relay.db'), BACKUP_DIR: backups }, dir);
    // Then it says what it wrote: the gzipped copy, and the secret beside it, owner-only
    expect(result.code, result.stderr).toBe(0);
    const files = readdirSync(backups).sort();
    expect(files).toHaveLength(2);
    const [copy, secret] = files as [string, string];
    expect(copy).toMatch(/^husky-relay-\d{8}T\d{6}Z\.db\.gz$/);
    expect(secret).toBe(copy.replace('.db.gz', '.webhook-secret'));
    expect(result.stdout).toContain(`backup: ${join(backups, copy)} (`);
    expect(result.stdout).toContain(`backup: ${join(backups, secret)} (the generated webhook secret)`);
    expect(readFileSync(join(backups, secret), 'utf8')).toBe(`${GENERATED}\n`);
    expect(statSync(join(backups, secret)).mode & 0o777).toBe(0o600);
    // And the copy is the log: its three events
    writeFileSync(join(dir, 'restored.db'), gunzipSync(readFileSync(join(backups, copy))));
    const restored = new Database(join(dir, 'restored.db'), { readonly: true });
    expect(restored.prepare(`SELECT data ->> '$.event_id' FROM entries ORDER BY seq`).pluck().all()).toEqual(['a', 'b', 'c']);
    restored.close();
  });

  it('backup.sh on a HUSKY_RELAY_DB that is a symlink in another folder copies the webhook secret kept beside the database file', async () => {
    // Given the log in data/, reached through links/husky-relay.db, and the secret serve generated beside the database file
    const dir = harness.dir();
    const data = join(dir, 'data');
    new SqliteLog(join(data, 'husky-relay.db')).close();
    writeFileSync(join(data, 'webhook-secret'), `${GENERATED}\n`, { mode: 0o600 });
    mkdirSync(join(dir, 'links'));
    symlinkSync(join(data, 'husky-relay.db'), join(dir, 'links', 'husky-relay.db'));
    const backups = join(dir, 'backups');
    // When backup.sh runs on the link
    const result = await run('bash', [join(ROOT, 'deploy', 'backup.sh')], { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HUSKY_RELAY_DB: join(dir, 'links', 'husky-relay.db'), BACKUP_DIR: backups }, dir);
    // Then the secret is backed up beside the copy
    expect(result.code, result.stderr).toBe(0);
    const secret = readdirSync(backups).find((f) => f.endsWith('.webhook-secret'));
    expect(secret && readFileSync(join(backups, secret), 'utf8')).toBe(`${GENERATED}\n`);
  });

  it('env.example copied to .env in a checkout keeps the CLI on the checkout’s log', async () => {
    // Given a checkout whose .env is deploy/env.example, as its header says
    const dir = harness.dir();
    copyFileSync(join(ROOT, 'deploy', 'env.example'), join(dir, '.env'));
    // When a command that reads the log runs there
    const result = await runCli(['status'], { cwd: dir, env: cliEnv() });
    // Then it looks for ./data/husky-relay.db, not for the service's /var/lib
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no log at ${join(dir, 'data', 'husky-relay.db')}`);
    expect(Object.keys(parseEnv(readFileSync(join(dir, '.env'), 'utf8')))).not.toContain('HUSKY_RELAY_DB');
  });

  it('send posts to the PORT and HOST of .env when no serve holds the database', async () => {
    // Given a receiver on some port of another loopback address, and a .env naming both
    const dir = harness.dir();
    const received: { url: string; signature: string | undefined; body: string }[] = [];
    const receiver = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (c: string) => (body += c));
      request.on('end', () => {
        received.push({ url: request.url ?? '', signature: request.headers['x-husky-signature'] as string | undefined, body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    }).listen(0, '127.0.0.2');
    await once(receiver, 'listening');
    const { port } = receiver.address() as AddressInfo;
    writeFileSync(join(dir, '.env'), `PORT=${port}\nHOST=127.0.0.2\nHUSKY_WEBHOOK_SECRET=${SECRET}\n`);
    try {
      // When send runs in that folder, without --url
      const result = await runCli(['send', FIXTURE], { cwd: dir, env: cliEnv() });
      // Then the file went there, signed
      expect(result).toMatchObject({ code: 0, stdout: '200 {"ok":true}\n' });
      expect(received).toEqual([{ url: '/webhooks/husky', signature: sign(readFileSync(FIXTURE), SECRET), body: readFileSync(FIXTURE, 'utf8') }]);
    } finally {
      receiver.close();
    }
  });

  it('send reaches a serve that took its PORT from .env', async () => {
    // Given serve started in a checkout whose .env sets PORT
    const dir = harness.dir();
    const port = await freePort();
    writeFileSync(join(dir, '.env'), `PORT=${port}\nHOST=127.0.0.1\nHUSKY_WEBHOOK_SECRET=${SECRET}\nHUSKY_RELAY_RULES=${join(dir, 'none.yaml')}\n`);
    const serve = harness.track(spawnCli(['serve'], { cwd: dir, env: cliEnv() }));
    expect(await serve.listening()).toBe(`http://127.0.0.1:${port}/webhooks/husky`);
    // When send runs there
    const result = await runCli(['send', FIXTURE], { cwd: dir, env: cliEnv() });
    // Then serve stored it
    expect(result).toMatchObject({ code: 0, stdout: `200 ${JSON.stringify({ ok: true, event_id: 'evt_test123', seq: 1 })}\n` });
  });

  it('the systemd unit restarts the relay whatever ended it: a failure, and a death by SIGHUP, which on-failure alone counts as clean', async () => {
    // Given the unit file as shipped, read as systemd reads it ([Service] keys; a later line wins)
    const text = readFileSync(join(ROOT, 'deploy', 'husky-relay.service'), 'utf8');
    const service = unitSection(text, 'Service');
    // Then it restarts after a failure, and after SIGHUP too (Restart=always would do both)
    const restart = service.get('Restart')?.at(-1);
    const forced = (service.get('RestartForceExitStatus') ?? []).join(' ').split(/\s+/);
    expect(restart === 'always' || (restart === 'on-failure' && forced.includes('SIGHUP')), `Restart=${restart}, RestartForceExitStatus=${forced.join(' ')}`).toBe(true);
    // And SIGHUP is the reload it means, sent to the main process
    expect(service.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    // And systemd itself parses those lines without a complaint (where systemd is installed: Debian, the CI image)
    const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
    if (PATH.split(':').some((dir) => existsSync(join(dir, 'systemd-analyze')))) {
      const verify = await run('systemd-analyze', ['verify', join(ROOT, 'deploy', 'husky-relay.service')], { PATH }, ROOT);
      expect(verify.stderr).not.toMatch(/Restart|ExecReload|Failed to parse/);
    }
  });
});

/** The keys of one `[Section]` of a systemd unit file, each with its values in order (comments and continuations aside). */
function unitSection(text: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let inside = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inside = line === `[${name}]`;
    else if (inside && line && !line.startsWith('#') && !line.startsWith(';') && line.includes('=')) {
      const at = line.indexOf('=');
      const key = line.slice(0, at).trim();
      keys.set(key, [...(keys.get(key) ?? []), line.slice(at + 1).trim()]);
    }
  }
  return keys;
}
