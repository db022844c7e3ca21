import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpSink } from '../src/sinks/http/sender.js';
import type { HttpSinkConfig } from '../src/sinks/http/schema.js';
import type { AttemptContext, AttemptOutcome, Sink } from '../src/sinks/types.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';

const KEY = Buffer.from('a 24-byte secret for tests');
const SECRET = `whsec_${KEY.toString('base64')}`;
const NOW = Date.parse('2026-01-01T00:00:00.750Z');
const NOW_S = String(Math.floor(NOW / 1000));

let receiver: FakeHttp;

function httpSink(over: Partial<HttpSinkConfig> = {}): Sink {
  return createHttpSink('audit', { type: 'http', url: receiver.url, secret: SECRET, timeout_ms: 5000, ...over }, { now: () => NOW });
}

function ctx(over: Partial<AttemptContext> = {}): AttemptContext {
  return { deliveryId: 'dlv_abc', attempt: 1, keyState: null, ...over };
}

const request = (over: Record<string, unknown> = {}) => ({ method: 'POST', headers: {}, body: { event_id: 'evt_1', n: 1 }, ...over });

function failure(outcome: AttemptOutcome) {
  if (outcome.outcome !== 'failed') throw new Error(`expected failure, got ${JSON.stringify(outcome)}`);
  expect(JSON.stringify(outcome)).not.toContain(SECRET);
  return outcome;
}

/** An independent Standard Webhooks verification, as a receiver would do it. */
function verify(secret: string, headers: Record<string, string>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return (headers['webhook-signature'] ?? '').split(' ').includes(`v1,${expected}`);
}

beforeAll(async () => {
  receiver = await startFakeHttp();
});
afterAll(() => receiver.close());
beforeEach(() => receiver.reset());

describe('HTTP sink: signed delivery', () => {
  it('POSTs the body as JSON with Standard Webhooks headers a receiver can verify', async () => {
    // When
    const out = await httpSink().send(request(), ctx());
    // Then
    expect(out).toEqual({ outcome: 'succeeded', result: { status: 200 } });
    const got = receiver.requests[0];
    expect(got?.method).toBe('POST');
    expect(got?.rawBody).toBe('{"event_id":"evt_1","n":1}');
    expect(got?.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'dlv_abc', 'webhook-timestamp': NOW_S });
    expect(verify(SECRET, got?.headers ?? {}, got?.rawBody ?? '')).toBe(true);
  });

  it('a secret without whsec_ is used as its UTF-8 bytes', async () => {
    await httpSink({ secret: 'plain-secret' }).send(request(), ctx());
    const got = receiver.requests[0];
    const mac = createHmac('sha256', 'plain-secret').update(`dlv_abc.${NOW_S}.${got?.rawBody}`).digest('base64');
    expect(got?.headers['webhook-signature']).toBe(`v1,${mac}`);
  });

  it('keeps webhook-id across attempts so receivers can dedupe', async () => {
    await httpSink().send(request(), ctx({ attempt: 1 }));
    await httpSink().send(request(), ctx({ attempt: 2 }));
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual(['dlv_abc', 'dlv_abc']);
  });

  it('merges the rule headers with the sink headers (sink wins), and uses the method', async () => {
    const sink = httpSink({ headers: { Authorization: 'Bearer sink-cred-1', 'X-Env': 'prod' } });
    await sink.send(request({ method: 'put', headers: { 'X-Env': 'rule', 'X-Rule': 'r1' } }), ctx());
    expect(receiver.requests[0]).toMatchObject({
      method: 'PUT',
      headers: { authorization: 'Bearer sink-cred-1', 'x-env': 'prod', 'x-rule': 'r1' },
    });
  });

  it('without a secret sends id and timestamp but no signature', async () => {
    await httpSink({ secret: undefined }).send(request(), ctx());
    expect(receiver.requests[0]?.headers['webhook-id']).toBe('dlv_abc');
    expect(receiver.requests[0]?.headers['webhook-signature']).toBeUndefined();
  });
});

