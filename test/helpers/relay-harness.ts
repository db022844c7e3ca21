import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach } from 'vitest';
import type { FakeSlack } from '../fakes/fake-slack.js';
import { startRoutingRelay, writeRules, type RoutingRelayOptions } from './pipeline.js';
import { tempDir, type TestRelay } from './relay.js';

/**
 * Posts `args` to the fake Slack through the real SDK, as the relay would: `ok`, or Slack's
 * error with its `errors` (`invalid_blocks: must be less than …`).
 */
export async function postToSlack(slack: FakeSlack, token: string, args: Record<string, unknown>): Promise<string> {
  const client = new WebClient(token, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
  try {
    await client.chat.postMessage({ channel: '#c', ...args } as never);
    return 'ok';
  } catch (error) {
    const data = (error as { data?: { error?: string; errors?: string[] } }).data;
    return data?.errors ? `${data.error}: ${data.errors.join(', ')}` : String(data?.error);
  }
}

/**
 * A relay routing `rules` (with `options()`: its sinks' URLs, environment), one per test of a
 * `describe`: stopped, and its folder removed, after each test.
 */
export function routingRelayHarness(options: () => Partial<RoutingRelayOptions> = () => ({})) {
  let relay: TestRelay | undefined;
  let cleanup = () => {};
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
    cleanup();
  });
  return {
    async start(rules: string): Promise<{ relay: TestRelay; dir: string; rulesPath: string }> {
      const temp = tempDir();
      cleanup = temp.cleanup;
      const rulesPath = writeRules(temp.dir, rules);
      relay = await startRoutingRelay({ dir: temp.dir, rulesPath, ...options() });
      return { relay, dir: temp.dir, rulesPath };
    },
  };
}

/** `routingRelayHarness` delivering to the fake Slack with `token`; the fake is reset before each test. */
export function slackRelayHarness(slack: () => FakeSlack, token: string) {
  beforeEach(() => slack().reset());
  return routingRelayHarness(() => ({ env: { SLACK_BOT_TOKEN: token }, sinkEnv: { slackApiUrl: slack().url, hubspotBaseUrl: 'http://127.0.0.1:9' } }));
}
