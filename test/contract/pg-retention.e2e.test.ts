import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from '../../testing/fakes/fake-http.js';
import { cliEnv, killServe, startServe, type ServeProcess } from '../helpers/cli.js';
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

  it('erases, by retention, a call whose last event is older than the window, its payload gone', async () => {
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
  }, 40_000);

});
