import { resolve as resolvePath } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { LogUnavailableError } from '../../errors.js';
import { CommitFailures } from './commit-failures.js';
import { CommitQueue, type CommitRequest, type CommitStats } from './commit-queue.js';
import type { LogOptions } from './sqlite-log.js';
import type { Appended, Checkpoint, QueuedWriter } from '../seam.js';
import type { NewEntry } from '../types.js';
import { WRITER_BUSY, type CallReply, type WriterCall, type WriterError, type WriterReply, type WriterRequest } from './writer-protocol.js';
import { spawnWriter } from './writer-spawn.js';
import { WatchedWal } from './open-running.js';

export type { CommitStats } from './commit-queue.js';

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
  /** The appends: queued, posted to the writer, answered from its replies. */
  private readonly commits: CommitQueue;
  /** Posted pragma/probe/close requests by id. */
  private readonly asked = new Map<number, Answer>();
  private worker: Worker | undefined;
  /** `WRITER_IDLE` or `WRITER_BUSY`, shared with the writer thread (see `WriterInit.state`). */
  private readonly writerState = new Int32Array(new SharedArrayBuffer(4));
  private nextAskId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly drained: Array<() => void> = [];
  private readonly key: string;
  /** Failed commits, for `failure()`. */
  private readonly failures = new CommitFailures();

  /** The WAL file the writer's guard watches (see `ServeWriter.watchedWal`), shared with every writer thread started. */
  readonly watchedWal: SharedArrayBuffer;

  /**
   * @param options - how the writer opens the log; `watchedWal`: the memory the writer publishes
   *   its WAL in (a store's, shared with its read thread). (Default: memory of its own)
   */
  constructor(
    readonly path: string,
    private readonly options: LogOptions & { watchedWal?: SharedArrayBuffer } = {},
    private readonly onCommit: (stats: CommitStats) => void = () => {},
  ) {
    this.watchedWal = options.watchedWal ?? new WatchedWal().buffer;
    this.commits = new CommitQueue((request) => this.send(request), this.writerState, options.now, {
      committed: (entries) => this.failures.committed(entries),
      // remembered for /readyz (see `failure`): a full disk, a corrupted page or a lost WAL shows only when a commit fails
      unavailable: (entries, error) => this.failures.failed(entries, error, Date.now()),
    });
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
    if (this.closed) return Promise.reject(new LogUnavailableError('log commit failed: the log is closed'));
    return this.commits.append(entries, checkpoint);
  }

  async appendOne(entry: NewEntry): Promise<Appended> {
    const [appended] = await this.append([entry]);
    return appended!;
  }

  /** Resolves once everything appended so far is committed (or failed). */
  drain(): Promise<void> {
    this.commits.flush();
    if (this.commits.inFlight === 0) return Promise.resolve();
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
    return this.commits.waitingMs(now);
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

  /** Test hook: ends the writer thread, as a failure would; the next request starts another. */
  async debugEndWriter(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Posts one commit request to the writer thread (see `CommitQueue`'s `send`). */
  private send(request: CommitRequest): boolean {
    const worker = this.writer();
    if (!worker) return false;
    worker.postMessage(request);
    this.referenced(worker);
    return true;
  }

  /** After an answer: tell `drain` when nothing is left, and let an idle writer not hold the process. */
  private settled(): void {
    if (this.commits.inFlight > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
    // closing, the thread stays referenced until it has exited, or the process could end first
    if (this.asked.size === 0 && !this.closed) this.worker?.unref();
  }

  private ask(message: WriterCall & { kind: 'pragma' | 'probe' | 'close' }): Promise<CallReply> {
    const id = this.nextAskId++;
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
    if (this.commits.inFlight + this.asked.size <= 1) worker.ref();
  }

  private spawn(): Worker {
    // busy until the new thread says otherwise: appends wait for the end of the turn meanwhile
    Atomics.store(this.writerState, 0, WRITER_BUSY);
    const worker = spawnWriter({ path: this.path, busyTimeoutMs: this.options.busyTimeoutMs, masterKeys: this.options.masterKeys, state: this.writerState.buffer as SharedArrayBuffer, wal: this.watchedWal });
    // idle, the writer does not keep the process alive; a request in flight does
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if (reply.kind === 'committed') {
        const stats = this.commits.answer(reply);
        if (reply.ok) this.onCommit(stats);
        this.settled();
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
      this.commits.failAll(why);
      const asked = [...this.asked.entries()];
      this.asked.clear();
      for (const [id, answer] of asked) answer({ kind: 'answered', id, ok: false, error });
      this.settled();
    };
    worker.on('error', (error) => lost(`the writer thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`the writer thread exited (${code})`));
    return worker;
  }
}

function fromWriterError(error: WriterError): Error {
  const result = new Error(error.message) as Error & { code?: string };
  result.name = error.name;
  if (error.code !== undefined) result.code = error.code;
  return result;
}
