import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../spawn-worker.js';
import type { CheckpointInit } from './checkpoint-worker.js';

/**
 * Starts the checkpoint thread (`checkpoint-worker`); it does not keep the process alive. If it
 * fails (it cannot open the file, say), it is not started again: the writer's own backstop
 * checkpoint (past `DEFAULTS.log.walSizeLimitBytes`) keeps the WAL bounded, as SQLite's
 * default did, and the commits that fail for the same reason say so.
 */
export function spawnCheckpointer(init: CheckpointInit): Worker {
  const worker = spawnWorker(new URL('./checkpoint-worker.js', import.meta.url), init);
  worker.unref();
  // without a listener, a failure of that thread would end the writer thread with it
  worker.on('error', () => {});
  return worker;
}
