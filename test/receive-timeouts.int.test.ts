import { Agent } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';
import { openConnection, postHead, send } from './helpers/socket.js';
import { DEFAULTS } from '../src/config/defaults.js';

// Real time: Node's own request timer, which no injected clock reaches. Scaled down from 30 s.
const TIMEOUT_MS = 1000;

describe('slow and oversized uploads are bounded (issue 11, item 4)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ requestTimeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('a body trickled one byte at a time is answered 408 request_timeout once the request timeout passes, then closed', async () => {
    // Given a client that declares a body and sends a byte of it every 200 ms
    const c = await openConnection(relay.url);
    const started = Date.now();
    await send(c.socket, postHead({ 'content-type': 'application/json', 'content-length': 1000 }));
    const trickle = setInterval(() => void send(c.socket, '{'), 200);
    try {
      // When the request timeout passes
      const answer = await c.answer;
      await c.closed;
      // Then it got 408 in JSON, and the connection is closed: the body is not held any longer
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 408, body: { error: 'request_timeout' } });
      expect(answer.headers['connection']).toBe('close');
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(took).toBeLessThan(TIMEOUT_MS * 4);
    } finally {
      clearInterval(trickle);
    }
    expect(relay.log.read(0)).toEqual([]);
    expect(relay.lines.join('\n')).not.toContain('unexpected error');
  });

  it('headers that never end are answered 408 and closed', async () => {
    const c = await openConnection(relay.url);
    await send(c.socket, 'POST /webhooks/husky HTTP/1.1\r\nHost: relay.test\r\nX-Slow: ');
    const trickle = setInterval(() => void send(c.socket, 'a'), 200);
    try {
      const answer = await c.answer;
      await c.closed;
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 408, body: { error: 'request_timeout' } });
    } finally {
      clearInterval(trickle);
    }
  });

  it('an idle keep-alive connection outlives the request timeout: a proxy reusing it gets an answer', async () => {
    // Given a connection a proxy keeps open after one webhook
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body, agent });
    try {
      expect(await post(makeEvent())).toMatchObject({ status: 200, reused: false });
      // When it stays idle for three request timeouts
      await delay(TIMEOUT_MS * 3);
      // Then the next webhook goes over the same connection and is answered
      expect(await post(makeEvent())).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('a declared length over the limit is refused before reading, and the connection closed', async () => {
    // Given a client that declares 2 MiB (the limit is 1 MiB) and sends nothing of it yet
    const c = await openConnection(relay.url);
    await send(c.socket, postHead({ 'content-type': 'application/json', 'content-length': 2 * 1024 * 1024 }));
    // When the relay answers
    const answer = await c.answer;
    // Then 413, and the relay closes the connection instead of waiting for the body
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 413, body: { error: 'payload_too_large' } });
    expect(answer.headers['connection']).toBe('close');
    await c.closed;
  });

  it('a chunked body over the limit: 413, and the connection closed though the client keeps sending', async () => {
    const c = await openConnection(relay.url);
    await send(c.socket, postHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
    const chunk = 'x'.repeat(64 * 1024);
    const sending = (async () => {
      for (let i = 0; i < 64 && !c.isClosed(); i += 1) await send(c.socket, `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    })();
    const answer = await c.answer;
    expect(answer.status).toBe(413);
    await c.closed;
    await sending;
  });

  it('a request Node cannot parse, or with headers past its limit: answered in JSON too, then closed', async () => {
    const garbled = await openConnection(relay.url);
    await send(garbled.socket, 'POST /webhooks/husky HTTP/1.1\r\nHost relay.test\r\n\r\n');
    expect(await garbled.answer).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    await garbled.closed;
    const huge = await openConnection(relay.url);
    await send(huge.socket, `POST /webhooks/husky HTTP/1.1\r\nHost: relay.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(await huge.answer).toMatchObject({ status: 431, body: { error: 'headers_too_large' } });
    await huge.closed;
  });

  it('by default: 30 s to receive a request, 125 s of keep-alive', async () => {
    const defaults = await startTestRelay();
    try {
      expect(DEFAULTS.http.requestTimeoutMs).toBe(30_000);
      const { requestTimeout, headersTimeout, keepAliveTimeout } = defaults.server;
      expect({ requestTimeout, headersTimeout, keepAliveTimeout }).toEqual({ requestTimeout: 30_000, headersTimeout: 30_000, keepAliveTimeout: 125_000 });
    } finally {
      await defaults.stop();
    }
  });
});
