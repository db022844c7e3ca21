import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCountingReceiver, type CountingReceiver } from './fakes/counting-receiver.js';
import { allHaveStatus, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir } from './helpers/relay.js';

/**
 * Issue 13: the relay keeps an HTTP sink's connections open between deliveries, and lets go of
 * them when the sink is built again (rules reload) and when it stops.
 */

let receiver: CountingReceiver;
let dir: string;
let cleanup: () => void;
beforeEach(async () => {
  receiver = await startCountingReceiver();
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  await receiver.close();
  cleanup();
});

const rules = (url: string) => `version: 1
sinks:
  hook: { type: http, url: "${url}", concurrency: 2 }
rules:
  - id: all
    on: "*"
    actions:
      - sink: hook
`;

describe('an HTTP sink in the relay: pooled connections', () => {
  it('reuses connections across deliveries, closes them on reload and on stop', async () => {
    // Given a relay with an http sink of concurrency 2
    const relay = await startRoutingRelay({ dir, rulesPath: writeRules(dir, rules(receiver.url)) });
    try {
      // When 12 events arrive, one after another
      for (let i = 0; i < 12; i++) await postEvent(relay, makeEvent({}, { call_id: `c${i}` }));
      await until(() => allHaveStatus(relay.log, 'succeeded', 12), { what: '12 deliveries to succeed' });
      // Then they went out over at most 2 connections, still open
      expect(receiver.requests).toBe(12);
      expect(receiver.connections.length).toBeLessThanOrEqual(2);
      expect(receiver.open()).toBeGreaterThan(0);
      // When the rules are reloaded (the sink is built again), its idle connections close
      writeRules(dir, `${rules(receiver.url)}# edited\n`);
      await relay.pipeline!.reload('SIGHUP');
      await until(() => receiver.open() === 0, { what: 'the old pool to close', timeoutMs: 2000 });
      // and the new sink delivers on a pool of its own
      await postEvent(relay, makeEvent({}, { call_id: 'after' }));
      await until(() => allHaveStatus(relay.log, 'succeeded', 13), { what: 'the 13th delivery' });
      expect(receiver.open()).toBe(1);
    } finally {
      await relay.stop();
    }
    // When the relay stops, no connection is left open
    await until(() => receiver.open() === 0, { what: 'the pool to close on stop', timeoutMs: 2000 });
  });
});
