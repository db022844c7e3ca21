import { readFileSync } from 'node:fs';

/**
 * Memory of a process as Linux reports it in /proc/PID/status, in bytes: `rss` (VmRSS, now)
 * and `peak` (VmHWM, the highest RSS since the process started).
 */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export const MiB = 1024 * 1024;

/**
 * Whether the main thread of process `pid` sleeps in the kernel's nanosleep (Linux: its
 * /proc/PID/wchan): where SQLite's busy handler waits between two tries for a lock another
 * connection holds. An idle Node thread waits in epoll instead. False once the process is gone.
 */
export function inNanosleep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8').includes('nanosleep');
  } catch {
    return false;
  }
}
