import type { MessagePort } from 'node:worker_threads';
import { EntryRejectedError, LogUnavailableError } from '../../errors.js';
import { DEFAULTS } from '../../config/defaults.js';
import type { Appended, Checkpoint, CommitGroup, LogWriter } from '../seam.js';
import type { NewEntry } from '../types.js';
import { ENTRY_REJECTED, WRITER_BUSY, WRITER_IDLE, type CommitReply, type WriterError, type WriterReply, type WriterRequest } from './writer-protocol.js';

interface Waiter extends CommitGroup {
  resolve: (appended: Appended[]) => void;
  reject: (error: Error) => void;
}

/**
 * A writer on a thread of its own that talks to the writer thread over a channel of its own
 * (the pipeline thread's appends). Like `GroupCommit`, appends of one turn of the event loop
 * go in one request, and the writer folds every request waiting into one transaction; each
 * caller is answered once the commit that holds its entries has returned. The writer also
 * tells this channel of every commit (`onAppended`), which is how routing and delivery learn
 * that there is something new without asking the database.
 */
export class WriterClient implements LogWriter {
  private queue: Waiter[] = [];
  private scheduled = false;
  private readonly posted = new Map<number, Waiter[]>();
  private nextId = 1;
  private closed = false;
  private readonly state: Int32Array;
  private readonly listeners: ((lastSeq: number) => void)[] = [];

  /**
   * @param port - this thread's end of the channel the writer thread was given.
   * @param state - the writer's idle flag (`WriterInit.state`).
   */
  constructor(
    private readonly port: MessagePort,
    state: SharedArrayBuffer,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.state = new Int32Array(state);
    port.on('message', (reply: WriterReply) => this.received(reply));
    port.on('close', () => this.lost('the channel to the writer thread closed'));
  }

  /** Told of every commit the writer made, whoever appended (the last seq it wrote). */
  onAppended(listener: (lastSeq: number) => void): void {
    this.listeners.push(listener);
  }

  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new LogUnavailableError('log commit failed: the log is closed'));
      this.queue.push({ entries, checkpoint, resolve, reject });
      if (Atomics.compareExchange(this.state, 0, WRITER_IDLE, WRITER_BUSY) === WRITER_IDLE) return this.post();
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.post();
      });
    });
  }

  /** Appends no more; what waits for an answer is refused. */
  close(): void {
    this.closed = true;
    this.port.close();
  }

  private post(): void {
    while (this.queue.length > 0) {
      const batch = takeBatch(this.queue);
      const id = this.nextId++;
      const entries: NewEntry[] = [];
      const counts: number[] = [];
      const checkpoints: { group: number; checkpoint: Checkpoint }[] = [];
      batch.forEach((w, g) => {
        counts.push(w.entries.length);
        if (w.checkpoint) checkpoints.push({ group: g, checkpoint: w.checkpoint });
        entries.push(...w.entries);
      });
      try {
        // the structured clone happens here, synchronously: it throws for a value it cannot copy
        this.port.postMessage({ kind: 'commit', id, at: this.now().toISOString(), entries, counts, checkpoints } satisfies WriterRequest);
      } catch (error) {
        // some entry cannot be copied: those callers are refused, the others are posted again
        const rest = batch.filter((w) => {
          try {
            structuredClone(w.entries);
            return true;
          } catch (own) {
            w.reject(new EntryRejectedError(`the log refused these entries: ${(own as Error).message}`, { cause: own }));
            return false;
          }
        });
        if (rest.length < batch.length) this.queue.unshift(...rest);
        else rejectAll(rest, { name: 'Error', message: `the batch could not reach the writer thread: ${(error as Error).message}` });
        continue;
      }
      this.posted.set(id, batch);
    }
  }

  private received(reply: WriterReply | { kind: 'appended'; lastSeq: number }): void {
    if (reply.kind === 'appended') {
      for (const listener of this.listeners) listener(reply.lastSeq);
      return;
    }
    if (reply.kind === 'committed') this.committed(reply);
  }

  private committed(reply: CommitReply): void {
    const waiters = reply.ids.flatMap((id) => {
      const batch = this.posted.get(id) ?? [];
      this.posted.delete(id);
      return batch;
    });
    if (!reply.ok) return void rejectAll(waiters, reply.error);
    const failed = new Map((reply.failed ?? []).map(({ group, error }) => [group, error]));
    let i = 0;
    waiters.forEach((w, group) => {
      const error = failed.get(group);
      if (error) {
        i += w.entries.length;
        return rejectAll([w], error);
      }
      w.resolve(w.entries.map((): Appended => {
        const seq = reply.seqs[i++] ?? 0;
        return seq === 0 ? { seq: null, duplicate: true } : { seq, duplicate: false };
      }));
    });
  }

  private lost(why: string): void {
    this.closed = true;
    const waiters = [...this.posted.values()].flat().concat(this.queue.splice(0));
    this.posted.clear();
    rejectAll(waiters, { name: 'Error', message: why });
  }
}

function rejectAll(waiters: Waiter[], error: WriterError): void {
  const cause = Object.assign(new Error(error.message), { name: error.name, code: error.code });
  const refusal =
    error.code === ENTRY_REJECTED
      ? new EntryRejectedError(`the log refused these entries: ${error.message}`, { cause })
      : new LogUnavailableError(`log commit failed: ${error.message}`, { cause });
  for (const w of waiters) w.reject(refusal);
}

function takeBatch(queue: Waiter[]): Waiter[] {
  let size = 0;
  let i = 0;
  while (i < queue.length && (i === 0 || size + queue[i]!.entries.length <= DEFAULTS.log.maxCommitEntries)) size += queue[i++]!.entries.length;
  return queue.splice(0, i);
}
