import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, jsonLines, runCli } from './helpers/cli.js';
import { processHarness, spawnCli } from './helpers/cli-process.js';
import { makeEvent } from './helpers/relay.js';

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;

describe('serve and the CLI on a --db that is a symlink (README "Files beside the database")', () => {
  const harness = processHarness('husky-db-files-');

  it('serve through a dangling link makes every file 0600 where the link leads, and warns of that folder, not the link\'s', async () => {
    // Given `ln -s real/relay.db links/relay.db` before the database exists, real/ made by the user and open to others
    const dir = harness.dir();
    const [real, links] = [join(dir, 'real'), join(dir, 'links')];
    mkdirSync(real);
    chmodSync(real, 0o755);
    mkdirSync(links, { mode: 0o700 });
    symlinkSync(join(real, 'relay.db'), join(links, 'relay.db'));
    // When serve starts through the link, generates its secret and stores an event
    const child = harness.track(spawnCli(['--db', join(links, 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: cliEnv(), umask: '022' }));
    const url = await child.listening();
    const secret = readFileSync(join(real, 'webhook-secret'), 'utf8').trim();
    const body = makeEvent();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, secret) }, body });
    expect(response.status).toBe(200);
    // Then every file of the database is its owner's alone, beside the database file
    for (const file of ['relay.db', 'relay.db-wal', 'relay.db-shm', 'relay.db.lock', 'relay.db.serve.pid', 'webhook-secret', 'master-key', 'ui-token']) {
      expect([file, mode(join(real, file))]).toEqual([file, '0600']);
    }
    child.child.kill('SIGTERM');
    const result = await child.exited;
    // And the warning names the folder the transcripts are in
    const warnings = jsonLines(result.stdout).filter((l) => String(l['msg']).includes('open to other users')).map((l) => l['msg']);
    expect(warnings).toEqual([`${real} is open to other users (mode 0755) and the log holds call transcripts: chmod 700 ${real}`]);
  });

  it('a command whose link has a different master key beside it than the database file has is refused: one line naming both, exit 1', async () => {
    // Given a log made through its real path, and an older master-key file beside a link to it that differs
    const dir = harness.dir();
    const [real, links] = [join(dir, 'real'), join(dir, 'links')];
    mkdirSync(links, { mode: 0o700 });
    await new SqliteStore(join(real, 'relay.db')).close();
    symlinkSync(join(real, 'relay.db'), join(links, 'relay.db'));
    writeFileSync(join(links, 'master-key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
    // When a command opens the log through the link
    const result = await runCli(['--db', join(links, 'relay.db'), 'log'], { cwd: dir });
    // Then it stops before reading anything, saying which two files differ
    expect([result.code, result.stdout, result.stderr]).toEqual([
      1,
      '',
      `husky-relay: two master key files for one database differ: ${join(real, 'master-key')} (beside the database file, used) and ${join(links, 'master-key')} (beside the --db symlink); keep the right one at ${join(real, 'master-key')} and delete the other (README "Files beside the database")\n`,
    ]);
  });
});
