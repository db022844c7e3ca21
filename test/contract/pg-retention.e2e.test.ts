import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from '../../testing/fakes/fake-http.js';
import { cliEnv, killServe, runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { freshPgDatabase, pgQuery, TEST_MASTER_KEY } from '../helpers/pg.js';
import { makeEvent, SECRET, tempDir } from '../helpers/relay.js';

/** README "Personal data", Retention, on a PostgreSQL log: `serve --retention` sweeps there as on SQLite. */
describe('serve --retention on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let temp: ReturnType<typeof tempDir>;
  let receiver: FakeHttp;
  let relay: ServeProcess | undefined;

  beforeEach(async () => {
    [db, temp, receiver] = [await freshPgDatabase(), tempDir(), await startFakeHttp()];
  });
  afterEach(async () => {
    await killServe(relay);
    await Promise.all([receiver.close(), db.drop()]);
    temp.cleanup();
  });

  it('erases, by retention, a call whose last event is older than the window, its payload gone, then its entries', async () => {
    const rulesPath = `${temp.dir}/rules.yaml`;
    writeFileSync(rulesPath, `version: 1\nsinks:\n  hook: { type: http, url: "${receiver.url}" }\nrules:\n  - id: all\n    on: call.*\n    actions:\n      - sink: hook\n`);
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: TEST_MASTER_KEY, HUSKY_RELAY_RULES: rulesPath });
    relay = await startServe({ dbPath: db.url, cwd: temp.dir, env, args: ['--no-ui', '--retention', '2s'], timeoutMs: 20_000 });
    const body = makeEvent({ event_id: 'evt_kept_briefly' }, { call_id: 'call_brief', summary: 'brief-marker' });
    const signature = createHmac('sha256', SECRET).update(body).digest('hex');
    const answer = await fetch(relay.webhookUrl, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': signature } });
    expect(answer.status).toBe(200);
    // Then within a few sweeps (every 2 s) the call is erased, by retention, its payload gone
    const erased = () => pgQuery<{ by: string }>(db.url, `SELECT data->>'by' AS by FROM entries WHERE type = 'call.erased' AND data->>'call_id' = 'call_brief'`);
    await expect.poll(async () => (await erased()).map((r) => r.by), { timeout: 15_000, interval: 250 }).toEqual(['retention']);
    expect(await pgQuery(db.url, `SELECT seq FROM payloads WHERE call_id = 'call_brief'`)).toEqual([]);
    // And a window later its entries leave the log: a log.truncated says where it now starts, and the chain verifies
    const start = () => pgQuery<{ seq: number }>(db.url, `SELECT seq::int FROM log_start`);
    await expect.poll(async () => (await start()).length, { timeout: 20_000, interval: 250 }).toBe(1);
    expect(await pgQuery(db.url, `SELECT seq FROM entries WHERE data->>'event_id' = 'evt_kept_briefly'`)).toEqual([]);
    expect((await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM entries WHERE type = 'log.truncated'`))[0]!.n).toBeGreaterThan(0);
    const verified = await runCli(['--db', db.url, 'log', '--verify'], { cwd: temp.dir, env: cliEnv({ HUSKY_RELAY_MASTER_KEY: TEST_MASTER_KEY }), timeoutMs: 20_000 });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/the log starts at entry \d+: retention removed the entries before it/);
  }, 60_000);

});
