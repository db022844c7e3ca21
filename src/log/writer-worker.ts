import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Log, type CommitGroup } from './log.js';
import {
  MAX_COMMIT_ENTRIES,
  WRITER_BUSY,
  WRITER_IDLE,
  toWriterError,
  type CallReply,
  type CommitReply,
  type WriterInit,
  type WriterRequest,
} from './writer-protocol.js';

/**
 * The writer thread of `GroupCommit`: it owns the only write connection of `serve` and runs
 * the group commit itself. Whenever it is free, it takes every commit request waiting in its
 * port and writes them in one `synchronous=FULL` transaction (entries, their projections,
 * checkpoints), so one fsync serves them all and the fsync blocks this thread, never the event
 * loop that answers HTTP. It does not wait for the main thread between commits: what was
 * posted while a commit ran is the next commit. Requests are handled in the order posted.
 */
const init = workerData as WriterInit;
const port = parentPort!;
const state = new Int32Array(init.state);

// `at` comes from the main thread's clock (tests inject one): the newest of a transaction's
// requests stamps all its entries, one value per transaction.
let at = '';
let log: Log | undefined;
let openError: unknown;
try {
  log = new Log(init.path, { busyTimeoutMs: init.busyTimeoutMs, now: () => new Date(at) });
} catch (error) {
  openError = error;
}
Atomics.store(state, 0, WRITER_IDLE);

type CommitRequest = Extract<WriterRequest, { kind: 'commit' }>;
let closed = false;

port.on('message', (first: WriterRequest) => {
  Atomics.store(state, 0, WRITER_BUSY);
  let next: WriterRequest | undefined = first;
  while (next !== undefined && !closed) {
    if (next.kind !== 'commit') {
      answer(next);
      next = take();
      continue;
    }
    // the commit requests waiting now, up to the size of one transaction
    const batch: CommitRequest[] = [next];
    let size = next.entries.length;
    next = take();
    while (next?.kind === 'commit' && size + next.entries.length <= MAX_COMMIT_ENTRIES) {
      batch.push(next);
      size += next.entries.length;
      next = take();
    }
    commit(batch);
    // whatever arrived during that commit is the next one
    next ??= take();
    if (next === undefined) {
      // nothing waiting: say so, then look once more, for an append posted just before
      Atomics.store(state, 0, WRITER_IDLE);
      next = take();
      if (next !== undefined) Atomics.store(state, 0, WRITER_BUSY);
    }
  }
});

/** The next request already waiting in the port, without going back to the event loop. */
function take(): WriterRequest | undefined {
  return receiveMessageOnPort(port)?.message as WriterRequest | undefined;
}

function commit(batch: CommitRequest[]): void {
  const ids = batch.map((request) => request.id);
  let reply: CommitReply;
  try {
    if (!log) throw openError;
    const started = performance.now();
    at = batch[batch.length - 1]!.at;
    const groups: CommitGroup[] = [];
    for (const request of batch) toGroups(request, groups);
    const seqs: number[] = [];
    for (const group of log.appendBatch(groups)) for (const appended of group) seqs.push(appended.seq ?? 0);
    reply = { kind: 'committed', ids, ok: true, seqs, ms: performance.now() - started };
  } catch (error) {
    reply = { kind: 'committed', ids, ok: false, error: toWriterError(error) };
  }
  port.postMessage(reply);
}

function answer(request: Exclude<WriterRequest, CommitRequest>): void {
  let reply: CallReply;
  try {
    if (request.kind === 'close') {
      log?.close();
      log = undefined;
      closed = true;
      port.postMessage({ kind: 'answered', id: request.id, ok: true, value: null } satisfies CallReply);
      port.close();
      return;
    }
    if (!log) throw openError;
    if (request.kind === 'probe') {
      if (log.db.pragma('query_only', { simple: true })) throw new Error('the write connection is read-only');
      log.db.exec('BEGIN IMMEDIATE; ROLLBACK');
      reply = { kind: 'answered', id: request.id, ok: true, value: null };
    } else {
      reply = { kind: 'answered', id: request.id, ok: true, value: log.db.pragma(request.pragma, { simple: true }) };
    }
  } catch (error) {
    reply = { kind: 'answered', id: request.id, ok: false, error: toWriterError(error) };
  }
  port.postMessage(reply);
}

/** A commit request's groups, back from their flattened form (see `WriterRequest`), added to `into`. */
function toGroups({ entries, counts, checkpoints }: CommitRequest, into: CommitGroup[]): void {
  const first = into.length;
  let offset = 0;
  for (const count of counts) {
    into.push({ entries: entries.slice(offset, offset + count) });
    offset += count;
  }
  for (const { group, checkpoint } of checkpoints) into[first + group]!.checkpoint = checkpoint;
}
