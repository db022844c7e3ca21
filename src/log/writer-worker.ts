import { parentPort, workerData } from 'node:worker_threads';
import { Log, type Checkpoint } from './log.js';
import type { NewEntry } from './types.js';
import { toWriterError, type WriterInit, type WriterReply, type WriterRequest } from './writer-protocol.js';

/**
 * The writer thread of `GroupCommit`: it owns the only write connection of `serve` and runs
 * each group commit (entries, their projections, checkpoints: one `synchronous=FULL`
 * transaction, through `Log`), so the fsync blocks this thread and never the event loop that
 * answers HTTP. It handles one request at a time, in the order they were posted.
 */
const init = workerData as WriterInit;
const port = parentPort!;

// `at` comes from the main thread's clock (tests inject one); the Log stamps it as before,
// one value per transaction.
let at = '';
let log: Log | undefined;
let openError: unknown;
try {
  log = new Log(init.path, { busyTimeoutMs: init.busyTimeoutMs, now: () => new Date(at) });
} catch (error) {
  openError = error;
}

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    if (request.kind === 'close') {
      log?.close();
      log = undefined;
      openError = new Error('the log is closed');
      port.postMessage({ id: request.id, ok: true, value: null } satisfies WriterReply);
      port.close();
      return;
    }
    if (!log) throw openError;
    if (request.kind === 'probe') {
      if (log.db.pragma('query_only', { simple: true })) throw new Error('the write connection is read-only');
      log.db.exec('BEGIN IMMEDIATE; ROLLBACK');
      reply = { id: request.id, ok: true, value: null };
    } else if (request.kind === 'pragma') {
      reply = { id: request.id, ok: true, value: log.db.pragma(request.pragma, { simple: true }) };
    } else {
      at = request.at;
      const results = log.appendBatch(toGroups(request.entries, request.counts, request.checkpoints));
      const seqs: number[] = [];
      for (const group of results) for (const appended of group) seqs.push(appended.seq ?? 0);
      reply = { id: request.id, ok: true, seqs };
    }
  } catch (error) {
    reply = { id: request.id, ok: false, error: toWriterError(error) };
  }
  port.postMessage(reply);
});

/** The groups of a commit request, back from their flattened form (see `WriterRequest`). */
function toGroups(
  all: NewEntry[],
  counts: number[],
  checkpoints: { group: number; checkpoint: Checkpoint }[],
): { entries: NewEntry[]; checkpoint?: Checkpoint }[] {
  const groups: { entries: NewEntry[]; checkpoint?: Checkpoint }[] = [];
  let at = 0;
  for (const count of counts) {
    groups.push({ entries: all.slice(at, at + count) });
    at += count;
  }
  for (const { group, checkpoint } of checkpoints) groups[group]!.checkpoint = checkpoint;
  return groups;
}
