import type { Entry, EntryDataByType, EntryType, NewEntry } from './types.js';

/**
 * The one seam between the relay and its log: what every component appends and reads through,
 * and what a storage engine implements (SQLite in `log/sqlite/`; another engine implements the
 * same interfaces and passes the same contract tests). Nothing outside `log/` and `project/`
 * sees a database driver (test/architecture.unit.test.ts holds it so).
 */

/** What became of one appended entry: its `seq`, or a duplicate (its dedupe key was in the log). */
export type Appended = { seq: number; duplicate: false } | { seq: null; duplicate: true };

/** A consumer's position (the router's), advanced in the same transaction as its entries. */
export interface Checkpoint {
  name: string;
  seq: number;
}

/** One caller's entries in a group commit, and the checkpoint they advance, if any. */
export interface CommitGroup {
  entries: NewEntry[];
  checkpoint?: Checkpoint;
}

/**
 * Appends entries. `serve` appends through a group commit (many callers, one transaction, one
 * fsync), a command directly; both are this.
 */
export interface LogWriter {
  /**
   * Appends `entries` in one transaction, with their projections and the checkpoint, if any:
   * all of them or none. Resolves once the commit is durable, with one `Appended` per entry
   * (an `event.received` or `delivery.planned` whose dedupe key is already in the log is a
   * duplicate and appends nothing). Rejects with `LogUnavailableError` when the storage cannot
   * take it (full, read-only, locked: retrying later may succeed) and `EntryRejectedError` when
   * these entries can never be written.
   */
  append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]>;
}

/**
 * `serve`'s writer: appends wait in a queue for a shared transaction (group commit), and the
 * receiver asks how the queue is doing to shed load instead of piling requests up behind a
 * stuck writer.
 */
export interface QueuedWriter extends LogWriter {
  /** How long the oldest append still waiting has waited (ms); 0 when none waits. */
  waitingMs(): number;
  /**
   * Why the last commit that held entries of these types failed, while that may still be so
   * (a full disk, a lock, a lost WAL); null when they commit. (`/readyz`, and the receiver)
   */
  failure(types?: EntryType[]): string | null;
  /** Why the log cannot be written now, or null if it can (`/readyz`). */
  probe(): Promise<string | null>;
}

/**
 * `serve`'s writer as the relay holds it, whatever the engine: a `QueuedWriter` that also takes
 * the pipeline thread's appends over a channel of its own (`WriterClient`), tells that channel of
 * every commit, and commits what waits before it closes.
 */
export interface ServeWriter extends QueuedWriter {
  /** Gives the pipeline thread's writer a channel; returns the writer's idle flag, shared with it. */
  connect(port: import('node:worker_threads').MessagePort): SharedArrayBuffer;
  /**
   * SQLite: the WAL file the writer's guard watches (`WatchedWal`'s memory), for the threads that
   * open the log after the writer started (the pipeline thread): they open it on that file only.
   * Absent on engines without one (PostgreSQL).
   */
  readonly watchedWal?: SharedArrayBuffer;
  close(): Promise<void>;
}

/**
 * Work that one process of several may do at a time (routing and delivery, when several `serve`
 * processes share one PostgreSQL log): held until a time the database keeps, renewed while held,
 * and free to another holder once it lapses (a killed process's).
 */
export interface Lease {
  /** Takes the lease, or renews it if this holder has it: true while held (for its time to live from now). */
  hold(): Promise<boolean>;
  /** Gives it up at once (a clean stop), so another holder need not wait for it to lapse. */
  release(): Promise<void>;
  /** How long a holding lasts without renewal (ms). */
  readonly ttlMs: number;
}

