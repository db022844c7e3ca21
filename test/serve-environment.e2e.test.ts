import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { SCHEMA_VERSION } from '../src/log/sqlite/migrations.js';
import { cliEnv, type CliResult } from './helpers/cli.js';
import { processHarness, runCliWith, spawnCli, type SpawnCliOptions } from './helpers/cli-process.js';
import { makeEvent, SECRET } from './helpers/relay.js';
import { sign } from '../src/receive/verify-signature.js';

const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });

/** Every file and folder under `dir`, relative, sorted: what a run left behind. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** Exit 1 and one line `husky-relay: …` naming `what`: no stack trace, nothing on stdout. */
function expectOneLine(result: CliResult, what: string | RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^husky-relay: /);
  if (typeof what === 'string') expect(lines[0]).toContain(what);
  else expect(lines[0]).toMatch(what);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(result.stdout).toBe('');
}

describe('environment problems at start are user errors: exit 1, one line, nothing left behind (README "Command line", issue 11 item 14)', () => {
  const temp = processHarness('husky-env-').dir;
  const serve = (dir: string, db: string, extra: Partial<SpawnCliOptions> & { args?: string[] } = {}) =>
    runCliWith(['--db', db, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0', ...(extra.args ?? [])], { cwd: dir, env, ...extra });

  it('--db that cannot hold a log: a folder, a file in the path, a text file, /proc', async () => {
    // Given paths that are no place for a log
    const dir = temp();
    mkdirSync(join(dir, 'a-folder'));
    writeFileSync(join(dir, 'notes.txt'), 'shopping list\n');
    const cases: [string, string][] = [
      [join(dir, 'a-folder'), `${join(dir, 'a-folder')} is a folder; --db (HUSKY_RELAY_DB) takes the database file`],
      [join(dir, 'notes.txt', 'relay.db'), `${join(dir, 'notes.txt')} is a file, not a folder`],
      [join(dir, 'notes.txt'), `${join(dir, 'notes.txt')} is not a husky-relay database (not an SQLite file)`],
      ['/proc/husky-relay-test/relay.db', 'cannot create the folder /proc/husky-relay-test'],
    ];
    const before = tree(dir);
    for (const [db, message] of cases) {
      // When serve is started on each
      const result = await serve(dir, db);
      // Then it says what is wrong with that path, in one line, and makes nothing
      expectOneLine(result, message);
      expect(tree(dir)).toEqual(before);
    }
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('shopping list\n');
  });

  it('--db an SQLite file of another application: refused, and not changed by one byte', async () => {
    // Given another application's database
    const dir = temp();
    const other = join(dir, 'crm.sqlite');
    const db = new Database(other);
    db.exec(`CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO contacts (email) VALUES ('a@example.com')`);
    db.close();
    const bytes = readFileSync(other);
    const before = tree(dir);
    // When serve, status and log are pointed at it
    const results = [await serve(dir, other), await runCliWith(['--db', other, 'status'], { cwd: dir, env }), await runCliWith(['--db', other, 'log'], { cwd: dir, env })];
    // Then each refuses it by name, and the file is exactly as it was (not even switched to WAL)
    for (const result of results) expectOneLine(result, `${other} is not a husky-relay database (an SQLite file of another application: its tables are contacts)`);
    expect(readFileSync(other).equals(bytes)).toBe(true);
    expect(tree(dir)).toEqual(before);
  });

  it('--db written by a newer husky-relay: refused, saying to upgrade', async () => {
    // Given a log whose schema is newer than this version knows
    const dir = temp();
    const path = join(dir, 'relay.db');
    new SqliteLog(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    raw.close();
    // When serve and deliveries open it
    for (const result of [await serve(dir, path), await runCliWith(['--db', path, 'deliveries'], { cwd: dir, env })]) {
      // Then both say so, and what to do
      expectOneLine(result, `${path} was written by a newer husky-relay (schema version ${SCHEMA_VERSION + 3}; this one reads up to ${SCHEMA_VERSION}): upgrade husky-relay`);
    }
    // (the master key is the one the log made when it was created above: README "Personal data")
    expect(tree(dir)).toEqual(['master-key', 'relay.db']);
  });

  it('a folder the user running it cannot write: named, with the reason', async () => {
    // Given a folder without write permission (run as nobody when the tests run as root: chmod denies root nothing)
    const dir = temp();
    chmodSync(dir, 0o755);
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    // When serve is to create its log there, and a folder inside it
    const inFolder = await serve(dir, join(locked, 'relay.db'), { unprivileged: true });
    const below = await serve(dir, join(locked, 'data', 'relay.db'), { unprivileged: true });
    // Then each names what it could not create and why
    expectOneLine(inFolder, `cannot create ${join(locked, 'relay.db.lock')}: permission denied`);
    expectOneLine(below, `cannot create the folder ${join(locked, 'data')}: permission denied`);
    expect(tree(locked)).toEqual([]);
  });

  it('a log file it may read but not write: named, with the reason', async () => {
    // Given an existing log, readable but not writable by the user running serve, in a folder it cannot write
    const dir = temp();
    const folder = join(dir, 'log');
    mkdirSync(folder);
    const path = join(folder, 'relay.db');
    new SqliteLog(path).close();
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    chmodSync(dir, 0o755);
    // When serve and retry run as that user
    const results = [await serve(dir, path, { unprivileged: true }), await runCliWith(['--db', path, 'retry', '--dead'], { cwd: dir, env, unprivileged: true })];
    // Then each names the file, and why
    for (const result of results) {
      expectOneLine(result, `cannot open the log at ${path}: permission denied (husky-relay runs as `);
      expect(result.stderr).toContain('husky-relay writes it, and its -wal and -shm files beside it');
    }
    chmodSync(folder, 0o755);
  });

  it('a port in use or an address not on this machine: named; nothing is created', async () => {
    // Given a port another process listens on
    const dir = temp();
    const other = createServer().listen(0, '127.0.0.1');
    await once(other, 'listening');
    const { port } = other.address() as AddressInfo;
    try {
      // When serve is started on it, and on an address this machine does not have
      const inUse = await serve(dir, join(dir, 'data', 'relay.db'), { args: ['--port', String(port)] });
      const notHere = await serve(dir, join(dir, 'data', 'relay.db'), { args: ['--host', '192.0.2.1'] });
      // Then each says which port or address, and the log's folder was not even made
      expectOneLine(inUse, `port ${port} on 127.0.0.1 is already in use`);
      expectOneLine(notHere, '192.0.2.1 is not an address of this machine (--host or HOST)');
      expect(tree(dir)).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('PORT that is not a port: named as PORT, not --port', async () => {
    const dir = temp();
    const result = await runCliWith(['--db', join(dir, 'relay.db'), 'serve'], { cwd: dir, env: { ...env, PORT: '80a' } });
    expectOneLine(result, 'PORT: "80a" is not a port number');
  });

  it('a HUSKY_RELAY_MASTER_KEY of the wrong form, in an empty folder with no secret set: refused before the secret, the folder or the log is made', async () => {
    // Given keys that cannot be master keys: not hex nor base64 of 32 bytes, commas only, 31 bytes, a good one then a bad one
    const good = 'a'.repeat(64);
    const cases: [string, string][] = [
      ['xyz', 'HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes'],
      [',,,', 'HUSKY_RELAY_MASTER_KEY holds no key'],
      ['ab'.repeat(31), 'HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes'],
      [Buffer.alloc(31, 7).toString('base64'), 'HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes'],
      [`${good},bad`, 'HUSKY_RELAY_MASTER_KEY: key 2 is not 32 bytes'],
    ];
    for (const [key, message] of cases) {
      const dir = temp();
      // When serve starts there with the defaults (./data/husky-relay.db, a generated webhook secret) and that key
      const result = await runCliWith(['serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv({ HUSKY_RELAY_MASTER_KEY: key }) });
      // Then it names the variable and the key in one line (no "generated a webhook secret" banner before it), and makes nothing
      expectOneLine(result, message);
      expect(tree(dir)).toEqual([]);
    }
  });

  it('a HUSKY_RELAY_MASTER_KEY of the wrong form is refused the same way by every command, even one that does not open the log', async () => {
    // Given an empty folder, an event file, and a key of 31 bytes
    const dir = temp();
    writeFileSync(join(dir, 'event.json'), makeEvent());
    const before = tree(dir);
    const keyEnv = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: 'ab'.repeat(31) });
    // When status, log and sign run with it
    for (const args of [['status'], ['log'], ['sign', 'event.json']]) {
      const result = await runCliWith(args, { cwd: dir, env: keyEnv });
      // Then each says the same line at start, and nothing is made
      expectOneLine(result, 'HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes (64 hex characters, or base64 of 32 bytes; openssl rand -hex 32)');
    }
    expect(tree(dir)).toEqual(before);
  });

  it('--rules that cannot be read does not stop serve: webhooks are stored, /readyz names the file', async () => {
    // Given a rules path that is a folder (unreadable as a file, even for root)
    const dir = temp();
    const rules = join(dir, 'rules.yaml');
    mkdirSync(rules);
    // When serve starts with it
    const serve = spawnCli(['--db', join(dir, 'relay.db'), '--rules', rules, 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env });
    try {
      const origin = new URL(await serve.listening()).origin;
      // Then events are still received and stored (nothing is lost while the rules are fixed)
      const body = makeEvent();
      const stored = await fetch(`${origin}/webhooks/husky`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
      expect(stored.status).toBe(200);
      // And readiness says what is wrong, naming the file, as does the log
      const ready = await fetch(`${origin}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain(rules);
      expect(serve.stdout()).toContain(`${rules}:1:1: cannot read rules file: it is a directory`);
    } finally {
      serve.child.kill('SIGTERM');
      expect((await serve.exited).code).toBe(0);
    }
  });

  it('a full disk at start: named; no pid file left, no log made', async () => {
    // Given a disk with no space left (a full tmpfs, for this child only)
    const dir = temp();
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    // When serve starts with its log there
    const result = await runCliWith(['--db', join(disk, 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
      cwd: dir,
      env,
      tmpfs: { dir: disk, kib: 64, full: true },
    });
    // Then it says the device is full, naming the path, and leaves no pid file and no log
    expectOneLine(result, `cannot write ${join(disk, 'relay.db.serve.pid')}: no space left on the device`);
    expect(readFileSync(`${disk}.after`, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['.fill', 'relay.db.lock']);
  });
});
