import { describe, expect, it } from 'vitest';
import { classifyNetworkError, classifySlackError, classifyStatus, parseRetryAfter } from '../src/sinks/classify.js';
import { redactorFor } from '../src/sinks/redact.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds, fractional seconds and HTTP dates relative to now', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter(' 1.5 ', NOW)).toBe(1500);
    expect(parseRetryAfter(new Date(NOW + 45_000).toUTCString(), NOW)).toBe(45_000);
  });

  it('never goes negative and ignores what it cannot read', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('-3', NOW)).toBeUndefined();
  });
});

describe('classifyStatus', () => {
  it.each([
    [429, 'rate_limited', 'http_429'],
    [408, 'transient', 'http_408'],
    [500, 'transient', 'http_500'],
    [503, 'transient', 'http_503'],
    [400, 'permanent', 'http_400'],
    [401, 'permanent', 'unauthorized'],
    [404, 'permanent', 'http_404'],
    [301, 'permanent', 'http_301'],
  ])('%i → %s %s', (status, kind, code) => {
    expect(classifyStatus(status, null, NOW).error).toMatchObject({ kind, code, status });
  });

  it('a 429 carries Retry-After as retry_after_ms', () => {
    expect(classifyStatus(429, '7', NOW).retry_after_ms).toBe(7000);
    expect(classifyStatus(429, null, NOW).retry_after_ms).toBeUndefined();
  });
});

describe('classifySlackError', () => {
  it('ratelimited is rate_limited, internal errors transient, the rest permanent', () => {
    expect(classifySlackError('ratelimited', 3000)).toMatchObject({ error: { kind: 'rate_limited' }, retry_after_ms: 3000 });
    expect(classifySlackError('internal_error').error.kind).toBe('transient');
    for (const code of ['channel_not_found', 'invalid_auth', 'not_in_channel', 'msg_too_long']) {
      expect(classifySlackError(code).error).toMatchObject({ kind: 'permanent', code });
    }
  });
});

describe('classifyNetworkError', () => {
  const sys = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

  it('finds the socket error under fetch and SDK wrappers', () => {
    const undici = new TypeError('fetch failed', { cause: sys('ECONNREFUSED') });
    const slackWrapped = Object.assign(new Error('A request error occurred'), { code: 'slack_webapi_request_error', original: undici });
    expect(classifyNetworkError(slackWrapped).error).toMatchObject({ kind: 'transient', code: 'econnrefused' });
    expect(classifyNetworkError(sys('ENOTFOUND')).error.code).toBe('dns');
    expect(classifyNetworkError(sys('UND_ERR_SOCKET')).error.code).toBe('econnreset');
  });

  it('a TimeoutError, or our own timer having fired, is a timeout', () => {
    expect(classifyNetworkError(new DOMException('timed out', 'TimeoutError')).error.code).toBe('timeout');
    expect(classifyNetworkError(sys('ECONNRESET'), true).error.code).toBe('timeout');
  });

  it('a request the client refused before sending is permanent invalid_request, under any wrapper', () => {
    const headerValue = new TypeError('Headers.append: "a\r\nb" is an invalid header value.');
    const byteString = new TypeError('Cannot convert argument to a ByteString because the character at index 5 has a value of 8230 which is greater than 255.');
    const undici = new TypeError('fetch failed', { cause: Object.assign(new Error('invalid transfer-encoding header'), { code: 'UND_ERR_INVALID_ARG' }) });
    const nodeFetch = new TypeError('Bearer a\nb is not a legal HTTP header value');
    const slackWrapped = Object.assign(new Error('A request error occurred'), { code: 'slack_webapi_request_error', original: byteString });
    for (const err of [headerValue, byteString, undici, nodeFetch, slackWrapped]) {
      expect(classifyNetworkError(err).error).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
    }
    expect(classifyNetworkError(undici).error.message).toBe('the HTTP client refused the request before sending it: invalid transfer-encoding header');
    // a socket error under the same wrapper is still the network's fault
    expect(classifyNetworkError(new TypeError('fetch failed', { cause: sys('ECONNRESET') })).error).toMatchObject({ kind: 'transient', code: 'econnreset' });
  });

  it('anything else without an answer is still transient', () => {
    expect(classifyNetworkError(new Error('weird')).error).toMatchObject({ kind: 'transient', code: 'network_error' });
  });
});

describe('redact', () => {
  it('removes every occurrence of each secret', () => {
    expect(redactorFor(['abcd1234', undefined]).redact('Bearer abcd1234 and abcd1234')).toBe('Bearer [redacted] and [redacted]');
  });
});
