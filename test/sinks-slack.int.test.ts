import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSlackSink } from '../src/sinks/slack/sender.js';
import type { AttemptContext, AttemptOutcome, Sink } from '../src/sinks/types.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';

const TOKEN = 'xoxb-test-secret-token-123';
const NOW = Date.parse('2026-01-01T00:00:00Z');

let slack: FakeSlack;
let sink: Sink;

function ctx(over: Partial<AttemptContext> = {}): AttemptContext {
  return { deliveryId: 'dlv_1', attempt: 1, keyState: null, ...over };
}

// generous by default: a first SDK request on a busy CI machine can take a few hundred ms
function slackSink(url: string, timeout_ms = 5000): Sink {
  return createSlackSink('slack', { type: 'slack', token: TOKEN, timeout_ms }, { slackApiUrl: url, now: () => NOW });
}

function failure(outcome: AttemptOutcome) {
  expect(outcome.outcome).toBe('failed');
  if (outcome.outcome !== 'failed') throw new Error('unreachable');
  expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  return outcome;
}

beforeAll(async () => {
  slack = await startFakeSlack({ token: TOKEN });
  sink = slackSink(slack.url);
});
afterAll(() => slack.close());
beforeEach(() => slack.reset());

describe('Slack sink: messages and threads', () => {
  it('posts the first message of a key and returns its channel id and ts', async () => {
    // When
    const out = await sink.send({ channel: '#sales-calls', text: 'hello', thread_key: 'call_1' }, ctx());
    // Then
    expect(out).toEqual({ outcome: 'succeeded', result: { channel: slack.channelId('#sales-calls'), ts: slack.messages[0]?.ts } });
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]?.path).toBe('/api/chat.postMessage');
    expect(slack.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('replies in the thread of the first message, in its channel, with reply_broadcast', async () => {
    // Given
    const first = await sink.send({ channel: '#sales-calls', text: 'started', thread_key: 'call_1' }, ctx());
    const keyState = first.outcome === 'succeeded' ? first.result : null;
    // When
    const out = await sink.send({ channel: '#sales-calls', text: 'ended', thread_key: 'call_1', broadcast: true }, ctx({ keyState }));
    // Then
    expect(out.outcome).toBe('succeeded');
    const [parent, reply] = slack.messages;
    expect(reply).toMatchObject({ channel: parent?.channel, thread_ts: parent?.ts, text: 'ended', reply_broadcast: true });
    expect(out.outcome === 'succeeded' && out.result).toEqual({ channel: parent?.channel, ts: reply?.ts, thread_ts: parent?.ts });
  });

  it('posts text and a channel holding an unpaired surrogate (a transcript\'s "\\ud800") with U+FFFD for it, as UTF-8 can carry it', async () => {
    // When: the SDK form-encodes text and channel, and encodeURIComponent throws URIError on a lone surrogate
    const out = await sink.send({ channel: '#calls-\ud800', text: 'said \ud83d and \udc00 then 😀' }, ctx());
    // Then it is sent, not failed as a network error (transient: retried for hours, holding its thread)
    expect(out).toMatchObject({ outcome: 'succeeded' });
    expect(slack.messages[0]).toMatchObject({ channel: slack.channelId('#calls-\uFFFD'), text: 'said \uFFFD and \uFFFD then 😀' });
  });

  it('with replace: true edits the first message with chat.update (a live card)', async () => {
    // Given
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*ringing*' } }];
    const first = await sink.send({ channel: '#live', text: 'ringing', blocks, thread_key: 'call_2', replace: true }, ctx());
    const keyState = first.outcome === 'succeeded' ? first.result : null;
    // When
    const newBlocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*answered*' } }];
    const out = await sink.send({ channel: '#live', text: 'answered', blocks: newBlocks, thread_key: 'call_2', replace: true }, ctx({ keyState }));
    // Then
    expect(slack.requests.map((r) => r.path)).toEqual(['/api/chat.postMessage', '/api/chat.update']);
    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0]).toMatchObject({ text: 'answered', blocks: newBlocks, edits: 1 });
    expect(out).toEqual({ outcome: 'succeeded', result: keyState });
  });

  it('without a thread_key ignores keyState and posts a new message', async () => {
    await sink.send({ channel: '#a', text: 'x' }, ctx({ keyState: { channel: 'C9999999', ts: '1.2' } }));
    expect(slack.messages[0]).toMatchObject({ channel: slack.channelId('#a') });
    expect(slack.messages[0]?.thread_ts).toBeUndefined();
  });

  it('sends text exactly as rendered: escaping done upstream reaches Slack unchanged', async () => {
    const text = 'Caller said &lt;!channel&gt; &amp; <https://example.com|link> :tada:\nline 2';
    await sink.send({ channel: '#a', text }, ctx());
    expect(slack.messages[0]?.text).toBe(text);
  });

  it('refuses a request without text or blocks as permanent, sending nothing', async () => {
    const out = failure(await sink.send({ channel: '#a' }, ctx()));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
    expect(slack.requests).toHaveLength(0);
  });
});

