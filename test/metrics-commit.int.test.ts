import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

/** Where an acknowledgement's time goes, on /metrics: its commit, and its wait for the writer. */
describe('/metrics: webhooks\' commits', () => {
  let relay: TestRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
  });

  it('counts each commit that held webhooks, with its duration and its wait for the writer', async () => {
    // Given a relay, when two events are acknowledged one after the other
    relay = await startTestRelay();
    for (let i = 0; i < 2; i++) expect((await relay.postSigned(makeEvent())).status).toBe(200);
    // Then both histograms counted two commits
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    expect(/^husky_relay_commit_seconds_count (\d+)$/m.exec(text)?.[1]).toBe('2');
    expect(/^husky_relay_commit_wait_seconds_count (\d+)$/m.exec(text)?.[1]).toBe('2');
  });
});
