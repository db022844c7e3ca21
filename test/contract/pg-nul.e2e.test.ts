import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from '../../testing/fakes/fake-http.js';
import { cliEnv, killServe, startServe, type ServeProcess } from '../helpers/cli.js';
import { freshPgDatabase, TEST_MASTER_KEY } from '../helpers/pg.js';
import { PgStore } from '../../src/log/pg/pg-store.js';
import { makeEvent, SECRET, tempDir } from '../helpers/relay.js';

/**
 * SPEC §13: an event whose JSON holds `\u0000` (valid JSON; PostgreSQL's json operators refuse
 * it) is acknowledged, logged and delivered on PostgreSQL as on SQLite, with its bytes intact.
 */
describe('serve on PostgreSQL: an event holding \\u0000', () => {
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let temp: ReturnType<typeof tempDir>;
  let receiver: FakeHttp;
  let relay: ServeProcess | undefined;

  beforeEach(async () => {
    db = await freshPgDatabase();
    temp = tempDir();
    receiver = await startFakeHttp();
  });
  afterEach(async () => {
    await killServe(relay);
    await receiver.close();
    await db.drop();
    temp.cleanup();
  });

  it('is delivered, with the NUL in the request the receiver gets', async () => {
    const rulesPath = `${temp.dir}/rules.yaml`;
    writeFileSync(rulesPath, `version: 1\nsinks:\n  hook: { type: http, url: "${receiver.url}" }\nrules:\n  - id: all\n    on: call.*\n    actions:\n      - sink: hook\n`);
    const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: TEST_MASTER_KEY, HUSKY_RELAY_RULES: rulesPath });
    relay = await startServe({ dbPath: db.url, cwd: temp.dir, env, args: ['--no-ui'], timeoutMs: 20_000 });
    const body = makeEvent({ event_id: 'evt_nul' }, { call_id: 'call_nul', summary: 'before\u0000after' });
    const signature = createHmac('sha256', SECRET).update(body).digest('hex');
    const answer = await fetch(relay.webhookUrl, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': signature } });
    expect(answer.status).toBe(200);
    await expect.poll(() => receiver.requests.length, { timeout: 15_000 }).toBe(1);
    expect(receiver.requests[0]!.rawBody).toContain('before\\u0000after');
  }, 40_000);

  it('shows the call (call CALL_ID) and the console\'s event list, the summary with its NUL', async () => {
    // Given the event logged on PostgreSQL, with the NUL in its body's summary
    const store = await PgStore.open(db.url, { masterKeys: TEST_MASTER_KEY });
    try {
      const body = makeEvent({ event_id: 'evt_nul' }, { call_id: 'call_nul', summary: 'before\u0000after' });
      const data = { event_id: 'evt_nul', event_type: 'call.completed', org_id: 'org_1', created_at: 'c', received_at: 'r', call_id: 'call_nul', body };
      await store.append([{ type: 'event.received', data }]);
      // Then the call's story reads, and the console's list of events, its summary intact
      const view = await store.projections.call('call_nul');
      expect(view?.timeline.length).toBe(1);
      const page = await store.projections.eventPage({});
      expect(page.rows.map((r) => [r.event_id, r.summary])).toEqual([['evt_nul', 'before\u0000after']]);
      expect(await store.log.eventBody('evt_nul')).toBe(body);
    } finally {
      await store.close();
    }
  });
});
