import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { createHttpSink } from '../src/sinks/http/sender.js';
import { createTransport, type Transport, type TransportRequest } from '../src/sinks/http/transport.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { startCountingReceiver, type CountingReceiver } from './fakes/counting-receiver.js';
import { attemptContext, closeAfterEach, failure } from './helpers/pool-tests.js';

/**
 * Issue 13: the HTTP sink's own transport (node:http, one keep-alive pool per sink). A real
 * server on 127.0.0.1 counts the connections it is given.
 */

let receiver: CountingReceiver | undefined;
let transport: Transport | undefined;
closeAfterEach(() => transport, () => receiver);

const post = (over: Partial<TransportRequest> = {}): TransportRequest => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{"n":1}',
  timeoutMs: 5000,
  bodyCap: 1024,
  wantsBody: (status) => status >= 300,
  ...over,
});

const ctx = attemptContext('dlv_t');

describe('HTTP transport: keep-alive pool', () => {
  it('reuses its sockets: 50 deliveries one after another take one connection', async () => {
    receiver = await startCountingReceiver();
    const sink = createHttpSink('pool', { type: 'http', url: receiver.url });
    for (let i = 0; i < 50; i++) expect(await sink.send({ method: 'POST', headers: {}, body: { i } }, ctx())).toEqual({ outcome: 'succeeded', result: { status: 200 } });
    expect(receiver.requests).toBe(50);
    expect(receiver.connections).toHaveLength(1);
    sink.close();
  });

  it('opens at most `concurrency` connections however many deliveries run at once', async () => {
    receiver = await startCountingReceiver((_q, res) => setTimeout(() => res.end('ok'), 20));
    const sink = createHttpSink('pool', { type: 'http', url: receiver.url, concurrency: 3 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => sink.send({ method: 'POST', headers: {}, body: { i } }, ctx())));
    expect(outcomes.every((o) => o.outcome === 'succeeded')).toBe(true);
    expect(receiver.connections).toHaveLength(3);
    sink.close();
  });

  it('close() ends the idle sockets at once (shutdown, reload)', async () => {
    receiver = await startCountingReceiver();
    transport = createTransport(receiver.url);
    await transport.send(post());
    await transport.send(post());
    await vi.waitFor(() => expect(transport!.sockets()).toEqual({ active: 0, idle: 1 }));
    expect(receiver.open()).toBe(1);
    transport.close();
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
    expect(transport.sockets()).toEqual({ active: 0, idle: 0 });
  });

  it('close() while a request is in flight: it finishes, then its socket closes and is not kept', async () => {
    let answer: (() => void) | undefined;
    // the first request waits for the test to answer it; later ones are answered at once
    receiver = await startCountingReceiver((_q, res) => (answer ? res.end('ok') : (answer = () => res.end('late'))));
    transport = createTransport(receiver.url);
    const pending = transport.send(post());
    await vi.waitFor(() => expect(answer).toBeDefined());
    transport.close();
    answer!();
    expect((await pending).status).toBe(200);
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
    // a request after close still goes out, on a socket of its own that is not pooled
    expect((await transport.send(post())).status).toBe(200);
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });

  it('a sink closed by the dispatcher on stop: the relay leaves no idle socket behind', async () => {
    receiver = await startCountingReceiver();
    const sink = createHttpSink('pool', { type: 'http', url: receiver.url });
    await sink.send({ method: 'POST', headers: {}, body: {} }, ctx());
    expect(receiver.open()).toBe(1);
    sink.close();
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });
});