describe('Slack sink: each failure is one attempt, classified', () => {
  const send = () => sink.send({ channel: '#a', text: 'x' }, ctx());

  it('429 with Retry-After in seconds → rate_limited with retry_after_ms, no SDK retry', async () => {
    slack.failNext({ status: 429, retryAfter: 2 });
    const out = failure(await send());
    expect(out.error).toMatchObject({ kind: 'rate_limited', code: 'http_429', status: 429 });
    expect(out.retry_after_ms).toBe(2000);
    expect(slack.requests).toHaveLength(1);
  });

  it('429 with Retry-After as an HTTP date → rate_limited, delay from the injected clock', async () => {
    slack.failNext({ status: 429, retryAfter: new Date(NOW + 30_000).toUTCString() });
    const out = failure(await send());
    expect(out.error.kind).toBe('rate_limited');
    expect(out.retry_after_ms).toBe(30_000);
  });

  it('429 without Retry-After → rate_limited without a delay', async () => {
    slack.failNext({ status: 429 });
    const out = failure(await send());
    expect(out.error).toMatchObject({ kind: 'rate_limited', code: 'http_429' });
    expect(out.retry_after_ms).toBeUndefined();
    expect(slack.requests).toHaveLength(1);
  });

  it('ok:false ratelimited → rate_limited', async () => {
    slack.failNext({ slackError: 'ratelimited' });
    expect(failure(await send()).error).toMatchObject({ kind: 'rate_limited', code: 'ratelimited' });
  });

  it.each(['', '   '])('ok:false with an empty error (%j) → a failure coded unknown_error, never an empty code', async (slackError) => {
    slack.failNext({ slackError });
    expect(failure(await send()).error.code).toBe('unknown_error');
  });

  it.each([500, 503])('%i → transient http_%i', async (status) => {
    slack.failNext({ status });
    expect(failure(await send()).error).toMatchObject({ kind: 'transient', code: `http_${status}`, status });
    expect(slack.requests).toHaveLength(1);
  });

  it('a request that never answers → transient timeout within the configured timeout', async () => {
    const short = slackSink(slack.url, 300);
    slack.failNext({ hang: true });
    const started = performance.now();
    const out = failure(await short.send({ channel: '#a', text: 'x' }, ctx()));
    expect(out.error).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(slack.requests[0]?.abandoned).toBe(true));
  });

  it('a shutdown signal aborts the attempt as transient', async () => {
    slack.failNext({ hang: true });
    const controller = new AbortController();
    const pending = slackSink(slack.url, 10_000).send({ channel: '#a', text: 'x' }, ctx({ signal: controller.signal }));
    await vi.waitFor(() => expect(slack.requests).toHaveLength(1));
    controller.abort();
    expect(failure(await pending).error).toMatchObject({ kind: 'transient', code: 'aborted' });
  });

  it('a closed socket → transient econnreset', async () => {
    slack.failNext({ close: true });
    expect(failure(await send()).error).toMatchObject({ kind: 'transient', code: 'econnreset' });
  });

  it('connection refused → transient econnrefused', async () => {
    const refused = slackSink(`${await closedPortOrigin()}/api/`);
    const out = failure(await refused.send({ channel: '#a', text: 'x' }, ctx()));
    expect(out.error).toMatchObject({ kind: 'transient', code: 'econnrefused' });
  });

  it.each(['channel_not_found', 'not_in_channel', 'is_archived'])('ok:false %s → permanent', async (code) => {
    slack.failNext({ slackError: code });
    expect(failure(await send()).error).toMatchObject({ kind: 'permanent', code });
  });

  it('a wrong token → permanent invalid_auth, and the token is in no message', async () => {
    const wrong = createSlackSink('slack', { type: 'slack', token: 'xoxb-wrong-token-456' }, { slackApiUrl: slack.url });
    const out = failure(await wrong.send({ channel: '#a', text: 'x' }, ctx()));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'invalid_auth' });
    expect(JSON.stringify(out)).not.toContain('xoxb-wrong-token-456');
  });

  it('an edit of a card that is gone (chat.update message_not_found) posts it afresh, and says so (`restarted`)', async () => {
    const out = await sink.send({ channel: '#a', text: 'x', thread_key: 'k', replace: true }, ctx({ keyState: { channel: 'C0000009', ts: '1.000001' } }));
    expect(slack.requests.map((r) => r.path)).toEqual(['/api/chat.update', '/api/chat.postMessage']);
    expect(out).toEqual({ outcome: 'succeeded', result: { channel: slack.channelId('#a'), ts: slack.messages[0]?.ts, restarted: 'message_not_found' } });
  });

  it('another ok:false on a card edit is still classified, not reposted', async () => {
    slack.failNext({ slackError: 'cant_update_message' });
    const out = failure(await sink.send({ channel: '#a', text: 'x', thread_key: 'k', replace: true }, ctx({ keyState: { channel: 'C0000009', ts: '1.000001' } })));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'cant_update_message' });
    expect(slack.requests).toHaveLength(1);
  });
});
