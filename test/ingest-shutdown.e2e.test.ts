import { Agent, request } from 'node:http';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, runCli, type ServeProcess } from './helpers/cli.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, SECRET } from './helpers/relay.js';
import { serveFixture } from './helpers/serve-fixture.js';
import { openConnection, postHead, send, type RawConnection } from './helpers/socket.js';

const relay = serveFixture();
let connections: RawConnection[] = [];

afterEach(async () => {
  for (const c of connections) c.socket.destroy();
  connections = [];
  await relay.teardown();
});

const start = () => relay.start();

/** Sends SIGTERM and waits (at most `patienceMs`) for the exit; how long it took and how it ended. */
async function stop(serve: ServeProcess, patienceMs = 20_000): Promise<{ ms: number; code: number | null }> {
  const started = Date.now();
  serve.child.kill('SIGTERM');
  const exited = await Promise.race([serve.exited, delay(patienceMs).then(() => null)]);
  return { ms: Date.now() - started, code: exited ? exited.code : null };
}

// README "Delivery": on SIGTERM, answer what is in flight, finish, exit 0, within the 10 s bound
describe('graceful stop ends within its bound (issue 11, item 11)', () => {
  it('after a chunked upload over the limit got its 413, while the client keeps the connection: exits at once', async () => {
    // Given a client that streamed a chunked body past the 1 MiB limit, got 413, and keeps sending
    const { serve } = await start();
    const c = await openConnection(serve.url);
    connections.push(c);
    await send(c.socket, postHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 20; i += 1) await send(c.socket, `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    expect((await c.answer).status).toBe(413);
    const trickle = setInterval(() => void send(c.socket, '1\r\nx\r\n'), 200);
    try {
      // When serve is told to stop
      const stopped = await stop(serve);
      // Then it exits cleanly, well within its 10 s bound
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(5000);
    } finally {
      clearInterval(trickle);
    }
  }, 30_000);

  it('a client trickling a body when SIGTERM comes: its connection is cut at the bound, exit 0 within 10 s', async () => {
    const { serve } = await start();
    const c = await openConnection(serve.url);
    connections.push(c);
    await send(c.socket, postHead({ 'content-type': 'application/json', 'content-length': 10_000 }));
    const trickle = setInterval(() => void send(c.socket, '{'), 200);
    try {
      await delay(300);
      const stopped = await stop(serve);
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(12_000);
      expect(c.isClosed()).toBe(true);
    } finally {
      clearInterval(trickle);
    }
  }, 30_000);

  it('a webhook waiting for its commit when SIGTERM comes still gets its answer', async () => {
    // Given a webhook waiting on a write lock another process holds (5 s busy timeout)
    const { serve, dbPath } = await start();
    relay.lock(dbPath);
    const body = makeEvent();
    const answer = rawRequest(serve.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    await delay(500);
    // When serve is told to stop meanwhile
    const stopped = stop(serve);
    // Then the webhook is answered (503: HuskyVoice will retry), not cut off, and serve exits 0 within the bound
    expect(await answer).toMatchObject({ status: 503, body: { error: 'log_unavailable' } });
    expect((await stopped).code).toBe(0);
    expect((await stopped).ms).toBeLessThan(10_000);
  }, 30_000);
});

/** POSTs `body` signed through `agent`; the answer, or the error the connection ended with. */
function post(url: string, agent: Agent, body: string): Promise<{ status: number; connection: string | undefined; reused: boolean } | { error: string; reused: boolean }> {
  return new Promise((resolve) => {
    const req = request(`${url}/webhooks/husky`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, reused: req.reusedSocket }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, reused: req.reusedSocket }));
    req.end(body);
  });
}

// README "serve: signals, and one at a time": stop accepting, answer what is in flight, then close
describe('a webhook sent on a keep-alive connection as the stop begins is answered, not reset', () => {
  it('the request that follows SIGTERM on an open connection gets 200 with Connection: close, and its event is in the log', async () => {
    // Given a keep-alive connection (as HuskyVoice's client or a proxy keeps one) that has had one answer
    const { serve, dbPath } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await post(serve.url, agent, makeEvent())).toMatchObject({ status: 200, connection: 'keep-alive', reused: false });
      // When serve is told to stop, and the client sends its next webhook on that connection as it does
      serve.child.kill('SIGTERM');
      while (!serve.stdout().includes('stopping: no new requests')) await delay(10);
      const body = makeEvent();
      const second = await post(serve.url, agent, body);
      // Then that webhook is answered (and told the connection closes), not reset unanswered
      expect(second).toEqual({ status: 200, connection: 'close', reused: true });
      expect((await serve.exited).code).toBe(0);
      // and what the 200 said holds: the event is in the log
      const eventId = (JSON.parse(body) as { event_id: string }).event_id;
      const logged = await runCli(['--db', dbPath, 'log', '--json', '--event', eventId], { cwd: dirname(dbPath), env: cliEnv() });
      expect(logged.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(['event.received']);
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('a keep-alive connection between requests is kept a moment for a request on its way, then closed; serve exits 0', async () => {
    // Given a connection that had its answer and sends nothing more
    const { serve } = await start();
    const c = await openConnection(serve.url);
    connections.push(c);
    const body = makeEvent();
    await send(c.socket, postHead({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-husky-signature': sign(body, SECRET) }) + body);
    expect((await c.answer).status).toBe(200);
    // When serve is told to stop
    const started = Date.now();
    serve.child.kill('SIGTERM');
    while (!serve.stdout().includes('stopping: no new requests')) await delay(10);
    // Then the connection is not cut at once (a webhook sent on it now would still be read)
    await delay(300);
    expect(c.isClosed()).toBe(false);
    // and once it has been quiet for its second it is closed, and serve exits 0 well before the 10 s bound
    const exited = await serve.exited;
    expect(c.isClosed()).toBe(true);
    expect(exited.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);
});