/** Entry filters of `LogReader.read`. */
export interface ReadOptions {
  /** Only these types; `*` and `?` glob (`delivery.*`). */
  types?: string[];
  /** Only entries appended at or after this ISO instant. */
  since?: string;
  /** Only entries appended before this ISO instant. */
  until?: string;
  /** Only entries about this call: its events, and every entry about the deliveries they planned. */
  callId?: string;
  /** Only entries about this event (by `event_id`): the event, and every entry about its deliveries. */
  eventId?: string;
  /** At most this many. (Default: all) */
  limit?: number;
  /** Each entry with its `hash`, its link in the chain (README "Personal data"). (Default: without) */
  hashes?: boolean;
  /** Only the facts (README "Personal data"), no payload read or decrypted: no event `body`, a plan's `request` only its `channel`, `create`. (Default: false) */
  facts?: boolean;
}

export type EntryOf<T extends EntryType> = Entry & { type: T; data: EntryDataByType[T] };

/** What `LogReader.events` reads. */
export interface EventFilter {
  afterSeq: number;
  throughSeq: number;
  since?: string;
  until?: string;
  eventType?: string;
  limit: number;
}

/**
 * Where a delivery came from, as routing an operator event about it needs (README "When a rule fails at run time"): its plan's
 * fields, its call, and whether it was planned from an operator event itself (then nothing
 * about it is routed: no alert about an alert).
 */
export interface DeliveryOrigin {
  delivery_id: string;
  rule_id: string;
  sink: string;
  event_id: string;
  event_type: string;
  /** The call of the event it was planned from; null for a delivery planned from an operator event. */
  call_id: string | null;
  /** Planned from an operator event (an alert), not from a HuskyVoice event. */
  from_operator: boolean;
}

/** Named reads of the log itself. Projection reads live in `project/`. */
export interface LogReader {
  /** The last `seq` appended (0 for an empty log). */
  lastSeq(): Promise<number>;
  /**
   * Entries after `afterSeq`, in `seq` order. Never skips an entry that may still commit with a
   * lower `seq` than one returned: what it returns is a prefix that will not change.
   */
  read(afterSeq: number, options?: ReadOptions): Promise<Entry[]>;
  /** The newest entry of a type, if any. */
  lastOfType<T extends EntryType>(type: T): Promise<EntryOf<T> | undefined>;
  /** A consumer's checkpoint (0 when it has none). */
  checkpoint(name: string): Promise<number>;
  /** The body first logged for an event id, to tell a true retry from a changed duplicate; `[erased]` once its call was erased. */
  eventBody(eventId: string): Promise<string | null>;
  /**
   * `event.received` entries with `afterSeq < seq <= throughSeq`, in `seq` order, at most `limit`:
   * received (`at`) at or after `since` and before `until`, of an event type matching
   * `eventType` (a glob like the rules' `on:`). What `replay` plans from.
   */
  events(filter: EventFilter): Promise<EntryOf<'event.received'>[]>;
  /** Which of these delivery ids are planned already (their `delivery.planned` is in the log). */
  plannedAlready(deliveryIds: readonly string[]): Promise<Set<string>>;
  /** Where each of these deliveries came from; a delivery that was never planned is left out. */
  deliveryOrigins(deliveryIds: readonly string[]): Promise<Map<string, DeliveryOrigin>>;
  /** The newest entry of `type` about `sink` with a seq below `beforeSeq`, if any. */
  lastAboutSink<T extends 'sink.paused' | 'pending.stale'>(type: T, sink: string, beforeSeq: number): Promise<EntryOf<T> | undefined>;
}

export type { EraseRequest, ErasedCall, EraseResult, ErasableCall, PrivacyLog, StoredEntry, SealedRows } from './privacy-seam.js';

/**
 * The dedupe key of an entry, or null: an event id and a delivery id can each be appended once,
 * forever (README "The log"). The engines store it with a unique constraint.
 */
export function dedupeKey(entry: NewEntry): string | null {
  if (entry.type === 'event.received') return `event:${entry.data.event_id}`;
  if (entry.type === 'delivery.planned') return `delivery:${entry.data.delivery_id}`;
  return null;
}
