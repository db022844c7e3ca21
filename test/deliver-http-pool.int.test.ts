import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RelayOptions } from '../src/relay.js';
import { startCountingReceiver, type CountingReceiver } from './fakes/counting-receiver.js';
import { allHaveStatus, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir } from './helpers/relay.js';

/**
 * Issue 13: the relay keeps an HTTP sink's connections open between deliveries, and lets go of
 * them when the sink is built again (rules reload) and when it stops. A Slack sink, over the
 * same transport, does the same.
 */

let receiver: CountingReceiver;
let dir: string;
let cleanup: () => void;
afterEach(async () => {
  await receiver.close();
  cleanup();
});

/** A sink kind under test: how its receiver answers, its rules, and what the relay needs to reach it. */
interface PooledKind {
  answer?: (req: IncomingMessage, res: ServerResponse) => void;
  rules(url: string): string;
  relay(url: string): Partial<RelayOptions>;
}

const slackOrigin = (url: string) => `${new URL(url).origin}/api/`;

const KINDS: [string, PooledKind][] = [
  ['an HTTP sink', {
    rules: (url) => `version: 1
sinks:
  hook: { type: http, url: "${url}", concurrency: 2 }
rules:
  - id: all
    on: "*"
    actions:
      - sink: hook
`,
    relay: () => ({}),
  }],
  ['a Slack sink', {
    answer: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ ok: true, channel: 'C0000001', ts: '1700000001.000001' }));
    },
    rules: () => `version: 1
sinks:
  team: { type: slack, token: "\${SLACK_BOT_TOKEN}", concurrency: 2 }
rules:
  - id: all
    on: "*"
    actions:
      - sink: team
        channel: "#calls"
        text: "{{ data.call_id }}"
`,
    relay: (url) => ({ env: { SLACK_BOT_TOKEN: 'xoxb-pool-token' }, sinkEnv: { slackApiUrl: slackOrigin(url), hubspotBaseUrl: 'http://127.0.0.1:9' } }),
  }],
];

describe.each(KINDS)('%s in the relay: pooled connections', (_name, kind) => {
  beforeEach(async () => {
    receiver = await startCountingReceiver(kind.answer);
    ({ dir, cleanup } = tempDir());
  });

  it('reuses connections across deliveries, closes them on reload and on stop', async () => {
    // Given a relay with a sink of concurrency 2
    const rules = kind.rules(receiver.url);
    const relay = await startRoutingRelay({ dir, rulesPath: writeRules(dir, rules), ...kind.relay(receiver.url) });
    try {
      // When 12 events arrive, one after another
      for (let i = 0; i < 12; i++) await postEvent(relay, makeEvent({}, { call_id: `c${i}` }));
      await until(() => allHaveStatus(relay.log, 'succeeded', 12), { what: '12 deliveries to succeed' });
      // Then they went out over at most 2 connections, still open
      expect(receiver.requests).toBe(12);
      expect(receiver.connections.length).toBeLessThanOrEqual(2);
      expect(receiver.open()).toBeGreaterThan(0);
      // When the rules are reloaded (the sink is built again), its idle connections close
      writeRules(dir, `${rules}# edited\n`);
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
