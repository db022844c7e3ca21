import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../spawn-worker.js';
import type { WriterInit } from './writer-protocol.js';

/** Starts the writer thread (`writer-worker`); see `spawnWorker` for how it runs from the sources. */
export function spawnWriter(init: WriterInit): Worker {
  return spawnWorker(new URL('./writer-worker.js', import.meta.url), init);
}
