import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { cliEnv, killServe, startServe, type ServeProcess } from './helpers/cli.js';
import { rawRequest } from './helpers/http.js';
import { until, writeRules } from './helpers/pipeline.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

let fake: FakeHttp | undefined;
let serve: ServeProcess | undefined;
let cleanup: (() => void) | undefined;

afterEach(async () => {
  await killServe(serve);
  serve = undefined;
  await fake?.close();
  cleanup?.();
});

const headers = (body: string) => ({ 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) });

describe('a poison pill at ingest (issue 11, item 1)', () => {
  it('a signed event nested 6,000 deep, routed to an http sink with the default body: 422, and serve keeps working', async () => {
    // Given serve routing every event to an http sink whose body is the envelope (the default)
    const temp = tempDir();
    cleanup = temp.cleanup;
    fake = await startFakeHttp();
    const rulesPath = writeRules(
      temp.dir,
      `version: 1
sinks:
  audit: { type: http, url: "${fake.url}" }
rules:
  - id: audit-all
    on: "*"
    actions:
      - sink: audit
`,
    );
    serve = await startServe({ dbPath: `${temp.dir}/relay.db`, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rulesPath }) });
    // When HuskyVoice sends a ~12 KB event whose data.x is 6,000 nested arrays
    const poison = makeEvent({}, { x: '__X__' }).replace('"__X__"', '['.repeat(6000) + ']'.repeat(6000));
    expect(Buffer.byteLength(poison)).toBeGreaterThan(12_000);
    const refused = await rawRequest(serve.url, { path: '/webhooks/husky', headers: headers(poison), body: poison });
    // Then it is refused for good (a 4xx HuskyVoice does not retry), naming where and the limit
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({ error: 'invalid_envelope', details: [{ path: expect.stringMatching(/^data\.x\.0\.0/), message: expect.stringContaining('64') }] });
    // And serve is still running: the next event is acknowledged and delivered
    const next = makeEvent();
    const accepted = await rawRequest(serve.url, { path: '/webhooks/husky', headers: headers(next), body: next });
    expect(accepted).toMatchObject({ status: 200, body: { ok: true, seq: 2 } });
    await until(() => fake!.requests.length === 1, { what: 'the next event to reach the http sink', timeoutMs: 8000 });
    expect(fake.requests[0]?.rawBody).toBe(next);
    expect(serve.child.exitCode).toBeNull();
    expect(serve.stderr()).not.toMatch(/RangeError|Maximum call stack/);
  });
});
