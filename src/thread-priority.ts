import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the CPU scheduling priority of the calling thread alone by `by` nice levels (at most
 * to 19), so that when the cores are all busy the kernel runs the process's other threads
 * first. On Linux a thread has its own nice value: `setpriority` given a thread id (read from
 * `/proc/thread-self`) changes that thread, not its process (see setpriority(2), "Bugs": the
 * call is per thread on Linux). Lowering a priority needs no privilege.
 *
 * `serve` runs its pipeline thread (routing, delivery, the sinks' SDKs) this way
 * (`DEFAULTS.pipeline.niceness`): when webhooks and deliveries compete for a small VM's cores,
 * the thread that answers webhooks and the writer that commits them come first, and deliveries,
 * durable in the log, wait. With idle cores it changes nothing.
 *
 * @returns the thread's nice value after the change; null where there is no per-thread priority
 * to set (not Linux, no `/proc`, refused): the thread then runs at its process's priority.
 */
export function lowerThreadPriority(by: number): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return null;
    setPriority(tid, Math.min(19, getPriority(tid) + by));
    return getPriority(tid);
  } catch {
    return null;
  }
}
