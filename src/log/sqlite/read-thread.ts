import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULTS } from '../../config/defaults.js';
import { ReadsUnavailableError, UserError } from '../../errors.js';
import { DamagedEntryError } from '../damaged-entry.js';
import { registerGauges, sqliteSizeOf, type GaugeSource, type Unrouted } from '../../project/gauges.js';
import type { ProjectionReader } from '../../project/reader.js';
import { spawnWorker } from '../../spawn-worker.js';
import type { LogReader } from '../seam.js';
import type { ServeReads, ServeReadsOptions } from '../store.js';
import { GAUGE_READS, LOG_READS, PROJECTION_READS, type ReadError, type ReadReply, type ReadRequest, type ReaderInit } from './reader-protocol.js';
import { WAL_LOST } from './writer-protocol.js';

/** A read posted to the worker and not answered yet. */
interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Armed once the worker is ready: its start-up does not count against a read's time. */
  timer?: NodeJS.Timeout;
}

type Target = Extract<ReadRequest, { kind: 'read' }>['target'];

/**
 * `serve`'s reads of a SQLite log for the console, live updates and the state gauges, made on a
 * worker thread of their own (`reader-worker.ts`) so that no page, however heavy, runs on the
 * event loop that acknowledges webhooks (README "Console"). `log` and `projections` are the
 * same `LogReader` and `ProjectionReader` every other caller uses; each call is a message.
 *
 * Bounds: at most `maxQueued` reads outstanding (more are refused at once); a read not answered
 * within `timeoutMs` (counted once the worker has opened the log) is refused and the worker,
 * stuck in it, is ended. Both refusals, and every read outstanding when the worker dies, reject
 * with `ReadsUnavailableError` (503 `reads_unavailable`). A worker that died or was ended is
 * started again by the next read; one that could not open the log because the WAL file the
 * writer watches is gone (`WAL_LOST`, see `openOnRunningLog`) is not: every read is refused
 * with that reason until `serve` restarts.
 */
export class ReadThread implements ServeReads {
  readonly log: LogReader;
  readonly projections: ProjectionReader;
  /** How many times the worker was started again after it died or was ended. */
  restarts = 0;
  private worker: Worker | undefined;
  /** Whether `worker` has opened its connection (said `ready`). */
  private ready = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** Why no worker can open the log again (its WAL file is gone), once one found it. */
  private lost: string | undefined;
  private readonly maxQueued: number;
  private readonly timeoutMs: number;

  /**
   * @param init - the log to read (`ReaderInit`: path, busy timeout, master keys, test gate).
   * @param options - bounds (defaults `DEFAULTS.console.maxQueuedReads`, `readTimeoutMs`) and the logger deaths are told to.
   */
  constructor(
    private readonly init: ReaderInit,
    private readonly options: Omit<ServeReadsOptions, 'gate'> = {},
  ) {
    this.maxQueued = options.maxQueued ?? DEFAULTS.console.maxQueuedReads;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.console.readTimeoutMs;
    this.log = this.forward('entries', LOG_READS) as unknown as LogReader;
    this.projections = this.forward('projections', PROJECTION_READS) as unknown as ProjectionReader;
  }

  /**
   * The state gauges, their projection reads made on the read thread, the file's size read here.
   * While the thread refuses reads (`ReadsUnavailableError`) a scrape shows the values last read
   * instead of failing: `/metrics` must not answer 500 because the console is busy.
   */
  registerGauges(registry: Registry, now?: () => number): void {
    const gauges = this.forward('gauges', GAUGE_READS) as unknown as { bySink(): Promise<BySink>; oldestOpenAt(): Promise<string | null>; unrouted(): Promise<Unrouted> };
    registerGauges(
      registry,
      {
        bySink: lastKnown(gauges.bySink, [] as BySink),
        oldestOpenAt: lastKnown(gauges.oldestOpenAt, null),
        unrouted: lastKnown(gauges.unrouted, { entries: 0, oldest_at: null } as Unrouted),
        sizeBytes: sqliteSizeOf(this.init.path),
      },
      now,
    );
  }

  /** Reads outstanding now (posted, not answered). */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Test hook: the worker fails with an uncaught error, as a bug in a read would. */
  debugCrash(): void {
    this.worker?.postMessage({ id: 0, kind: 'crash' } satisfies ReadRequest);
  }

