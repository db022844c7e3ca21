import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../spawn-worker.js';
import type { CheckpointInit } from './checkpoint-worker.js';

/** Starts the checkpoint thread (`checkpoint-worker`); it does not keep the process alive. */
export function spawnCheckpointer(init: CheckpointInit): Worker {
  const worker = spawnWorker(new URL('./checkpoint-worker.js', import.meta.url), init);
  worker.unref();
  return worker;
}