describe('HTTP sink: each failure is one attempt, classified', () => {
  it.each([
    [500, 'transient'],
    [503, 'transient'],
    [408, 'transient'],
    [400, 'permanent'],
    [404, 'permanent'],
    [410, 'permanent'],
  ])('%i → %s', async (status, kind) => {
    receiver.failNext({ status });
    expect(failure(await httpSink().send(request(), ctx())).error).toMatchObject({ kind, code: `http_${status}`, status });
  });

  it('401 → permanent unauthorized', async () => {
    receiver.failNext({ status: 401 });
    expect(failure(await httpSink().send(request(), ctx())).error).toMatchObject({ kind: 'permanent', code: 'unauthorized' });
  });

  it('429 with and without Retry-After → rate_limited', async () => {
    receiver.failNext({ status: 429, retryAfter: 5 });
    receiver.failNext({ status: 429 });
    const withDelay = failure(await httpSink().send(request(), ctx()));
    const without = failure(await httpSink().send(request(), ctx()));
    expect(withDelay).toMatchObject({ error: { kind: 'rate_limited' }, retry_after_ms: 5000 });
    expect(without.error.kind).toBe('rate_limited');
    expect(without.retry_after_ms).toBeUndefined();
  });

  it('Retry-After as an HTTP date in any of its three forms is GMT, whatever the host zone (asctime has no zone written)', async () => {
    const at = new Date(Math.floor(NOW / 1000) * 1000 + 31_000); // whole seconds: HTTP dates have no fraction
    const [day, date, month, year, time] = at.toUTCString().replace(',', '').split(' ').filter(Boolean) as [string, string, string, string, string];
    const forms = [at.toUTCString(), `${({ Thu: 'Thursday' } as Record<string, string>)[day] ?? day}, ${date}-${month}-${year.slice(2)} ${time} GMT`, `${day} ${month} ${date.replace(/^0/, ' ').padStart(2)} ${time} ${year}`];
    const zone = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      for (const form of forms) {
        receiver.failNext({ status: 503, retryAfter: form });
        expect([form, failure(await httpSink().send(request(), ctx())).retry_after_ms]).toEqual([form, at.getTime() - NOW]);
      }
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('a redirect is not followed: permanent, the url needs fixing', async () => {
    receiver.failNext({ status: 301, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    expect(failure(await httpSink().send(request(), ctx())).error).toMatchObject({ kind: 'permanent', code: 'http_301' });
    expect(receiver.requests).toHaveLength(1);
  });

  it('a request that never answers → timeout within the configured timeout, and is aborted', async () => {
    receiver.failNext({ hang: true });
    const started = performance.now();
    expect(failure(await httpSink({ timeout_ms: 300 }).send(request(), ctx())).error).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(receiver.requests[0]?.abandoned).toBe(true));
  });

  it('a shutdown signal aborts the attempt as transient', async () => {
    receiver.failNext({ hang: true });
    const controller = new AbortController();
    const pending = httpSink({ timeout_ms: 10_000 }).send(request(), ctx({ signal: controller.signal }));
    await vi.waitFor(() => expect(receiver.requests).toHaveLength(1));
    controller.abort();
    expect(failure(await pending).error).toMatchObject({ kind: 'transient', code: 'aborted' });
  });

  it('a closed socket → transient econnreset', async () => {
    receiver.failNext({ close: true });
    expect(failure(await httpSink().send(request(), ctx())).error).toMatchObject({ kind: 'transient', code: 'econnreset' });
  });

  it('connection refused → transient econnrefused', async () => {
    const sink = httpSink({ url: `${await closedPortOrigin()}/hook` });
    expect(failure(await sink.send(request(), ctx())).error).toMatchObject({ kind: 'transient', code: 'econnrefused' });
  });

  it('an answer echoing a credential does not put it in the error', async () => {
    receiver.failNext({ status: 400, body: 'bad header Authorization: Bearer sink-cred-1' });
    const out = failure(await httpSink({ headers: { Authorization: 'Bearer sink-cred-1' } }).send(request(), ctx()));
    expect(out.error.message).not.toContain('sink-cred-1');
    expect(out.error.message).toContain('bad header');
  });
});
