import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Child {
  process: ChildProcess;
  url: string;
  /** Peak resident memory so far, in MB (VmHWM). */
  peakRssMb(): number;
  /**
   * CPU time the process has used so far (user + system, all its threads), in ms, from
   * `/proc/PID/stat` (clock ticks of 10 ms). Unlike wall time it hardly depends on what else
   * the machine runs, so builds can be compared on a busy machine.
   */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * Starts a node script and waits for the first stdout line that tells its port (the relay's
 * "listening" log line, or the bare handler's `{"port":N}`).
 */
export async function startChild(args: string[], env: NodeJS.ProcessEnv): Promise<Child> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening`)));
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number; url?: string };
        if (parsed.port) resolve(`http://127.0.0.1:${parsed.port}`);
        else if (parsed.url) resolve(new URL(parsed.url).origin);
      } catch {
        // not a JSON line
      }
    });
  });
  // from here on only drain: parsing every log line would spend the bench's own CPU, on the
  // same two cores as the process it measures
  lines.removeAllListeners('line');
  lines.close();
  child.stdout!.resume();
  return {
    process: child,
    url,
    peakRssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    },
    cpuMs: () => cpuMsOf(child.pid!),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** User + system CPU of process `pid`, in ms (`/proc/PID/stat` fields 14 and 15, in ticks of 1/100 s). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
