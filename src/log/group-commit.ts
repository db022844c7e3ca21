import { LogUnavailableError } from '../errors.js';
import type { Appended, Log } from './log.js';
import type { NewEntry } from './types.js';

interface Waiter {
  entry: NewEntry;
  resolve: (appended: Appended) => void;
  reject: (error: Error) => void;
}

/** The most entries one transaction takes; a longer queue commits in several. */
const MAX_BATCH = 2000;

/**
 * Group commit: appends that arrive while the event loop is busy are written in one
 * transaction, and each caller is answered only after the commit that holds its entry has
 * returned (`synchronous=FULL`: on disk). One fsync then serves a whole batch of requests.
 * If the commit fails, every caller in it gets `LogUnavailableError` and nothing of the
 * batch remains.
 */
export class GroupCommit {
  private queue: Waiter[] = [];
  private scheduled = false;

  constructor(
    private readonly log: Log,
    private readonly onCommit: (batch: { size: number; ms: number; lastSeq: number | null }) => void = () => {},
  ) {}

  append(entry: NewEntry): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request
        // that arrived meanwhile joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now. Also called on shutdown. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const started = performance.now();
      let results: Appended[];
      try {
        results = this.log.append(batch.map((w) => w.entry));
      } catch (error) {
        const unavailable = new LogUnavailableError(`log commit failed: ${(error as Error).message}`, { cause: error });
        for (const waiter of batch) waiter.reject(unavailable);
        continue;
      }
      let lastSeq: number | null = null;
      // the ack must follow the commit, never precede it
      batch.forEach((waiter, i) => {
        const appended = results[i]!;
        if (appended.seq !== null) lastSeq = appended.seq;
        waiter.resolve(appended);
      });
      this.onCommit({ size: batch.length, ms: performance.now() - started, lastSeq });
    }
  }
}
