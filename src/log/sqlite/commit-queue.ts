import { EntryRejectedError, LogUnavailableError } from '../../errors.js';
import { DEFAULTS } from '../../config/defaults.js';
import type { Appended, Checkpoint, CommitGroup } from '../seam.js';
import type { NewEntry } from '../types.js';
import { ENTRY_REJECTED, WRITER_BUSY, WRITER_IDLE, type CommitReply, type WriterError, type WriterRequest } from './writer-protocol.js';

interface Waiter extends CommitGroup {
  resolve: (appended: Appended[]) => void;
  reject: (error: Error) => void;
}

/** A commit request as it is posted to the writer thread. */
export type CommitRequest = Extract<WriterRequest, { kind: 'commit' }>;

/** What a commit reply amounted to, for metrics (`GroupCommit`'s `onCommit`). */
export interface CommitStats {
  /** Entries committed for callers (duplicates included). */
  size: number;
  /** How long the transaction took on the writer thread (ms). */
  ms: number;
  /** The highest seq written, or null when every entry was a duplicate. */
  lastSeq: number | null;
  /**
   * How long the oldest request of this commit waited for the writer before its transaction
   * began (ms): from posted to answered, less `ms`. The writer was busy with other commits
   * (the pipeline's) meanwhile, or its thread was not scheduled.
   */
  waitedMs: number;
}

/** What the owner of a queue learns of each caller's group as it settles. */
export interface CommitQueueHooks {
  /** A group was committed. */
  committed?(entries: NewEntry[]): void;
  /** A group failed because the log could not be written (not the entries' own fault). */
  unavailable?(entries: NewEntry[], error: LogUnavailableError): void;
}

/**
 * The appending half of a channel to the writer thread, shared by `GroupCommit` (the HTTP
 * thread) and `WriterClient` (the pipeline thread). Appends of one turn of the event loop go
 * in one request (setImmediate: no timer, so no added latency at low load); when the writer is
 * idle (a flag in shared memory tells), an append is posted at once instead, so a long turn
 * does not leave the writer waiting. Requests hold at most `DEFAULTS.log.maxCommitEntries`
 * entries (one caller's group is never split). Each caller is answered only from the reply of
 * the commit that holds its entries: `Appended[]` in its order, or `EntryRejectedError` (its
 * entries cannot be stored, whatever the log's state) or `LogUnavailableError` (nothing of its
 * group was stored; try again).
 */
export class CommitQueue {
  private queue: Waiter[] = [];
  private scheduled = false;
  /** Posted requests by id, with when they were posted (`performance.now()` ms), until answered. */
  private readonly posted = new Map<number, { batch: Waiter[]; at: number }>();
  private nextId = 1;

  /**
   * @param send - posts one request; returns false when there is no writer to post to (closed);
   *   throws when the request cannot be copied (structured clone).
   * @param idle - the writer's idle flag (`WriterInit.state`).
   */
  constructor(
    private readonly send: (request: CommitRequest) => boolean,
    private readonly idle: Int32Array,
    private readonly now: () => Date = () => new Date(),
    private readonly hooks: CommitQueueHooks = {},
    /** How long an append waits for others before its request is posted (0: as the class says). (Default: 0) */
    private readonly lingerMs = 0,
  ) {}

