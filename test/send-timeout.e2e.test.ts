import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, expectOneLine, runCli } from './helpers/cli.js';
import { SECRET, tempDir } from './helpers/relay.js';

/**
 * `send` gives up when the answer does not come within `--timeout` (default 30 s), with one
 * line saying so and where, exit 1. QA: against a server that accepted and never answered it
 * waited for good, and SIGTERM ended it with 143 and nothing said.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/call.completed.json', import.meta.url));
const withSecret = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET });

/** A server that accepts and then sends `first` (nothing by default) and never more; its URL. */
async function silentServer(sockets: Socket[], first = ''): Promise<{ server: Server; url: string }> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('data', () => first && socket.write(first));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/webhooks/husky` };
}

describe('send --timeout', () => {
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => void (temp = tempDir()));
  afterAll(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    temp.cleanup();
  });

  it.each([
    ['accepts and never answers', ''],
    ['sends the status line and headers, then never the body', 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ok"'],
  ])('a server that %s: "timed out" naming the URL, exit 1', async (_, first) => {
    const { server, url } = await silentServer(sockets, first);
    servers.push(server);
    // (without a timeout of its own, fetch waits 300 s for headers and for the body: far past the run's bound)
    const result = await runCli(['send', FIXTURE, '--url', url, '--timeout', '700ms'], { cwd: temp.dir, env: withSecret, timeoutMs: 20_000 });
    expectOneLine(result, new RegExp(`timed out: ${url.replace(/[.]/g, '\\.')} gave no answer within 700ms \\(--timeout\\)$`));
    expect(result.stdout).toBe('');
  });

  it('the default is 30s (send --help)', async () => {
    const help = await runCli(['send', '--help'], { cwd: temp.dir, env: withSecret });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('--timeout <duration> give up when the whole answer has not come within this (500ms, 30s, 2m; default 30s)');
  });

  it.each([
    ['0s', /--timeout: "0s" is not a duration like 500ms, 30s or 2m$/],
    ['30', /--timeout: "30" is not a duration like 500ms, 30s or 2m$/],
    ['99999999999999999999h', /--timeout: 99999999999999999999h is over the longest timeout, 5m$/],
    ['2h', /--timeout: 2h is over the longest timeout, 5m$/],
    ['301s', /--timeout: 301s is over the longest timeout, 5m$/],
  ])('--timeout %s: one line naming the option, exit 1', async (value, what) => {
    expectOneLine(await runCli(['send', FIXTURE, '--url', 'http://127.0.0.1:9/webhooks/husky', '--timeout', value], { cwd: temp.dir, env: withSecret }), what);
  });
});
