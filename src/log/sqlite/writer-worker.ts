import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { SqliteLog } from './sqlite-log.js';
import { type CommitGroup } from '../seam.js';
import { probeWrite, walGuard, walPathOf } from './wal-guard.js';
import { ENTRY_REJECTED, WAL_LOST, WRITER_BUSY, WRITER_IDLE, toWriterError, type AppendedNotice, type CallReply, type CommitReply, type WriterError, type WriterInit, type WriterRequest, toGroups } from './writer-protocol.js';
import { DEFAULTS } from '../../config/defaults.js';
import { handOverCheckpoints } from './checkpoints.js';
import { commitDurability } from './commit-durability.js';
import { WatchedWal } from './open-running.js';

/**
 * The writer thread of `GroupCommit`: it owns the only write connection of `serve` and runs the
 * group commit itself. Whenever it is free, it writes every commit request waiting in its port in
 * one transaction (entries, their projections, checkpoints): one fsync serves them all, and it
 * blocks this thread, never the event loop that answers HTTP (FULL; NORMAL with only the
 * pipeline's entries: `commit-durability.ts`). What was posted meanwhile is the next commit.
 * Requests are handled in the order posted.
 */
const init = workerData as WriterInit;
/** Where requests come from: the thread that started it, and the channels attached since (the pipeline thread's). */
const ports: MessagePort[] = [parentPort as unknown as MessagePort];
/** Attached channels: told of every commit (`appended`), so routing and delivery wake without asking the database. */
const subscribers: MessagePort[] = [];
const state = new Int32Array(init.state);
/** A request, and the channel its answer goes back on. */
type From<R> = R & { from: MessagePort };

// `at` comes from the main thread's clock (tests inject one): the newest of a transaction's
// requests stamps all its entries, one value per transaction.
let at = '';
let log: SqliteLog | undefined;
let durability: ReturnType<typeof commitDurability> | undefined;
let openError: unknown;
const watched = init.wal && new WatchedWal(init.wal);
try {
  // a writer started again (the first was lost) opens only the WAL the first one watched
  const lateOpen = init.wal && { watched: init.wal, by: 'the writer thread' };
  log = new SqliteLog(init.path, { busyTimeoutMs: init.busyTimeoutMs, masterKeys: init.masterKeys, now: () => new Date(at), lateOpen });
  durability = commitDurability(log.db);
} catch (error) {
  openError = error;
}
const wal = walGuard(walPathOf(init.path), (seen) => watched?.publish(seen));
// checkpoints run on a thread started at the first commit (see checkpoints.ts); this connection's only past the WAL's bound
let checkpointer: ReturnType<typeof handOverCheckpoints> | undefined;
let closed = false;
Atomics.store(state, 0, WRITER_IDLE);
type CommitRequest = From<Extract<WriterRequest, { kind: 'commit' }>>;

listen(ports[0]!);

/** Handles what arrives on `port`: requests, and `attach` (a new channel to serve as well). */
function listen(port: MessagePort): void {
  port.on('message', (first: WriterRequest | { kind: 'attach'; port: MessagePort }) => {
    if (first.kind === 'attach') return attach(first.port);
    drain({ ...first, from: port });
  });
}

/** Serves a new channel until its other end closes (a pipeline thread that ended). */
function attach(port: MessagePort): void {
  ports.push(port);
  subscribers.push(port);
  listen(port);
  port.once('close', () => {
    for (const list of [ports, subscribers]) if (list.includes(port)) list.splice(list.indexOf(port), 1);
  });
}

/** Works through `first` and whatever waits behind it on every channel, then says it is idle. */
function drain(first: From<WriterRequest>): void {
  Atomics.store(state, 0, WRITER_BUSY);
  let next: From<WriterRequest> | undefined = first;
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
}

let turn = 0;
/** The next request already waiting on any channel (taken in turn), without going back to the event loop. */
function take(): From<WriterRequest> | undefined {
  for (let i = 0; i < ports.length; i += 1) {
    const from = ports[(turn + i) % ports.length]!;
    const message = receiveMessageOnPort(from)?.message as WriterRequest | { kind: 'attach'; port: MessagePort } | undefined;
    if (message === undefined) continue;
    turn = (turn + i + 1) % ports.length;
    if (message.kind !== 'attach') return { ...message, from };
    attach(message.port);
    i = -1; // look again, the new channel included
  }
  return undefined;
}

