import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from '../testing/fakes/fake-http.js';
import { deliveriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * The pipeline thread (routing and delivery) is supervised: a bug that throws there must not
 * stop deliveries for good while webhooks keep being acknowledged (README "How it is built").
 */
/** A thread started from the TypeScript sources transpiles them first: on a loaded machine that takes seconds. */
const RESTART = { timeoutMs: 30_000, what: 'the pipeline thread to be started again' };

describe('a pipeline thread that fails', () => {
  let hook: FakeHttp;
  let relay: TestRelay;
  let cleanup: () => void;
  beforeEach(async () => {
    hook = await startFakeHttp();
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = `version: 1\nsinks:\n  hook: { type: http, url: "${hook.url}" }\nrules:\n  - id: all\n    on: "*"\n    actions:\n      - sink: hook\n`;
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, rules), pipelineRestartDelaysMs: [300] });
  });
  afterEach(async () => {
    await relay.close();
    await hook.close();
    cleanup();
  });

  const sent = () => hook.requests.map((r) => /evt_[a-z0-9_]+/.exec(r.rawBody)?.[0]);

  it('is started again: events acknowledged while it was down are delivered, once each; /readyz says why meanwhile', async () => {
    // Given a relay delivering to a hook
    await postEvent(relay, makeEvent({ event_id: 'evt_first' }));
    // (recorded as succeeded: an attempt whose outcome is not in the log yet is made again after a failure, at-least-once)
    await until(() => deliveriesOf(relay.log, { status: 'succeeded' }).length === 1);

    // When its pipeline thread fails with an uncaught error
    relay.pipeline!.debugCrash();
    await until(() => relay.pipeline!.down() !== null);
    // Then webhooks are still acknowledged, and /readyz says routing and delivery are down
    await postEvent(relay, makeEvent({ event_id: 'evt_while_down' }));
    const ready = await fetch(`${relay.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('the pipeline thread (routing and delivery) failed');

    // And once it is started again, what arrived meanwhile is delivered, and nothing twice
    await until(() => relay.pipeline!.restarts === 1 && relay.pipeline!.down() === null, RESTART);
    await postEvent(relay, makeEvent({ event_id: 'evt_after' }));
    await until(() => sent().includes('evt_while_down') && sent().includes('evt_after'));
    expect(sent().sort()).toEqual(['evt_after', 'evt_first', 'evt_while_down']);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  });

  it('fails again and again: it keeps being started, the webhooks keep being acknowledged', async () => {
    for (let i = 1; i <= 3; i++) {
      relay.pipeline!.debugCrash();
      await until(() => relay.pipeline!.restarts === i && relay.pipeline!.down() === null, RESTART);
      await postEvent(relay, makeEvent({ event_id: `evt_round_${i}` }));
      await until(() => deliveriesOf(relay.log, { status: 'succeeded' }).length === i, RESTART);
    }
    await until(() => sent().length === 3, RESTART);
    expect(sent().sort()).toEqual(['evt_round_1', 'evt_round_2', 'evt_round_3']);
  });
});
