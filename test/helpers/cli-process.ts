import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { assertBuilt, CLI, listeningUrl, type CliResult } from './cli.js';
import { tempDir } from './relay.js';

/**
 * The built CLI as a child process, in the conditions these tests need: a umask, a user
 * without privileges, a tiny disk. Complements `runCli`/`startServe` in `cli.ts`.
 */
export interface SpawnCliOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `umask` for the child, e.g. `'000'`. */
  umask?: string;
  /**
   * Run without privileges, so that a folder's mode denies access: as uid/gid 65534 (nobody)
   * when the tests run as root (where chmod denies nothing), else as the current user.
   */
  unprivileged?: boolean;
  /**
   * Mount an empty tmpfs of `kib` KiB on `dir` for this child only (a private mount
   * namespace: `unshare`, nothing to clean up), filled to the last byte when `full`. What is
   * on it after the child exits is listed in `${dir}.after` (the mount is gone by then).
   */
  tmpfs?: { dir: string; kib: number; full: boolean };
}

export interface CliChild {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, with everything it printed. */
  exited: Promise<CliResult>;
  /** The URL of the "husky-relay is listening" line, once printed; rejects if it exits first. */
  listening(timeoutMs?: number): Promise<string>;
}

/** uid and gid of `nobody`, used when the tests run as root. */
export const NOBODY = 65534;

export function spawnCli(args: string[], options: SpawnCliOptions): CliChild {
  assertBuilt();
  let command = [process.execPath, CLI, ...args];
  const env: NodeJS.ProcessEnv = { ...options.env };
  const prelude: string[] = [];
  if (options.tmpfs) {
    env['HUSKY_TEST_TMPFS'] = options.tmpfs.dir;
    prelude.push(`mount -t tmpfs -o size=${options.tmpfs.kib}k tmpfs "$HUSKY_TEST_TMPFS"`);
    if (options.tmpfs.full) prelude.push('{ dd if=/dev/zero of="$HUSKY_TEST_TMPFS/.fill" bs=1024 2>/dev/null; true; }');
  }
  if (options.umask) prelude.push(`umask ${options.umask}`);
  const run = options.tmpfs ? '"$@"; rc=$?; ls -A "$HUSKY_TEST_TMPFS" > "$HUSKY_TEST_TMPFS.after"; exit $rc' : 'exec "$@"';
  if (prelude.length > 0) command = ['sh', '-c', `${prelude.join(' && ')} && ${run}`, 'sh', ...command];
  if (options.tmpfs) command = ['unshare', '--mount', '--map-root-user', ...command];
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] };
  if (options.unprivileged && process.getuid?.() === 0) Object.assign(spawnOptions, { uid: NOBODY, gid: NOBODY });
  const child = spawn(command[0]!, command.slice(1), spawnOptions);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async listening(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const url = listeningUrl(stdout);
        if (url) return url;
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`husky-relay ${args.join(' ')} did not start listening (exit ${child.exitCode ?? child.signalCode})\n${stdout}\n${stderr}`);
        }
        await delay(20);
      }
    },
  };
}

/** `spawnCli`, run to completion (SIGKILLed after `timeoutMs`). */
export async function runCliWith(args: string[], options: SpawnCliOptions & { timeoutMs?: number }): Promise<CliResult> {
  const run = spawnCli(args, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether process `pid` has a handler for `signal` (Linux: the SigCgt mask of /proc/PID/status). */
export function catches(pid: number, signal: NodeJS.Signals): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(constants.signals[signal] - 1)) & 1n) === 1n;
}

/** The lines of a relay's stderr that are not JSON log lines: what an operator reads. */
export function messageLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

/**
 * Temp folders and child processes for the tests of one `describe`: after each test, every
 * child still running is killed and every folder removed. Call it in the `describe` body.
 */
export function processHarness(prefix: string): { dir(): string; track(child: CliChild): CliChild } {
  const temps: ReturnType<typeof tempDir>[] = [];
  const children: CliChild[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited.catch(() => undefined);
    }
    for (const t of temps.splice(0)) t.cleanup();
  });
  return {
    dir() {
      const t = tempDir(prefix);
      temps.push(t);
      return t.dir;
    },
    track(child) {
      children.push(child);
      return child;
    },
  };
}
