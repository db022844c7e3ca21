import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, killServe, startServe, type ServeProcess } from './helpers/cli.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

let serve: ServeProcess | undefined;
let cleanup: (() => void) | undefined;

afterEach(async () => {
  await killServe(serve);
  serve = undefined;
  cleanup?.();
});

describe('created_at does not depend on the host time zone (issue 12, item 1)', () => {
  it.each(['America/New_York', 'Asia/Tokyo', 'UTC'])('under TZ=%s a zone-less created_at is stored as the same UTC instant', async (zone) => {
    // Given serve running in a host time zone
    const temp = tempDir();
    cleanup = temp.cleanup;
    const dbPath = `${temp.dir}/relay.db`;
    serve = await startServe({ dbPath, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, TZ: zone }) });
    // When HuskyVoice sends created_at without a zone, and another with an offset
    const bodies = [makeEvent({ created_at: '2026-06-01T10:00:00' }), makeEvent({ created_at: '2026-06-01T19:00:00+09:00' })];
    for (const body of bodies) {
      const got = await rawRequest(serve.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
      expect(got.status).toBe(200);
    }
    // Then both entries hold 10:00 UTC, the bodies their bytes as sent
    const log = new SqliteLog(dbPath, { readonly: true });
    try {
      const entries = log.read(0, { types: ['event.received'] });
      expect(entries.map((e) => e.data)).toEqual(bodies.map((body) => expect.objectContaining({ created_at: '2026-06-01T10:00:00.000Z', body })));
    } finally {
      log.close();
    }
  });
});
