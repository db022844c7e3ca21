import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * The relay as a user runs it: `node dist/cli.js …` in a child process. Shared by the demo
 * and the soak test, which must see the real program (its own event loop, memory, signals).
 */

/** The checkout's root: the nearest folder above this file with a package.json (from the sources or a build alike). */
export const ROOT = rootOf(fileURLToPath(import.meta.url));
/** The product's CLI, as `npm install` built it. */
export const CLI = join(ROOT, 'dist', 'cli.js');

function rootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${file}`);
  }
}

/** A port nothing listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Only what the child needs: the caller's HUSKY_*, PORT or tokens must not leak in. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  for (const key of ['HOME', 'TMPDIR', 'SYSTEMROOT']) if (process.env[key]) env[key] = process.env[key];
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node SCRIPT ...args` to completion, collecting its output. Asynchronous on purpose:
 * a relay in the calling process must keep answering while the child talks to it.
 */
export function runScript(
  script: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd ?? ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`husky-relay ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `node dist/cli.js ...args` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return runScript(CLI, args, { env, timeoutMs });
}

export interface RelayChild {
  readonly process: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Resident memory now, in MB. */
  rssMb(): number;
  /** CPU time used so far (user + system, every thread), in ms. */
  cpuMs(): number;
  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`). Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `husky-relay serve` on 127.0.0.1:`port`, its output appended to `logFile`, and waits
 * (bounded) until `/readyz` says the log is writable and the rules are loaded.
 */
export async function startRelayChild(options: { port: number; env: NodeJS.ProcessEnv; logFile: string; args?: string[] }): Promise<RelayChild> {
  const out = createWriteStream(options.logFile, { flags: 'a' });
  const args = [CLI, 'serve', '--port', String(options.port), '--host', '127.0.0.1', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => out.end(), () => out.end());
  const url = `http://127.0.0.1:${options.port}`;

  const deadline = Date.now() + 15_000;
  let answer = 'no answer';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the relay exited with ${child.exitCode} before it was ready; see ${options.logFile}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) break;
      answer = `${response.status} ${await response.text()}`;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the relay was not ready within 15 s (/readyz: ${answer}); see ${options.logFile}`);
    }
    await sleep(100);
  }

  return {
    process: child,
    url,
    rssMb: () => rssMb(child.pid!),
    cpuMs: () => cpuMs(child.pid!),
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux unless it says otherwise). */
let ticksPerSecond: number | undefined;

/**
 * CPU time a process has used so far, user + system, in ms, from `/proc/PID/stat` (Linux;
 * fields 14 and 15, in clock ticks); 0 where there is no /proc. Includes every thread.
 */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: count fields after its closing ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** VmRSS from /proc (Linux); 0 where there is no /proc. */
export function rssMb(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(everyMs);
  }
}