  /** Refuses every read outstanding and ends the worker. Reads after this reject. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll('the relay is stopping');
    await worker?.terminate();
  }

  private forward(target: Target, methods: readonly string[]): Record<string, (...args: unknown[]) => Promise<unknown>> {
    return Object.fromEntries(methods.map((method) => [method, (...args: unknown[]) => this.call(target, method, args)]));
  }

  private call(target: Target, method: string, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new ReadsUnavailableError('the console reads are closed: the relay is stopping'));
    if (this.lost) return Promise.reject(new ReadsUnavailableError(this.lost));
    if (this.pending.size >= this.maxQueued) {
      return Promise.reject(new ReadsUnavailableError(`the console has ${this.pending.size} reads waiting already (at most ${this.maxQueued})`));
    }
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // posted first: arguments that cannot cross (a DataCloneError) reject here and hold no place
      worker.postMessage({ id, kind: 'read', target, method, args } as ReadRequest);
      const pending: Pending = { resolve, reject };
      if (this.ready) this.arm(id, pending);
      this.pending.set(id, pending);
    });
  }

  private arm(id: number, pending: Pending): void {
    pending.timer = setTimeout(() => this.timedOut(id), this.timeoutMs);
    pending.timer.unref();
  }

  private start(): Worker {
    const worker = spawnWorker(new URL('./reader-worker.js', import.meta.url), this.init);
    this.ready = false;
    worker.on('message', (reply: ReadReply) => {
      if (reply.kind === 'ready') {
        if (this.worker !== worker) return;
        this.ready = true;
        for (const [id, pending] of this.pending) if (!pending.timer) this.arm(id, pending);
        return;
      }
      if (reply.kind === 'failed') return this.failedToOpen(worker, reply.error);
      const pending = this.pending.get(reply.id);
      if (!pending) return; // timed out meanwhile
      this.pending.delete(reply.id);
      clearTimeout(pending.timer);
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(fromReadError(reply.error));
    });
    worker.on('error', (error) => this.died(worker, `the read thread failed: ${error.message}`, error));
    worker.on('exit', (code) => this.died(worker, `the read thread ended (exit code ${code})`));
    worker.unref(); // an idle read thread never keeps the process alive
    return worker;
  }

  /** The worker `worker` is gone: what it held is refused; the next read starts another. */
  private died(worker: Worker, why: string, error?: Error): void {
    if (this.worker !== worker) return; // ended on purpose (close, a timeout), already accounted for
    this.worker = undefined;
    this.restarts += 1;
    this.options.logger?.error({ err: error }, `${why}; it is started again for the next read`);
    this.failAll(why);
  }

  /** `worker` could not open the log (it ends now): as a death, but for good when its WAL is gone. */
  private failedToOpen(worker: Worker, error: ReadError): void {
    if (this.worker !== worker) return;
    if (error.code !== WAL_LOST) return this.died(worker, `the read thread failed: ${error.message}`, fromReadError(error));
    this.worker = undefined;
    this.lost = error.message;
    this.options.logger?.error({ code: error.code }, `${error.message}; the console's reads are refused until then`);
    this.failAll(error.message);
  }

  /** A read ran past the time limit: the worker is stuck in it, so it is ended with every read it holds. */
  private timedOut(id: number): void {
    if (!this.pending.has(id)) return;
    const worker = this.worker;
    this.worker = undefined;
    this.restarts += 1;
    this.options.logger?.warn({ timeout_ms: this.timeoutMs }, 'a console read ran past its time limit; its read thread is ended and started again');
    this.failAll(`a console read ran past ${this.timeoutMs} ms`);
    void worker?.terminate();
  }

  private failAll(why: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new ReadsUnavailableError(why));
      this.pending.delete(id);
    }
  }
}

type BySink = Awaited<ReturnType<GaugeSource['bySink']>>;

/** `read`, answering what it last answered (at first `initial`) while reads are refused. */
function lastKnown<T>(read: () => Promise<T>, initial: T): () => Promise<T> {
  let last = initial;
  return async () => {
    try {
      return (last = await read());
    } catch (error) {
      if (error instanceof ReadsUnavailableError) return last;
      throw error;
    }
  };
}

/** A read's failure back on this thread: a `UserError` or `DamagedEntryError` stays one (the console shows those), others keep name and code. */
function fromReadError(error: ReadError): Error {
  if (error.name === 'UserError') return new UserError(error.message, error.code);
  if (error.name === 'DamagedEntryError' && error.seqs && error.what) return new DamagedEntryError(error.seqs, error.what);
  return Object.assign(new Error(error.message), { name: error.name, ...(error.code !== undefined && { code: error.code }) });
}
