import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, jsonLines } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { makeEvent } from './helpers/relay.js';

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;

describe('files the relay creates are 0600 in folders it creates 0700, whatever the umask (README "Files beside the database", issue 11 item 19)', () => {
  const harness = processHarness('husky-modes-');

  /** serve on a new --db under `dir`, with no secret set (so it generates one), under `umask`. */
  async function serveWith(umask: string, dbPath: string, dir: string) {
    const child = harness.track(spawnCli(['--db', dbPath, '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv(), umask }));
    const url = await child.listening();
    return { child, url };
  }

  it.each(['000', '022'])('under umask %s: the log, its WAL and SHM, lock, pid and secret files are 0600; new folders 0700', async (umask) => {
    // Given a --db in folders that do not exist yet
    const t = { dir: harness.dir() };
    const dbPath = join(t.dir, 'var', 'lib', 'relay.db');
    // When serve starts there under that umask and stores an event
    const { child, url } = await serveWith(umask, dbPath, t.dir);
    const body = makeEvent();
    const secret = readFileSync(join(t.dir, 'var', 'lib', 'webhook-secret'), 'utf8').trim();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, secret) }, body });
    expect(response.status).toBe(200);
    // Then every file it made is its owner's alone, and so are the folders it made
    expect(mode(join(t.dir, 'var'))).toBe('0700');
    expect(mode(join(t.dir, 'var', 'lib'))).toBe('0700');
    for (const file of ['relay.db', 'relay.db-wal', 'relay.db-shm', 'relay.db.lock', 'relay.db.serve.pid', 'webhook-secret']) {
      expect([file, mode(join(t.dir, 'var', 'lib', file))]).toEqual([file, '0600']);
    }
    // And nothing warns about them
    child.child.kill('SIGTERM');
    const result = await child.exited;
    expect(jsonLines(result.stdout).filter((l) => String(l['msg']).includes('open to other users'))).toEqual([]);
  });

  it('a folder the user made, open to others, is left as it is, with a warning that says what to do', async () => {
    // Given a folder made by the user, readable by everyone
    const t = { dir: harness.dir() };
    const folder = join(t.dir, 'shared');
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    // When serve keeps its log there
    const { child } = await serveWith('022', join(folder, 'relay.db'), t.dir);
    child.child.kill('SIGTERM');
    const result = await child.exited;
    // Then the folder's mode is the user's choice, the files are still private, and a warning says so
    expect(mode(folder)).toBe('0755');
    expect(mode(join(folder, 'relay.db'))).toBe('0600');
    const warnings = jsonLines(result.stdout).filter((l) => l['level'] === 40).map((l) => l['msg']);
    expect(warnings).toContain(`${folder} is open to other users (mode 0755) and the log holds call transcripts: chmod 700 ${folder}`);
  });
});
