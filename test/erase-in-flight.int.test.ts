import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import { statusReport } from '../src/project/queries.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { deliveriesOf, fixture, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

/**
 * An erasure while an attempt of the call's delivery is in flight (README "Erasure"): the
 * delivery is made dead ("erased") at once, and the attempt, ending after it, records a
 * failure with a retry time, which the projection reads as retrying again. The dispatcher
 * must see it open again too: it held it nowhere, so the delivery stayed "retrying", never
 * attempted, counted open (stale work) until serve restarted. That last attempt, which finds
 * the request erased and sends nothing, is no failure of the sink: its health shows the
 * timeout, not the erasure.
 */
let fake: FakeHttp;
let temp: ReturnType<typeof tempDir>;
beforeEach(async () => {
  temp = tempDir('husky-erase-in-flight-');
  fake = await startFakeHttp();
});
afterEach(async () => {
  await fake.close();
  temp.cleanup();
});

describe('erasing a call while an attempt of its delivery is in flight', () => {
  it('leaves the delivery dead (erased), not retrying and never attempted', async () => {
    // Given a relay whose hook hangs past the sink's timeout on the first request
    const rulesPath = writeRules(
      temp.dir,
      `version: 1
sinks:
  hook: { type: http, url: "${fake.url}", timeout: 1s, retry: { max_attempts: 5, initial_delay: 1s, max_delay: 1s } }
rules:
  - id: to-hook
    on: call.*
    actions:
      - sink: hook
        body: { summary: "{{ data.summary }}" }
`,
    );
    fake.failNext({ hang: true }, { times: 1 });
    const relay = await startRoutingRelay({ dir: temp.dir, rulesPath });
    await postEvent(relay, fixture('call.completed', (e) => ((e.event_id = 'evt_inflight'), (e.data.call_id = 'call_inflight'))));
    await until(() => fake.requests.length === 1, { what: 'the attempt to start' });
    // When the call is erased during that attempt
    const store = new SqliteStore(relay.dbPath);
    await store.privacy.erase({ callIds: ['call_inflight'], reason: 'customer request', by: 'cli', downstream: false });
    await store.close();
    // Then once the attempt has timed out and its retry time passed, the delivery is dead again, as erased
    await until(() => deliveriesOf(relay.log)[0]?.attempts === 2, { what: 'the delivery to be attempted again', timeoutMs: 8000 });
    await until(() => deliveriesOf(relay.log)[0]?.status === 'dead', { what: 'the delivery to be dead' });
    expect(deliveriesOf(relay.log)[0]).toMatchObject({ status: 'dead', dead_reason: "erased: the call's personal data was erased" });
    // and nothing of the erased call was sent again
    expect(fake.requests).toHaveLength(1);
    // and the sink's health counts the one real failure (the timeout), not the erasure
    const hook = statusReport(relay.log.db, null).sinks['hook']!;
    expect({ consecutive_failures: hook.consecutive_failures, code: hook.last_error?.['code'] }).toEqual({ consecutive_failures: 1, code: 'timeout' });
    await relay.close();
    relay.log.close();
  }, 20_000);
});
