import Database from 'better-sqlite3';
import { chmodSync, chownSync, openSync, closeSync, unlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, killServe, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { rawRequest } from './helpers/http.js';
import { damagedDatabase } from './helpers/damage.js';
import { writeRules } from './helpers/pipeline.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

let serves: ServeProcess[] = [];
let cleanup: (() => void) | undefined;

afterEach(async () => {
  for (const s of serves) await killServe(s);
  serves = [];
  cleanup?.();
});

const NOBODY = 65534;

/** A folder with a rules file (so readiness is about the log only) and where the database goes. */
function setUp(): { dir: string; dbPath: string; env: NodeJS.ProcessEnv } {
  const temp = tempDir();
  cleanup = temp.cleanup;
  const rulesPath = writeRules(temp.dir, 'version: 1\nsinks:\n  console: { type: log }\nrules: []\n');
  return { dir: temp.dir, dbPath: `${temp.dir}/relay.db`, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rulesPath }) };
}

async function start(dir: string, dbPath: string, env: NodeJS.ProcessEnv, prefix?: string[]): Promise<ServeProcess> {
  const serve = await startServe({ dbPath, cwd: dir, env, prefix });
  serves.push(serve);
  return serve;
}

async function postEvent(url: string, body = makeEvent()): Promise<{ status: number; body: any }> {
  const got = await rawRequest(url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
  return { status: got.status, body: got.body };
}

async function readyz(url: string): Promise<{ status: number; reasons: string[] }> {
  const got = await rawRequest(url, { method: 'GET', path: '/readyz' });
  return { status: got.status, reasons: got.body?.reasons ?? [] };
}

describe('/readyz says whether the next commit can succeed (issue 11, item 7)', () => {
  it('a database file the relay may not write (owned by another user): 503 to webhooks and to /readyz', async () => {
    // Given a database restored by another user (here: root's file, 0644), served by a user who
    // may read it but not write it (as root, serve runs as nobody in a folder nobody owns)
    const { dir, dbPath, env } = setUp();
    new SqliteLog(dbPath).close();
    chmodSync(dbPath, 0o444);
    let prefix: string[] | undefined;
    if (process.getuid?.() === 0) {
      chmodSync(dbPath, 0o644);
      chownSync(dir, NOBODY, NOBODY);
      chownSync(`${dir}/master-key`, NOBODY, NOBODY); // its key is the relay's to read (README "Personal data"); only the log is root's
      prefix = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];
    }
    const serve = await start(dir, dbPath, env, prefix);
    // When a webhook arrives and a balancer asks whether the relay is ready
    const answer = await postEvent(serve.url);
    const ready = await readyz(serve.url);
    // Then the webhook is told to retry, and the relay says it is not ready, and why
    expect(answer).toEqual({ status: 503, body: { error: 'log_unavailable' } });
    expect(ready.status).toBe(503);
    expect(ready.reasons.join('\n')).toMatch(/readonly|read-only/i);
  });

  it('a corrupted projection page: /readyz 503 naming the table before any webhook, and the webhook 503', async () => {
    // Given a database whose p_calls table has its root page overwritten with garbage
    const { dir, dbPath, env } = setUp();
    damagedDatabase(dbPath, 'p_calls', 1);
    const serve = await start(dir, dbPath, env);
    // When a balancer asks whether the relay is ready, before any webhook has tried a commit
    const before = await readyz(serve.url);
    // Then it is not, naming the table and what to do
    expect(before.status).toBe(503);
    expect(before.reasons.join('\n')).toMatch(/derived table p_calls cannot be read \(database disk image is malformed\).*replay --rebuild/);
    // And a webhook is told to retry, and the relay stays not ready
    expect(await postEvent(serve.url)).toEqual({ status: 503, body: { error: 'log_unavailable' } });
    const after = await readyz(serve.url);
    expect(after.status).toBe(503);
    expect(after.reasons.join('\n')).toMatch(/malformed/);
  });

  it('a corrupted index of the log: serve stops at start with one line naming it, exit 1', async () => {
    // Given a database whose index of entries by type has its root page overwritten
    const { dir, dbPath, env } = setUp();
    damagedDatabase(dbPath, 'entries_type_seq', 1);
    // When serve starts on it (the router reads events through that index at once)
    const result = await runCli(['--db', dbPath, 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env, timeoutMs: 30_000 });
    // Then it says what is damaged and what to do, in one line, no stack
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.trim()).toMatch(/^husky-relay: \S+relay\.db is damaged: the log itself \(index entries_type_seq of entries\) cannot be read \(database disk image is malformed\); stop serve and restore the latest backup/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['deleted', () => {}],
    // a connection of serve's own opening the database after the deletion makes an empty one (SQLite writes the header with the first frame)
    ['deleted, and an empty one made in its place', (wal: string) => writeFileSync(wal, '')],
  ])('the WAL file %s under serve: no more 200s; what was acknowledged survives a crash', async (_case, after) => {
    // Given serve that has acknowledged three events
    const { dir, dbPath, env } = setUp();
    const first = await start(dir, dbPath, env);
    const acked: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const body = makeEvent();
      expect((await postEvent(first.url, body)).status).toBe(200);
      acked.push(JSON.parse(body).event_id);
    }
    // When its WAL file is deleted (a cleanup script, a careless rm)
    unlinkSync(`${dbPath}-wal`);
    after(`${dbPath}-wal`);
    // Then a new event is not acknowledged into a file no restart would read, and /readyz says so
    const late = makeEvent();
    expect(await postEvent(first.url, late)).toEqual({ status: 503, body: { error: 'log_unavailable' } });
    const ready = await readyz(first.url);
    expect(ready.status).toBe(503);
    expect(ready.reasons.join('\n')).toMatch(/WAL .*deleted.*restart serve/);
    // And when serve then dies (SIGKILL) and starts again, every acknowledged event is there
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await start(dir, dbPath, env);
    const db = new Database(dbPath, { readonly: true });
    try {
      const ids = db.prepare(`SELECT data ->> '$.event_id' AS id FROM entries WHERE type = 'event.received' ORDER BY seq`).all() as { id: string }[];
      expect(ids.map((r) => r.id)).toEqual(acked);
    } finally {
      db.close();
    }
    // And HuskyVoice's retry of the refused event is accepted now
    expect(await postEvent(second.url, late)).toMatchObject({ status: 200, body: { ok: true, event_id: JSON.parse(late).event_id } });
    expect((await readyz(second.url)).status).toBe(200);
  });

  it('the WAL file replaced by another file under serve: 503 and not ready, naming it', async () => {
    const { dir, dbPath, env } = setUp();
    const serve = await start(dir, dbPath, env);
    expect((await postEvent(serve.url)).status).toBe(200);
    // When the WAL is swapped for another file (a restore copied over a running relay)
    unlinkSync(`${dbPath}-wal`);
    closeSync(openSync(`${dbPath}-wal`, 'w'));
    // Then nothing more is acknowledged, and /readyz says what happened
    expect(await postEvent(serve.url)).toEqual({ status: 503, body: { error: 'log_unavailable' } });
    const ready = await readyz(serve.url);
    expect(ready.status).toBe(503);
    expect(ready.reasons.join('\n')).toMatch(/WAL .*replaced.*restart serve/);
  });
});
