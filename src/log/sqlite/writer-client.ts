import type { MessagePort } from 'node:worker_threads';
import { LogUnavailableError } from '../../errors.js';
import type { Appended, Checkpoint, LogWriter } from '../seam.js';
import type { NewEntry } from '../types.js';
import { CommitQueue } from './commit-queue.js';
import type { AppendedNotice, WriterReply } from './writer-protocol.js';

/**
 * A writer on a thread of its own that talks to the writer thread over a channel of its own
 * (the pipeline thread's appends). Appends are batched and answered as `GroupCommit`'s are
 * (both are a `CommitQueue` over a channel): the writer folds every request waiting into one
 * transaction, and each caller is answered once the commit that holds its entries has
 * returned. The writer also tells this channel of every commit (`onAppended`), which is how
 * routing and delivery learn that there is something new without asking the database.
 */
export class WriterClient implements LogWriter {
  private readonly commits: CommitQueue;
  private closed = false;
  private readonly listeners: ((lastSeq: number) => void)[] = [];

  /**
   * @param port - this thread's end of the channel the writer thread was given (`GroupCommit.connect`).
   * @param state - the writer's idle flag (`WriterInit.state`).
   * @param now - the clock stamped on each commit request (`at`).
   * @param lingerMs - how long an append waits for others to share its commit (`DEFAULTS.pipeline.appendLingerMs`). (Default: 0)
   */
  constructor(
    private readonly port: MessagePort,
    state: SharedArrayBuffer,
    now: () => Date = () => new Date(),
    lingerMs = 0,
  ) {
    this.commits = new CommitQueue(
      (request) => {
        if (this.closed) return false;
        this.port.postMessage(request);
        return true;
      },
      new Int32Array(state),
      now,
      {},
      lingerMs,
    );
    port.on('message', (reply: WriterReply | AppendedNotice) => {
      if (reply.kind === 'appended') for (const listener of this.listeners) listener(reply.lastSeq);
      else if (reply.kind === 'committed') this.commits.answer(reply);
    });
    port.on('close', () => {
      this.closed = true;
      this.commits.failAll('the channel to the writer thread closed', true);
    });
  }

  /** Told of every commit the writer made, whoever appended (the last seq it wrote). */
  onAppended(listener: (lastSeq: number) => void): void {
    this.listeners.push(listener);
  }

  /** See `LogWriter.append`; `LogUnavailableError` once closed. */
  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    if (this.closed) return Promise.reject(new LogUnavailableError('log commit failed: the log is closed'));
    return this.commits.append(entries, checkpoint);
  }

  /** Appends no more; what waits for an answer is refused. */
  close(): void {
    this.closed = true;
    this.port.close();
  }
}
