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