/** Answers `failure` to `next` and every commit request waiting behind it; returns the first other request. */
function refuseWaiting(next: From<WriterRequest> | undefined, failure: WriterError): From<WriterRequest> | undefined {
  while (next?.kind === 'commit') {
    next.from.postMessage({ kind: 'committed', ids: [next.id], ok: false, error: failure } satisfies CommitReply);
    next = take();
  }
  return next;
}

/** Commits `batch` and answers it; returns the failure when the whole transaction failed. */
function commit(batch: CommitRequest[]): WriterError | null {
  const ids = batch.map((request) => request.id);
  let reply: CommitReply & { ids: number[] };
  const groups: CommitGroup[] = [];
  for (const request of batch) toGroups(request, groups);
  const started = performance.now();
  at = batch[batch.length - 1]!.at;
  try {
    if (!log) throw openError;
    wal.check(log);
    durability!.before(batch.some((request) => !subscribers.includes(request.from))); // the main thread's: FULL
    const seqs: number[] = [];
    for (const group of log.appendBatch(groups)) for (const appended of group) seqs.push(appended.seq ?? 0);
    wal.committed();
    checkpointer ??= handOverCheckpoints(log, wal.watched);
    reply = { kind: 'committed', ids, ok: true, seqs, ms: performance.now() - started };
  } catch (error) {
    const failure = toWriterError(error);
    reply =
      !log || isStorageFailure(failure)
        ? { kind: 'committed', ids, ok: false, error: failure }
        : { ...oneByOne(log, groups), kind: 'committed', ids, ms: performance.now() - started };
  }
  answerCommit(batch, reply);
  return reply.ok ? null : reply.error;
}

/**
 * Sends each channel the part of `reply` that answers its own requests (seqs, and failed
 * groups numbered as that channel counts them), then tells the attached channels what the
 * log now holds.
 */
function answerCommit(batch: CommitRequest[], reply: CommitReply): void {
  const failed = new Map(reply.ok ? (reply.failed ?? []).map((f) => [f.group, f.error] as const) : []);
  const parts = new Map<MessagePort, { ids: number[]; seqs: number[]; failed: { group: number; error: WriterError }[]; groups: number }>();
  let seqAt = 0;
  let groupAt = 0;
  let lastSeq = 0;
  for (const request of batch) {
    let part = parts.get(request.from);
    if (!part) parts.set(request.from, (part = { ids: [], seqs: [], failed: [], groups: 0 }));
    part.ids.push(request.id);
    if (reply.ok) {
      for (const seq of reply.seqs.slice(seqAt, seqAt + request.entries.length)) {
        part.seqs.push(seq);
        lastSeq = Math.max(lastSeq, seq);
      }
      request.counts.forEach((_, g) => {
        const error = failed.get(groupAt + g);
        if (error) part.failed.push({ group: part.groups + g, error });
      });
    }
    seqAt += request.entries.length;
    groupAt += request.counts.length;
    part.groups += request.counts.length;
  }
  for (const [port, part] of parts) {
    port.postMessage(
      reply.ok
        ? ({ kind: 'committed', ids: part.ids, ok: true, seqs: part.seqs, ms: reply.ms, ...(part.failed.length > 0 && { failed: part.failed }) } satisfies CommitReply)
        : ({ kind: 'committed', ids: part.ids, ok: false, error: reply.error } satisfies CommitReply),
    );
  }
  if (lastSeq > 0) for (const subscriber of subscribers) subscriber.postMessage({ kind: 'appended', lastSeq } satisfies AppendedNotice);
}

/**
 * A failure of the storage (SQLite, the file, the WAL) or of the relay's environment (a master key
 * that cannot open a call's data key: every entry of that call would fail alike), as opposed to
 * one of the entries: the event is answered 503 and retried, never refused 422.
 */
function isStorageFailure(error: WriterError): boolean {
  const code = error.code ?? '';
  return code.startsWith('SQLITE_') || code === WAL_LOST || code === 'log_unavailable' || error.name === 'EnvironmentError';
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

function answer(request: From<Exclude<WriterRequest, { kind: 'commit' }>>): void {
  let reply: CallReply;
  try {
    if (request.kind === 'close') {
      closed = true;
      // the checkpoint thread's connection first: the writer's, the last one, then checkpoints and removes the WAL as before
      void (checkpointer?.terminate() ?? Promise.resolve()).finally(() => {
        log?.close();
        log = undefined;
        request.from.postMessage({ kind: 'answered', id: request.id, ok: true, value: null } satisfies CallReply);
        for (const p of ports) p.close();
      });
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
  request.from.postMessage(reply);
}