  /** Queues a caller's entries (and the checkpoint committed with them); see the class. */
  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, checkpoint, resolve, reject });
      if (this.lingerMs > 0) return this.linger();
      // the writer is waiting for work: it gets this now, not at the end of the loop turn
      if (Atomics.compareExchange(this.idle, 0, WRITER_IDLE, WRITER_BUSY) === WRITER_IDLE) return this.flush();
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate runs after the I/O callbacks of this loop turn: every request that arrived meanwhile goes with it
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** Posts what is queued once `lingerMs` have passed since the first append that waits. */
  private linger(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.flush();
    }, this.lingerMs);
  }

  /** Requests posted and not yet answered. */
  get inFlight(): number {
    return this.posted.size;
  }

  /** How long the oldest unanswered request has waited (ms), 0 when none waits. */
  waitingMs(now = performance.now()): number {
    for (const { at } of this.posted.values()) return now - at;
    return 0;
  }

  /** Posts what is queued now. Nothing here throws: it runs in setImmediate. */
  flush(): void {
    while (this.queue.length > 0) {
      const batch = takeBatch(this.queue, (w) => w.entries.length);
      // flattened: one object less per group for the structured clone to walk
      const entries: NewEntry[] = [];
      const counts: number[] = [];
      const checkpoints: { group: number; checkpoint: Checkpoint }[] = [];
      batch.forEach((waiter, group) => {
        counts.push(waiter.entries.length);
        if (waiter.checkpoint) checkpoints.push({ group, checkpoint: waiter.checkpoint });
        for (const entry of waiter.entries) entries.push(entry);
      });
      const id = this.nextId++;
      let sent: boolean;
      try {
        // the structured clone happens here, synchronously: it throws for a value it cannot copy
        sent = this.send({ kind: 'commit', id, at: this.now().toISOString(), entries, counts, checkpoints });
      } catch (error) {
        this.unclonable(batch, error as Error);
        continue;
      }
      if (!sent) this.fail(batch, { name: 'Error', message: 'the log is closed' });
      else this.posted.set(id, { batch, at: performance.now() });
    }
  }

  /** Answers the callers of the requests a commit reply names; returns what it amounted to. */
  answer(reply: CommitReply): CommitStats {
    let postedAt = Infinity;
    const waiters = reply.ids.flatMap((id) => {
      const posted = this.posted.get(id);
      this.posted.delete(id);
      postedAt = Math.min(postedAt, posted?.at ?? Infinity);
      return posted?.batch ?? [];
    });
    const ms = reply.ok ? reply.ms : 0;
    const waitedMs = postedAt === Infinity ? 0 : Math.max(0, performance.now() - postedAt - ms);
    const stats: CommitStats = { size: 0, ms, lastSeq: null, waitedMs };
    if (!reply.ok) {
      this.fail(waiters, reply.error);
      return stats;
    }
    const failed = new Map((reply.failed ?? []).map(({ group, error }) => [group, error]));
    let i = 0;
    // the ack follows the commit, never precedes it
    waiters.forEach((waiter, group) => {
      const error = failed.get(group);
      if (error) {
        i += waiter.entries.length;
        return this.fail([waiter], error);
      }
      const appended = waiter.entries.map((): Appended => {
        const seq = reply.seqs[i++] ?? 0;
        if (seq === 0) return { seq: null, duplicate: true };
        stats.lastSeq = seq;
        return { seq, duplicate: false };
      });
      stats.size += waiter.entries.length;
      this.hooks.committed?.(waiter.entries);
      waiter.resolve(appended);
    });
    return stats;
  }

  /** Refuses everything posted or queued (the writer is gone): `LogUnavailableError` with `why`. */
  failAll(why: string, queuedToo = false): void {
    const waiters = [...this.posted.values()].flatMap(({ batch }) => batch);
    this.posted.clear();
    if (queuedToo) waiters.push(...this.queue.splice(0));
    this.fail(waiters, { name: 'Error', message: why });
  }

  private fail(waiters: Waiter[], error: WriterError): void {
    if (waiters.length === 0) return;
    const cause = Object.assign(new Error(error.message), { name: error.name }, error.code === undefined ? {} : { code: error.code });
    if (error.code === ENTRY_REJECTED) {
      // the entries' fault, not the log's: nothing to remember, nothing to retry
      const rejected = new EntryRejectedError(`the log refused these entries: ${cause.message}`, { cause });
      for (const waiter of waiters) waiter.reject(rejected);
      return;
    }
    const unavailable = new LogUnavailableError(`log commit failed: ${cause.message}`, { cause });
    for (const waiter of waiters) {
      this.hooks.unavailable?.(waiter.entries, unavailable);
      waiter.reject(unavailable);
    }
  }

  /**
   * A batch could not be posted: some entry cannot be copied to the writer thread (a value
   * nested deeper than the structured clone's stack allows, a function). Each caller's entries
   * are tried alone: the callers at fault get `EntryRejectedError`, the others go back to the
   * head of the queue and are posted as usual. Runs only on that failure.
   */
  private unclonable(batch: Waiter[], error: Error): void {
    const rest = batch.filter((waiter) => {
      try {
        structuredClone({ entries: waiter.entries, checkpoint: waiter.checkpoint });
        return true;
      } catch (own) {
        waiter.reject(new EntryRejectedError(`the log refused these entries: ${(own as Error).message}`, { cause: own }));
        return false;
      }
    });
    // each alone can be copied, together they cannot (their size): refuse them as unavailable
    if (rest.length === batch.length) this.fail(rest, { name: error.name, message: `the batch could not reach the writer thread: ${error.message}` });
    else this.queue.unshift(...rest);
  }
}

/**
 * Takes the head of `queue` up to one transaction's size, `DEFAULTS.log.maxCommitEntries`
 * entries (at least one group, however large): what one group commit writes, on every engine.
 * `entriesOf` says how many entries a queued request holds.
 */
export function takeBatch<T>(queue: T[], entriesOf: (item: T) => number): T[] {
  let size = 0;
  let i = 0;
  while (i < queue.length && (i === 0 || size + entriesOf(queue[i]!) <= DEFAULTS.log.maxCommitEntries)) size += entriesOf(queue[i++]!);
  return queue.splice(0, i);
}
