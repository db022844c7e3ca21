import { LogUnavailableError } from '../errors.js';
import type { Appended, Checkpoint, Log } from './log.js';
import type { NewEntry } from './types.js';

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

/**
 * Group commit: appends that arrive while the event loop is busy are written in one
 * transaction, and each caller is answered only after the commit that holds its entries
 * has returned (`synchronous=FULL`: on disk). One fsync then serves a whole batch of
 * requests. If the commit fails, every caller in it gets `LogUnavailableError` and nothing
 * of the batch remains. Every writer of `serve` (receiver, router, dispatcher) goes through
 * here, so they never wait on each other's locks.
 */
export class GroupCommit {
  private queue: Waiter[] = [];
  private scheduled = false;
  /** The last commit's disk-full or I/O error, until a commit succeeds again (for /readyz). */
  lastError: Error | null = null;
  lastErrorAt = 0;

  constructor(
    private readonly log: Log,
    private readonly onCommit: (stats: CommitStats) => void = () => {},
  ) {}

  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, checkpoint, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request
        // that arrived meanwhile joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  async appendOne(entry: NewEntry): Promise<Appended> {
    const [appended] = await this.append([entry]);
    return appended!;
  }

  /** Commits everything queued now. Also called on shutdown. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const started = performance.now();
      let results: Appended[][];
      try {
        results = this.log.appendBatch(batch);
        this.lastError = null;
      } catch (error) {
        const unavailable = new LogUnavailableError(`log commit failed: ${(error as Error).message}`, { cause: error });
        // read-only and locked show in the readiness probe itself; a full disk or an I/O
        // error only when a commit fails, so those are remembered
        const code = String((error as { code?: unknown }).code ?? '');
        if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR')) {
          this.lastError = unavailable;
          this.lastErrorAt = Date.now();
        }
        for (const waiter of batch) waiter.reject(unavailable);
        continue;
      }
      let lastSeq: number | null = null;
      // the ack must follow the commit, never precede it
      batch.forEach((waiter, i) => {
        const appended = results[i]!;
        for (const a of appended) if (a.seq !== null) lastSeq = a.seq;
        waiter.resolve(appended);
      });
      this.onCommit({ size: batch.reduce((n, w) => n + w.entries.length, 0), ms: performance.now() - started, lastSeq });
    }
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