describe('HTTP transport: what it keeps of fetch', () => {
  it('one timer covers the whole exchange: a server that never answers → TimeoutError, the socket is dropped', async () => {
    receiver = await startCountingReceiver(() => {});
    transport = createTransport(receiver.url);
    const started = performance.now();
    await expect(transport.send(post({ timeoutMs: 200 }))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeLessThan(2000);
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });

  it('through the sink, a timeout is transient `timeout`, and the next delivery still goes out', async () => {
    let hang = true;
    receiver = await startCountingReceiver((_q, res) => (hang ? undefined : res.end('ok')));
    const sink = createHttpSink('slow', { type: 'http', url: receiver.url, timeout_ms: 200 });
    expect(failure(await sink.send({ method: 'POST', headers: {}, body: {} }, ctx())).error).toMatchObject({ kind: 'transient', code: 'timeout' });
    hang = false;
    expect(await sink.send({ method: 'POST', headers: {}, body: {} }, ctx())).toMatchObject({ outcome: 'succeeded' });
    sink.close();
  });

  it('an error body is read only up to the cap, and the socket that carried the rest is given up', async () => {
    const page = 'x'.repeat(1024 * 1024);
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(page);
    });
    transport = createTransport(receiver.url);
    const answer = await transport.send(post({ bodyCap: 1000 }));
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('x'.repeat(1000));
    await vi.waitFor(() => expect(receiver!.open()).toBe(0));
  });

  it('an error body within the cap is read whole and its socket is reused', async () => {
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(400, { 'retry-after': '3' });
      res.end('bad field "x"');
    });
    transport = createTransport(receiver.url);
    const first = await transport.send(post());
    await transport.send(post());
    expect(first).toMatchObject({ status: 400, body: 'bad field "x"' });
    expect(first.header('retry-after')).toBe('3');
    expect(receiver.connections).toHaveLength(1);
  });

  it('connection refused rejects with ECONNREFUSED (the sink: transient econnrefused)', async () => {
    const url = `${await closedPortOrigin()}/hook`;
    transport = createTransport(url);
    await expect(transport.send(post())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a redirect is an answer, not followed: one request, the 3xx and its location come back', async () => {
    receiver = await startCountingReceiver((_q, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    transport = createTransport(receiver.url);
    const answer = await transport.send(post());
    expect(answer.status).toBe(302);
    expect(answer.header('location')).toBe('/elsewhere');
    expect(receiver.requests).toBe(1);
  });

  it('sends content-length for the body in bytes, and Latin-1 header values as Latin-1', async () => {
    let seen: IncomingMessage | undefined;
    receiver = await startCountingReceiver((req, res) => {
      seen = req;
      res.end();
    });
    transport = createTransport(receiver.url);
    await transport.send(post({ body: '{"name":"Zoë"}', headers: { 'x-caller': 'Zoë' } }));
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength('{"name":"Zoë"}')));
    expect(seen?.headers['x-caller']).toBe('Zoë');
  });

  it('an abort (relay shutting down) rejects with an AbortError at once', async () => {
    receiver = await startCountingReceiver(() => {});
    transport = createTransport(receiver.url);
    const controller = new AbortController();
    const pending = transport.send(post({ signal: controller.signal }));
    await vi.waitFor(() => expect(receiver!.requests).toBe(1));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('HTTP sink: headers fetch used to add', () => {
  it('sends accept and a husky-relay user-agent, which the sink may override', async () => {
    const seen: IncomingMessage['headers'][] = [];
    receiver = await startCountingReceiver((req, res) => {
      seen.push(req.headers);
      res.end();
    });
    const plain = createHttpSink('ua', { type: 'http', url: receiver.url });
    const own = createHttpSink('ua', { type: 'http', url: receiver.url, headers: { 'User-Agent': 'acme-bridge/2' } });
    await plain.send({ method: 'POST', headers: {}, body: {} }, ctx());
    await own.send({ method: 'POST', headers: {}, body: {} }, ctx());
    plain.close();
    own.close();
    expect(seen[0]).toMatchObject({ accept: '*/*', 'user-agent': expect.stringMatching(/^husky-relay\/\d+\.\d+\.\d+/) });
    expect(seen[1]?.['user-agent']).toBe('acme-bridge/2');
  });
});

describe('HTTP sink over TLS', () => {
  it('verifies the certificate: a self-signed one is refused before any request, as a transient failure', async () => {
    const tls = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url)));
    let requests = 0;
    const server = createHttpsServer({ key: tls('self-signed.key'), cert: tls('self-signed.crt') }, (_req, res) => {
      requests += 1;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const sink = createHttpSink('tls', { type: 'http', url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
      const out = failure(await sink.send({ method: 'POST', headers: {}, body: {} }, ctx()));
      sink.close();
      expect(out.error.kind).toBe('transient');
      expect(out.error.message).toMatch(/SELF_SIGNED/);
      expect(requests).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
