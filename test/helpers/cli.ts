import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { runScript, type CliResult } from '../../testing/child.js';

/** The built CLI, as `husky-relay` runs it from `bin` (HUSKY_RELAY_TEST_CLI points at another build). */
export const CLI = process.env['HUSKY_RELAY_TEST_CLI'] ?? fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** CLI tests run the build (`npm install` / `npm ci` make it through `prepare`). */
export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (npm install / npm ci build it through "prepare")`);
  }
}

/**
 * A clean environment for a child: nothing of the caller's HUSKY_*, PORT or HOST leaks in,
 * so a developer's shell cannot change what a test sees; its TZ does pass (CI's, to prove no
 * date depends on the host's zone).
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LOG_LEVEL: 'info' };
  // TZ too: CI runs the suite in a zone that is not UTC (.ci/run), and the relay's own processes must run in it
  for (const key of ['HOME', 'TMPDIR', 'SYSTEMROOT', 'TZ']) if (process.env[key]) env[key] = process.env[key];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export type { CliResult };

/** Runs `node dist/cli.js ...args` to completion, in `cwd`. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  assertBuilt();
  return runScript(CLI, args, { env: options.env ?? cliEnv(), cwd: options.cwd, timeoutMs: options.timeoutMs ?? 10_000 });
}

/**
 * Runs `node dist/cli.js ...args` to completion in `cwd` with stdout and stderr on a terminal
 * (`script` gives it a pty), as a person at a shell sees it: both come back mixed in `output`,
 * with `\n` line ends. Environment: `cliEnv()`.
 */
export function runOnTerminal(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  assertBuilt();
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.replace(/\r\n/g, '\n') }));
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT/webhooks/husky` */
  webhookUrl: string;
  /** Everything printed so far (stdout: JSON log lines; stderr: messages to the operator). */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, with everything it printed. */
  exited: Promise<CliResult>;
}

/**
 * A port free right now on 127.0.0.1, drawn from 20000-31999: below Linux's ephemeral range
 * (32768-60999), from which every `listen(0)` of the tests' fake servers and relays is given
 * its port. A port the OS handed out once could be handed to another test's `listen(0)` before
 * the relay started here binds it; `startServe` then found that other process answering
 * /healthz on it, and the test failed later with ECONNREFUSED once it exited.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
}

/** The URL in the "husky-relay is listening" line, once it has been printed. */
export function listeningUrl(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'husky-relay is listening' && parsed.url) return parsed.url;
    } catch {
      // a partial line: not yet
    }
  }
  return undefined;
}

/**
 * Starts `husky-relay --db DB serve --host 127.0.0.1 --port P` and waits, polling with a
 * bounded loop, until it answers. With `port: 0` the only way to learn the port is the
 * "husky-relay is listening" line, so that line is waited for; otherwise a free port is
 * chosen and GET /healthz is polled.
 */
export async function startServe(options: {
  dbPath: string;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  port?: number;
  timeoutMs?: number;
  /** A command that execs node in its place, e.g. `setpriv --reuid=nobody …` to run as another user. */
  prefix?: string[];
}): Promise<ServeProcess> {
  assertBuilt();
  const port = options.port ?? (await freePort());
  const args = [CLI, '--db', options.dbPath, 'serve', '--port', String(port), '--host', '127.0.0.1', ...(options.args ?? [])];
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, ...args] as [string, ...string[]];
  const child = spawn(command, commandArgs, { cwd: options.cwd, env: options.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const fail = (why: string): never => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw new Error(`husky-relay serve ${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  };
  for (;;) {
    if (spawnError) fail(`could not start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) fail(`exited (${child.exitCode ?? child.signalCode}) before answering`);
    if (Date.now() > deadline) {
      fail(port === 0 ? `did not print "husky-relay is listening" within ${timeoutMs} ms` : `did not answer within ${timeoutMs} ms`);
    }
    let webhookUrl: string | undefined;
    if (port === 0) webhookUrl = listeningUrl(stdout);
    else if (await answers(`http://127.0.0.1:${port}/healthz`)) webhookUrl = `http://127.0.0.1:${port}/webhooks/husky`;
    if (webhookUrl) {
      return { child, url: new URL(webhookUrl).origin, webhookUrl, stdout: () => stdout, stderr: () => stderr, exited };
    }
    await delay(25);
  }
}

/** Test teardown: SIGKILLs a serve that is still running and waits for it to be gone. */
export async function killServe(serve: ServeProcess | undefined): Promise<void> {
  if (!serve) return;
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
  await serve.exited;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The JSON log lines a process printed on stdout (pino, one object per line). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A user error as the CLI reports it: exit 1, one line on stderr starting `husky-relay: ` and matching `what`, no stack trace. */
export function expectOneLine(result: CliResult, what: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^husky-relay: /);
  expect(lines[0]).toMatch(what);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error|SyntaxError|SqliteError/);
}
