import { resolve as resolvePath } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { EntryRejectedError, LogUnavailableError } from '../../errors.js';
import { CommitFailures } from './commit-failures.js';
import type { LogOptions } from './sqlite-log.js';
import type { Appended, Checkpoint, CommitGroup, QueuedWriter } from '../seam.js';
import type { NewEntry } from '../types.js';
import { ENTRY_REJECTED, WRITER_BUSY, WRITER_IDLE, type CallReply, type CommitReply, type WriterCall, type WriterError, type WriterReply, type WriterRequest } from './writer-protocol.js';
import { spawnWriter } from './writer-spawn.js';
import { DEFAULTS } from '../../config/defaults.js';

interface Waiter extends CommitGroup {
  resolve: (appended: Appended[]) => void;
  reject: (error: Error) => void;
}

export interface CommitStats {
  /** Entries in the transaction. */
  size: number;
  /** How long the transaction took on the writer thread. */
  ms: number;
  lastSeq: number | null;
}

type Answer = (reply: CallReply) => void;

/** Live group commits by database file, for `GroupCommit.forPath` (tests). */
const live = new Map<string, GroupCommit>();

/**
 * Group commit: appends are written in one transaction per batch, and each caller is
 * answered only after the commit that holds its entries has returned (`synchronous=FULL`:
 * on disk). One fsync then serves a whole batch of requests. If the commit fails, every
 * caller in it gets `LogUnavailableError` and nothing of the batch remains. Every writer of
 * `serve` (receiver, router, dispatcher) goes through here, so they never wait on each
 * other's locks.
 *
 * The SQLite work runs on a dedicated writer thread (`writer-worker`) that owns the write
 * connection, so the event loop keeps reading and answering requests while a commit's fsync
 * is in flight. The writer forms the batches itself: when it is free it commits everything
 * that has arrived, so it never waits for this thread before starting the next commit. Appends
 * reach it at the end of the loop turn that made them (setImmediate: no timer, so no added
 * latency at low load), all of that turn's together; but when the writer is idle, an append is
 * posted at once (a flag in shared memory tells), so a long turn, a burst of requests being
 * parsed, does not leave the writer waiting for its end.
 */
export class GroupCommit implements QueuedWriter {
  /** Appends of this loop turn, not yet posted. */
  private queue: Waiter[] = [];
  private scheduled = false;
  /** Posted commit requests by id, until the writer answers them. */
  private readonly posted = new Map<number, Waiter[]>();
  /** Posted pragma/probe/close requests by id. */
  private readonly asked = new Map<number, Answer>();
  private worker: Worker | undefined;
  /** `WRITER_IDLE` or `WRITER_BUSY`, shared with the writer thread (see `WriterInit.state`). */
  private readonly writerState = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly drained: Array<() => void> = [];
  private readonly now: () => Date;
  private readonly key: string;
  /** When each posted commit request was posted (ms, `performance.now()`), until answered. */
  private readonly postedAt = new Map<number, number>();
  /** The last failed commit's error, until a commit succeeds again. */
  lastError: LogUnavailableError | null = null;
  lastErrorAt = 0;
  /** Failed commits, for `failure()`. */
  private readonly failures = new CommitFailures();

