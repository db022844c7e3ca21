import { resolve as resolvePath } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { LogUnavailableError } from '../errors.js';
import type { Appended, Checkpoint, LogOptions } from './log.js';
import type { NewEntry } from './types.js';
import type { WriterCall, WriterError, WriterReply, WriterRequest } from './writer-protocol.js';
import { spawnWriter } from './writer-spawn.js';

interface Waiter {
  entries: NewEntry[];
  checkpoint?: Checkpoint;
  resolve: (appended: Appended[]) => void;
  reject: (error: Error) => void;
}

/** The most entries one transaction takes; a longer queue commits in several. */
const MAX_BATCH = 2000;

export interface CommitStats {
  size: number;
  ms: number;
  lastSeq: number | null;
}

type Pending = (reply: WriterReply) => void;

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
 * is in flight. At most one commit is in flight; everything that queues meanwhile goes into
 * the next one, which starts the moment the writer answers. When the writer is idle, the
 * first append starts a commit at the end of the current loop turn (setImmediate: no timer,
 * so no added latency at low load), so requests read in the same turn share it.
 */
export class GroupCommit {
  private queue: Waiter[] = [];
  private scheduled = false;
  /** The batch the writer is committing now, if any. */
  private inFlight: Waiter[] | null = null;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly drained: Array<() => void> = [];
  private readonly now: () => Date;
  private readonly key: string;
  /** The last commit's disk-full or I/O error, until a commit succeeds again (for /readyz). */
  lastError: Error | null = null;
  lastErrorAt = 0;

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
      if (this.inFlight === null && !this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request
        // that arrived meanwhile joins the batch.
        setImmediate(() => {
          this.scheduled = false;
          this.startCommit();
        });
      }
    });
  }

  async appendOne(entry: NewEntry): Promise<Appended> {
    const [appended] = await this.append([entry]);
    return appended!;
  }

  /** Resolves once everything queued so far is committed (or failed) and the writer is idle. */
  drain(): Promise<void> {
    if (this.inFlight === null && this.queue.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.drained.push(resolve));
    if (this.inFlight === null) this.startCommit();
    return done;
  }

  /** Waits for the commit in flight, commits what is queued, then stops the writer. Shutdown. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.drain();
      this.closed = true;
      if (live.get(this.key) === this) live.delete(this.key);
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      await this.request({ kind: 'close' }).catch(() => {});
      await exited;
    })());
  }

  /**
   * Test hook: runs `PRAGMA <pragma>` on the writer's connection (e.g. `query_only = 1`,
   * `max_page_count = N`) and returns its value. Pragmas are per connection, so setting them
   * on another connection of the same file does not change what the writer does.
   */
  /**
   * Why the log cannot be written now, or null if it can: the writer tries to take the write
   * lock, on its own thread, between commits. (`/readyz`)
   */
  async probe(): Promise<string | null> {
    const reply = await this.request({ kind: 'probe' });
    return reply.ok ? null : reply.error.message;
  }

  async debugPragma(pragma: string): Promise<unknown> {
    const reply = await this.request({ kind: 'pragma', pragma });
    if (!reply.ok) throw fromWriterError(reply.error);
    return 'value' in reply ? reply.value : undefined;
  }

  private startCommit(): void {
    if (this.inFlight !== null) return;
    if (this.queue.length === 0) {
      this.notifyDrained();
      return;
    }
    const batch = this.takeBatch();
    this.inFlight = batch;
    const started = performance.now();
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
    this.request({ kind: 'commit', at: this.now().toISOString(), entries, counts, checkpoints }).then(
      (reply) => this.committed(batch, started, reply),
      (error: Error) => this.committed(batch, started, { id: 0, ok: false, error: { name: error.name, message: error.message } }),
    );
  }

  private committed(batch: Waiter[], started: number, reply: WriterReply): void {
    this.inFlight = null;
    // the writer is idle: what queued meanwhile goes at once, while this batch is answered
    this.startCommit();
    if (!reply.ok) {
      const cause = fromWriterError(reply.error);
      const unavailable = new LogUnavailableError(`log commit failed: ${cause.message}`, { cause });
      // read-only and locked show in the readiness probe itself; a full disk or an I/O
      // error only when a commit fails, so those are remembered
      const code = reply.error.code ?? '';
      if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR')) {
        this.lastError = unavailable;
        this.lastErrorAt = Date.now();
      }
      for (const waiter of batch) waiter.reject(unavailable);
      return;
    }
    this.lastError = null;
    const seqs = 'seqs' in reply ? reply.seqs : [];
    let lastSeq: number | null = null;
    let i = 0;
    // the ack follows the commit, never precedes it
    for (const waiter of batch) {
      const appended: Appended[] = [];
      for (let k = 0; k < waiter.entries.length; k += 1) {
        const seq = seqs[i++] ?? 0;
        if (seq === 0) appended.push({ seq: null, duplicate: true });
        else {
          appended.push({ seq, duplicate: false });
          lastSeq = seq;
        }
      }
      waiter.resolve(appended);
    }
    this.onCommit({ size: i, ms: performance.now() - started, lastSeq });
  }

  private notifyDrained(): void {
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private request(message: WriterCall): Promise<WriterReply> {
    const id = this.nextId++;
    if (this.closed && message.kind !== 'close') {
      return Promise.resolve({ id, ok: false, error: { name: 'Error', message: 'the log is closed' } });
    }
    const worker = (this.worker ??= this.spawn());
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...message, id } as WriterRequest);
    });
  }

  private spawn(): Worker {
    const worker = spawnWriter({ path: this.path, busyTimeoutMs: this.options.busyTimeoutMs });
    // idle, the writer does not keep the process alive; a request in flight does
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      // closing, the thread stays referenced until it has exited, or the process could end first
      if (this.pending.size === 0 && !this.closed) worker.unref();
      pending(reply);
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      const failed = [...this.pending.entries()];
      this.pending.clear();
      for (const [id, pending] of failed) pending({ id, ok: false, error: { name: 'Error', message: why } });
    };
    worker.on('error', (error) => lost(`the writer thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`the writer thread exited (${code})`));
    return worker;
  }

  private takeBatch(): Waiter[] {
    let size = 0;
    let i = 0;
    while (i < this.queue.length && (i === 0 || size + this.queue[i]!.entries.length <= MAX_BATCH)) {
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
