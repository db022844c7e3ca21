import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { LogUnavailableError } from '../../errors.js';
import { EnvironmentError } from '../../os-errors.js';
import { CommitFailures } from '../sqlite/commit-failures.js';
import { CommitQueue, takeBatch, type CommitRequest, type CommitStats } from '../sqlite/commit-queue.js';
import { ENTRY_REJECTED, toGroups, toWriterError, WRITER_BUSY, WRITER_IDLE, type AppendedNotice, type CommitReply, type WriterRequest } from '../sqlite/writer-protocol.js';
import type { Appended, Checkpoint, CommitGroup, ServeWriter } from '../seam.js';
import type { NewEntry } from '../types.js';
import { APPENDED_CHANNEL } from './pg-append.js';
import type { PgStore } from './pg-store.js';

interface Pending {
  request: CommitRequest;
  reply: (reply: CommitReply) => void;
}

/** Whose requests a queue holds: the main thread's (webhooks, operators) or a pipeline channel's. */
type Side = 'main' | 'pipeline';

/** How long the listener waits before connecting again after it lost its connection (ms); polling covers the gap. */
const RELISTEN_MS = 1000;

/**
 * `serve`'s writer on PostgreSQL: group commit as `GroupCommit` does it for SQLite, speaking the
 * same channel protocol to the pipeline thread (`WriterClient`), with the transaction run on this
 * thread (the driver is asynchronous: the event loop keeps answering while a commit is in flight).
 * Every request of one side waiting when a commit ends goes into the next one: the main thread's
 * (durable before their 200) and the pipeline's (not waiting for their WAL flush: `underAppendLock`)
 * never share a transaction, and the sides take turns. Commits of other relays on
 * the same database are heard through `LISTEN husky_relay_appended` and told to the pipeline
 * like this relay's own, so it wakes at once; its poll is the fallback when a notice is lost.
 */
export class PgGroupCommit implements ServeWriter {
  private readonly commits: CommitQueue;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending: Record<Side, Pending[]> = { main: [], pipeline: [] };
  /** The side committed last: the other goes next when both wait. */
  private last: Side = 'pipeline';
  private readonly ports = new Set<MessagePort>();
  private readonly failures = new CommitFailures();
  private running: Promise<void> | null = null;
  private listener: pg.Client | null = null;
  private closed = false;
  private heard!: () => void;
  /** Resolves once the first `LISTEN` is in place: from then on every relay's commits are heard. */
  readonly listening = new Promise<void>((resolve) => (this.heard = resolve));

  constructor(
    private readonly store: PgStore,
    private readonly onCommit: (stats: CommitStats) => void = () => {},
  ) {
    Atomics.store(this.state, 0, WRITER_IDLE);
    this.commits = new CommitQueue(
      (request) => {
        if (this.closed) return false;
        this.enqueue('main', { request, reply: (reply) => this.onCommit(this.commits.answer(reply)) });
        return true;
      },
      this.state,
      store.now,
      {
        committed: (entries) => this.failures.committed(entries),
        unavailable: (entries, error) => this.failures.failed(entries, error, Date.now()),
      },
    );
    this.listen();
  }

  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    if (this.closed) return Promise.reject(new LogUnavailableError('log commit failed: the log is closed'));
    return this.commits.append(entries, checkpoint);
  }

  waitingMs(now = performance.now()): number {
    return this.commits.waitingMs(now);
  }

  failure(types?: NewEntry['type'][], now = Date.now()): string | null {
    return this.failures.current(now, types);
  }

  /** Whether a commit could succeed now: the server answers, and is not a read-only standby. */
  async probe(): Promise<string | null> {
    try {
      const row = (await this.store.pool.query<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`)).rows[0]!;
      if (row.ro === 'on') return 'the database is read-only (a standby?)';
      this.failures.probed();
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** The pipeline thread's channel: its commit requests join the same batches; it hears of every commit. */
  connect(port: MessagePort): SharedArrayBuffer {
    if (this.closed) throw new LogUnavailableError('log commit failed: the log is closed');
    this.ports.add(port);
    port.on('message', (request: WriterRequest) => {
      if (request.kind === 'commit') this.enqueue('pipeline', { request, reply: (reply) => port.postMessage(reply) });
    });
    port.on('close', () => this.ports.delete(port));
    return this.state.buffer as SharedArrayBuffer;
  }

  /** Commits what is appended, then stops listening. */
  async close(): Promise<void> {
    this.commits.flush();
    while (this.running) await this.running;
    this.closed = true;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private enqueue(side: Side, pending: Pending): void {
    this.pending[side].push(pending);
    this.kick();
  }

  private waiting(): number {
    return this.pending.main.length + this.pending.pipeline.length;
  }

  /** Starts the commit loop unless it runs; again when a request came in as it ended. */
  private kick(): void {
    this.running ??= this.run().finally(() => {
      this.running = null;
      Atomics.store(this.state, 0, WRITER_IDLE);
      if (this.waiting() > 0) this.kick();
    });
  }

  /** Commits batches while requests wait: each batch is every request of one side waiting, up to `maxCommitEntries`. */
  private async run(): Promise<void> {
    Atomics.store(this.state, 0, WRITER_BUSY);
    while (this.waiting() > 0) {
      const other: Side = this.last === 'main' ? 'pipeline' : 'main';
      const side = this.pending[other].length > 0 ? other : this.last;
      this.last = side;
      await this.commit(takeBatch(this.pending[side], (p) => p.request.entries.length), side === 'main');
    }
  }

  private async commit(batch: Pending[], durable: boolean): Promise<void> {
    const started = performance.now();
    const groups = batch.map((p) => toGroups(p.request, []));
    try {
      const results = await this.store.appendBatch(groups.flat(), batch.at(-1)!.request.at, durable);
      const ms = performance.now() - started;
      let g = 0;
      for (const [i, p] of batch.entries()) {
        const mine = results.slice(g, (g += groups[i]!.length));
        p.reply({ kind: 'committed', ids: [p.request.id], ok: true, seqs: mine.flat().map((a) => a.seq ?? 0), ms });
      }
    } catch (error) {
      // the relay's environment (a master key that cannot open a data key) is no entry's fault
      const entriesAtFault = !(error instanceof LogUnavailableError) && !(error instanceof EnvironmentError);
      if (batch.length > 1 && entriesAtFault) {
        // some request's own entries failed the transaction: each alone, so only it is refused
        for (const p of batch) await this.commit([p], durable);
        return;
      }
      const failure = toWriterError(error);
      if (entriesAtFault) failure.code = ENTRY_REJECTED;
      for (const p of batch) p.reply({ kind: 'committed', ids: [p.request.id], ok: false, error: failure });
    }
  }

  /** LISTENs for every relay's commits and tells the pipeline threads; connects again when the connection is lost. */
  private listen(): void {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.store.url, application_name: 'husky-relay listen' });
    this.listener = client;
    const again = () => {
      if (this.listener !== client || this.closed) return;
      this.listener = null;
      client.end().catch(() => undefined);
      setTimeout(() => this.listen(), RELISTEN_MS).unref();
    };
    client.on('error', again);
    client.on('end', again);
    client.on('notification', (message) => {
      const notice: AppendedNotice = { kind: 'appended', lastSeq: Number(message.payload) };
      for (const port of this.ports) port.postMessage(notice);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${APPENDED_CHANNEL}`))
      .then(() => this.heard(), again);
  }
}