  constructor(
    readonly path: string,
    private readonly options: LogOptions = {},
    private readonly onCommit: (stats: CommitStats) => void = () => {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.key = resolvePath(path);
    live.set(this.key, this);
    // started now, so the first request does not wait for the thread to boot
    this.worker = this.spawn();
  }

  /** The open group commit writing `path` in this process (test hook for `debugPragma`). */
  static forPath(path: string): GroupCommit | undefined {
    return live.get(resolvePath(path));
  }

  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new LogUnavailableError('log commit failed: the log is closed'));
        return;
      }
      this.queue.push({ entries, checkpoint, resolve, reject });
      // the writer is waiting for work: it gets this now, not at the end of the loop turn
      if (Atomics.compareExchange(this.writerState, 0, WRITER_IDLE, WRITER_BUSY) === WRITER_IDLE) {
        this.post();
        return;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request
        // that arrived meanwhile goes with it.
        setImmediate(() => {
          this.scheduled = false;
          this.post();
        });
      }
    });
  }

  async appendOne(entry: NewEntry): Promise<Appended> {
    const [appended] = await this.append([entry]);
    return appended!;
  }

  /** Resolves once everything appended so far is committed (or failed). */
  drain(): Promise<void> {
    this.post();
    if (this.posted.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Commits what is appended, waits for it, then stops the writer. Shutdown. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.drain();
      this.closed = true;
      if (live.get(this.key) === this) live.delete(this.key);
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      await this.ask({ kind: 'close' }).catch(() => {});
      await exited;
    })());
  }

  /**
   * Why the next commit would fail, as far as failed ones tell, or null (`/readyz`); with `types`,
   * only for appends of entries of those types. Every failed commit is remembered until a commit
   * of the same kind of entries succeeds; those that may clear unseen fade (see `CommitFailures`).
   */
  failure(types?: NewEntry['type'][], now = Date.now()): string | null {
    return this.failures.current(now, types);
  }

  /**
   * How long the oldest commit request not yet answered has waited for the writer (ms), 0 when
   * none waits. A commit takes milliseconds; seconds mean the writer is stuck: another process
   * holds the write lock (it waits up to the busy timeout), or the disk hangs.
   */
  waitingMs(now = performance.now()): number {
    for (const postedAt of this.postedAt.values()) return now - postedAt;
    return 0;
  }

  /**
   * Why the log cannot be written now, or null if it can: the writer checks its WAL file, takes
   * the write lock and writes (rolled back), on its own thread, between commits. (`/readyz`)
   */
  async probe(): Promise<string | null> {
    const reply = await this.ask({ kind: 'probe' });
    if (!reply.ok) return reply.error.message;
    // what the probe itself can see has cleared: a remembered lock or read-only failure is over
    this.failures.probed();
    return null;
  }

  /**
   * Gives the writer thread a channel of its own for another thread's appends (the pipeline
   * thread's `WriterClient`), which it also tells of every commit. Returns the writer's idle
   * flag, shared with that thread too.
   */
  connect(port: MessagePort): SharedArrayBuffer {
    const worker = this.writer();
    if (!worker) throw new LogUnavailableError('log commit failed: the log is closed');
    worker.postMessage({ kind: 'attach', port }, [port]);
    return this.writerState.buffer as SharedArrayBuffer;
  }

  /**
   * Test hook: runs `PRAGMA <pragma>` on the writer's connection (e.g. `query_only = 1`,
   * `max_page_count = N`) and returns its value. Pragmas are per connection, so setting them
   * on another connection of the same file does not change what the writer does.
   */
  async debugPragma(pragma: string): Promise<unknown> {
    const reply = await this.ask({ kind: 'pragma', pragma });
    if (!reply.ok) throw fromWriterError(reply.error);
    return reply.value;
  }

  /** Sends this turn's appends to the writer, in requests of at most one transaction's size. */
  private post(): void {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const at = this.now().toISOString();
      // flattened: one object less per group for the structured clone to walk
      const entries: NewEntry[] = [];
      const counts: number[] = [];
      const checkpoints: { group: number; checkpoint: Checkpoint }[] = [];
      for (let g = 0; g < batch.length; g += 1) {
        const waiter = batch[g]!;
        counts.push(waiter.entries.length);
        if (waiter.checkpoint) checkpoints.push({ group: g, checkpoint: waiter.checkpoint });
        for (const entry of waiter.entries) entries.push(entry);
      }
      const id = this.nextId++;
      const worker = this.writer();
      if (!worker) {
        this.failed(batch, { name: 'Error', message: 'the log is closed' });
        continue;
      }
      try {
        // the structured clone happens here, synchronously: it throws for a value it cannot copy
        worker.postMessage({ kind: 'commit', id, at, entries, counts, checkpoints } satisfies WriterRequest);
      } catch (error) {
        this.unclonable(batch, error as Error);
        continue;
      }
      this.posted.set(id, batch);
      this.postedAt.set(id, performance.now());
      this.referenced(worker);
    }
  }

  /**
   * A batch could not be posted: some entry cannot be copied to the writer thread (a value
   * nested deeper than the structured clone's stack allows, a function). Each caller's entries
   * are tried alone: the callers at fault get `EntryRejectedError`, the others go back to the
   * head of the queue and are posted as usual. Runs only on that failure. Nothing here may
   * throw: it runs in setImmediate, where a throw would end the process.
   */
  private unclonable(batch: Waiter[], error: Error): void {
    const rest: Waiter[] = [];
    for (const waiter of batch) {
      try {
        structuredClone({ entries: waiter.entries, checkpoint: waiter.checkpoint });
        rest.push(waiter);
      } catch (own) {
        waiter.reject(new EntryRejectedError(`the log refused these entries: ${(own as Error).message}`, { cause: own }));
      }
    }
    if (rest.length === batch.length) {
      // each alone can be copied, together they cannot (their size): refuse them as unavailable
      this.failed(rest, { name: error.name, message: `the batch could not reach the writer thread: ${error.message}` });
      return;
    }
    this.queue.unshift(...rest);
  }

  private committed(reply: CommitReply): void {
    const batches: Waiter[][] = [];
    for (const id of reply.ids) {
      const batch = this.posted.get(id);
      this.postedAt.delete(id);
      if (batch === undefined) continue;
      this.posted.delete(id);
      batches.push(batch);
    }
    if (!reply.ok) {
      this.failed(batches.flat(), reply.error);
    } else {
      const { seqs } = reply;
      const failed = new Map((reply.failed ?? []).map(({ group, error }) => [group, error]));
      let lastSeq: number | null = null;
      let i = 0;
      let group = 0;
      let size = 0;
      // the ack follows the commit, never precedes it
      for (const batch of batches) {
        for (const waiter of batch) {
          const error = failed.get(group++);
          if (error) {
            i += waiter.entries.length;
            this.failed([waiter], error);
            continue;
          }
          const appended: Appended[] = [];
          for (let k = 0; k < waiter.entries.length; k += 1) {
            const seq = seqs[i++] ?? 0;
            if (seq === 0) appended.push({ seq: null, duplicate: true });
            else {
              appended.push({ seq, duplicate: false });
              lastSeq = seq;
            }
          }
          size += waiter.entries.length;
          this.failures.committed(waiter.entries);
          waiter.resolve(appended);
        }
      }
      // a storage failure met after the rejected groups is still a failure to remember
      if (![...failed.values()].some((error) => error.code !== ENTRY_REJECTED)) this.lastError = null;
      this.onCommit({ size, ms: reply.ms, lastSeq });
    }
    this.settled();
  }

  private failed(waiters: Waiter[], error: WriterError): void {
    if (waiters.length === 0) return;
    const cause = fromWriterError(error);
    if (error.code === ENTRY_REJECTED) {
      // the entries' fault, not the log's: nothing to remember, nothing to retry
      const rejected = new EntryRejectedError(`the log refused these entries: ${cause.message}`, { cause });
      for (const waiter of waiters) waiter.reject(rejected);
      return;
    }
    const unavailable = new LogUnavailableError(`log commit failed: ${cause.message}`, { cause });
    // remembered for /readyz (see `failure`): a full disk, a corrupted page or a lost WAL shows
    // only when a commit fails
    this.lastError = unavailable;
    this.lastErrorAt = Date.now();
    for (const waiter of waiters) {
      this.failures.failed(waiter.entries, unavailable, this.lastErrorAt);
      waiter.reject(unavailable);
    }
  }

  /** After an answer: tell `drain` when nothing is left, and let an idle writer not hold the process. */
  private settled(): void {
    if (this.posted.size > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
    // closing, the thread stays referenced until it has exited, or the process could end first
    if (this.asked.size === 0 && !this.closed) this.worker?.unref();
  }

  private ask(message: WriterCall & { kind: 'pragma' | 'probe' | 'close' }): Promise<CallReply> {
    const id = this.nextId++;
    const worker = this.closed && message.kind !== 'close' ? undefined : this.writer();
    if (!worker) {
      return Promise.resolve({ kind: 'answered', id, ok: false, error: { name: 'Error', message: 'the log is closed' } });
    }
    return new Promise((resolve) => {
      this.asked.set(id, resolve);
      this.referenced(worker);
      worker.postMessage({ ...message, id } satisfies WriterRequest);
    });
  }

  /** The writer thread, started again if it was lost; none once closed. */
  private writer(): Worker | undefined {
    if (this.closed && this.worker === undefined) return undefined;
    return (this.worker ??= this.spawn());
  }

  /** A request in flight keeps the process alive; an idle writer does not. */
  private referenced(worker: Worker): void {
    if (this.posted.size + this.asked.size === 1) worker.ref();
  }

  private spawn(): Worker {
    // busy until the new thread says otherwise: appends wait for the end of the turn meanwhile
    Atomics.store(this.writerState, 0, WRITER_BUSY);
    const worker = spawnWriter({ path: this.path, busyTimeoutMs: this.options.busyTimeoutMs, state: this.writerState.buffer as SharedArrayBuffer });
    // idle, the writer does not keep the process alive; a request in flight does
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if (reply.kind === 'committed') {
        this.committed(reply);
        return;
      }
      const answer = this.asked.get(reply.id);
      if (!answer) return;
      this.asked.delete(reply.id);
      answer(reply);
      this.settled();
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      const error: WriterError = { name: 'Error', message: why };
      const batches = [...this.posted.values()];
      this.posted.clear();
      this.postedAt.clear();
      this.failed(batches.flat(), error);
      const asked = [...this.asked.entries()];
      this.asked.clear();
      for (const [id, answer] of asked) answer({ kind: 'answered', id, ok: false, error });
      this.settled();
    };
    worker.on('error', (error) => lost(`the writer thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`the writer thread exited (${code})`));
    return worker;
  }

  private takeBatch(): Waiter[] {
    let size = 0;
    let i = 0;
    while (i < this.queue.length && (i === 0 || size + this.queue[i]!.entries.length <= DEFAULTS.log.maxCommitEntries)) {
      size += this.queue[i]!.entries.length;
      i += 1;
    }
    return this.queue.splice(0, i);
  }
}

function fromWriterError(error: WriterError): Error {
  const result = new Error(error.message) as Error & { code?: string };
  result.name = error.name;
  if (error.code !== undefined) result.code = error.code;
  return result;
}
