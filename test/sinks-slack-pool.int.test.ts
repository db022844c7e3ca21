import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { createSlackSink } from '../src/sinks/slack/sender.js';
import type { AttemptOutcome, PooledSink } from '../src/sinks/types.js';
import { startCountingReceiver, type CountingReceiver } from './fakes/counting-receiver.js';
import { attemptContext, closeAfterEach, failure as failed } from './helpers/pool-tests.js';

/**
 * The Slack sink's own wire (`src/sinks/slack/wire.ts`): node:http over one keep-alive pool
 * per sink, as the HTTP sink's. A real server on 127.0.0.1 answers as Slack and counts the
 * connections it is given.
 */

const TOKEN = 'xoxb-pool-secret-token-123';

let receiver: CountingReceiver | undefined;
let sink: PooledSink | undefined;
closeAfterEach(() => sink, () => receiver);

const ctx = attemptContext('dlv_p');

/** Answers every method as Slack does when it succeeds; `delay` ms later if given. */
function slackLike(delay = 0) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ ok: true, channel: 'C0000001', ts: '1700000001.000001', method: req.url }));
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  };
}

const slackUrl = (r: CountingReceiver) => `${new URL(r.url).origin}/api/`;

function slackSink(r: CountingReceiver, over: { concurrency?: number; timeout_ms?: number } = {}): PooledSink {
  return createSlackSink('team', { type: 'slack', token: TOKEN, timeout_ms: 5000, ...over }, { slackApiUrl: slackUrl(r) });
}

const failure = (outcome: AttemptOutcome) => failed(outcome, TOKEN);

describe('Slack sink: keep-alive pool', () => {
  it('reuses one connection for posts, edits and deletes one after another', async () => {
    receiver = await startCountingReceiver(slackLike());
    sink = slackSink(receiver);
    const card = { channel: 'C0000001', ts: '1700000001.000001' };
    for (let i = 0; i < 10; i++) {
      expect(await sink.send({ channel: '#a', text: `post ${i}` }, ctx())).toMatchObject({ outcome: 'succeeded' });
      expect(await sink.send({ channel: '#a', text: `edit ${i}`, thread_key: 'k', replace: true }, ctx({ keyState: card }))).toMatchObject({ outcome: 'succeeded' });
      expect(await sink.send({ erase: card }, ctx())).toMatchObject({ outcome: 'succeeded' });
    }
    expect(receiver.requests).toBe(30);
    expect(receiver.connections).toHaveLength(1);
  });

  it('opens at most `concurrency` connections however many attempts run at once', async () => {
    receiver = await startCountingReceiver(slackLike(20));
    sink = slackSink(receiver, { concurrency: 3 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => sink!.send({ channel: '#a', text: `m${i}` }, ctx())));
    expect(outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
    expect(receiver.connections).toHaveLength(3);
  });

  it('close() ends its idle connections at once (reload, shutdown)', async () => {
    receiver = await startCountingReceiver(slackLike());
    sink = slackSink(receiver);
    await sink.send({ channel: '#a', text: 'x' }, ctx());
    expect(receiver.open()).toBe(1);
    sink.close();
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });
});

describe('Slack sink: the answer is read whole, within the timeout', () => {
  it('an answer whose body stalls past the timeout is a transient timeout, not a cut JSON read as Slack\'s error', async () => {
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"ok":true,"channel":"C0000001",');
    });
    sink = slackSink(receiver, { timeout_ms: 300 });
    const started = performance.now();
    expect(failure(await sink.send({ channel: '#a', text: 'x' }, ctx())).error).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a connection closed mid-body is transient econnreset', async () => {
    receiver = await startCountingReceiver((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":true,');
      setTimeout(() => req.socket.destroy(), 20);
    });
    sink = slackSink(receiver);
    expect(failure(await sink.send({ channel: '#a', text: 'x' }, ctx())).error).toMatchObject({ kind: 'transient', code: 'econnreset' });
  });

  it('an answer over 1 MiB is not read on: a transient failure, and its connection is given up', async () => {
    const big = JSON.stringify({ ok: true, channel: 'C0000001', ts: '1.1', filler: 'x'.repeat(2 * 1024 * 1024) });
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    });
    sink = slackSink(receiver);
    const out = failure(await sink.send({ channel: '#a', text: 'x' }, ctx()));
    expect(out.error).toMatchObject({ kind: 'transient', code: 'network_error' });
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });

  it('a redirect is not followed: one request, a transient failure', async () => {
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    sink = slackSink(receiver);
    expect(failure(await sink.send({ channel: '#a', text: 'x' }, ctx())).error).toMatchObject({ kind: 'transient', code: 'network_error' });
    expect(receiver.requests).toBe(1);
  });
});

describe('Slack sink: an SLACK_API_URL that is not a URL', () => {
  it('fails each attempt as a permanent invalid_request that names it, instead of the sink failing to load', async () => {
    // Given SLACK_API_URL without its scheme (a typo in the environment)
    sink = createSlackSink('team', { type: 'slack', token: TOKEN, timeout_ms: 5000 }, { slackApiUrl: 'slack.internal/api/' });
    // When a message is sent
    const outcome = failure(await sink.send({ channel: '#a', text: 'hello' }, ctx()));
    // Then the attempt is dead at once with the reason, as under fetch, not retried
    expect(outcome.error).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
    expect(outcome.error.message).toContain('SLACK_API_URL: "slack.internal/api/" is not an absolute http:// or https:// URL');
  });
});
