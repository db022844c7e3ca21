import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { SqliteLog } from './sqlite-log.js';
import { type CommitGroup } from '../seam.js';
import { probeWrite, walGuard } from './wal-guard.js';
import { ENTRY_REJECTED, WAL_LOST, WRITER_BUSY, WRITER_IDLE, toWriterError, type CallReply, type CommitReply, type WriterError, type WriterInit, type WriterRequest } from './writer-protocol.js';
import { DEFAULTS } from '../../config/defaults.js';

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
let log: SqliteLog | undefined;
let openError: unknown;
try {
  log = new SqliteLog(init.path, { busyTimeoutMs: init.busyTimeoutMs, now: () => new Date(at) });
} catch (error) {
  openError = error;
}
const wal = walGuard(`${init.path}-wal`);
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
    while (next?.kind === 'commit' && size + next.entries.length <= DEFAULTS.log.maxCommitEntries) {
      batch.push(next);
      size += next.entries.length;
      next = take();
    }
    const failure = commit(batch);
    // what was posted while that commit waited on a lock waited on the same lock: it fails now,
    // not after a busy timeout of its own (each caller waits one busy timeout at most)
    if (failure?.code?.startsWith('SQLITE_BUSY')) next = refuseWaiting(next, failure);
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

/** Answers `failure` to `next` and every commit request waiting behind it; returns the first other request. */
function refuseWaiting(next: WriterRequest | undefined, failure: WriterError): WriterRequest | undefined {
  while (next?.kind === 'commit') {
    port.postMessage({ kind: 'committed', ids: [next.id], ok: false, error: failure } satisfies CommitReply);
    next = take();
  }
  return next;
}

/** Commits `batch` and answers it; returns the failure when the whole transaction failed. */
function commit(batch: CommitRequest[]): WriterError | null {
  const ids = batch.map((request) => request.id);
  let reply: CommitReply;
  const groups: CommitGroup[] = [];
  for (const request of batch) toGroups(request, groups);
  const started = performance.now();
  at = batch[batch.length - 1]!.at;
  try {
    if (!log) throw openError;
    wal.check(log);
    const seqs: number[] = [];
    for (const group of log.appendBatch(groups)) for (const appended of group) seqs.push(appended.seq ?? 0);
    wal.committed();
    reply = { kind: 'committed', ids, ok: true, seqs, ms: performance.now() - started };
  } catch (error) {
    const failure = toWriterError(error);
    reply =
      !log || isStorageFailure(failure)
        ? { kind: 'committed', ids, ok: false, error: failure }
        : { ...oneByOne(log, groups), kind: 'committed', ids, ms: performance.now() - started };
  }
  port.postMessage(reply);
  return reply.ok ? null : reply.error;
}

/** A failure of the storage (SQLite, the file, the WAL), as opposed to one of the entries. */
function isStorageFailure(error: WriterError): boolean {
  const code = error.code ?? '';
  return code.startsWith('SQLITE_') || code === WAL_LOST || code === 'log_unavailable';
}

/**
 * After a transaction failed because of some entry (it cannot be serialized or projected: a
 * value nested deeper than the stack allows, say), each group is committed in a transaction of
 * its own, so only the groups at fault are left out (`ENTRY_REJECTED`) and every other caller
 * of the batch is answered as usual. Slow, but only ever taken on that failure.
 */
function oneByOne(log: SqliteLog, groups: CommitGroup[]): { ok: true; seqs: number[]; failed: { group: number; error: WriterError }[] } {
  const seqs: number[] = [];
  const failed: { group: number; error: WriterError }[] = [];
  let storage: WriterError | undefined;
  groups.forEach((group, index) => {
    const zeros = () => group.entries.forEach(() => seqs.push(0));
    if (storage) {
      failed.push({ group: index, error: storage });
      return zeros();
    }
    try {
      for (const appended of log.appendBatch([group])[0]!) seqs.push(appended.seq ?? 0);
      wal.committed();
    } catch (error) {
      const failure = toWriterError(error);
      if (isStorageFailure(failure)) storage = failure;
      else failure.code = ENTRY_REJECTED;
      failed.push({ group: index, error: failure });
      zeros();
    }
  });
  return { ok: true, seqs, failed };
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
      wal.check(log);
      probeWrite(log);
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
