import type { Registry } from 'prom-client';
import { registerStateGauges } from '../../project/gauges.js';
import { sqliteProjections, type ProjectionReader } from '../../project/reader.js';
import { rebuildProjections, type RebuildResult } from '../../project/rebuild/rebuild.js';
import type { BuildOptions } from '../../project/rebuild/scratch.js';
import { verifyProjections, type VerifyResult } from '../../project/rebuild/verify.js';
import type { SealedRows, ServeWriter, Appended, Checkpoint, DeliveryOrigin, EntryOf, EventFilter, LogReader, LogWriter, ReadOptions } from '../seam.js';
import type { OpenStoreOptions, ServeReads, ServeReadsOptions, Store } from '../store.js';
import { ReadThread } from './read-thread.js';
import type { Entry, EntryType, NewEntry } from '../types.js';
import { SqliteLog } from './sqlite-log.js';
import { sqliteSealedRows } from './sealed.js';
import { SqlitePrivacy } from './sqlite-privacy.js';
import { GroupCommit } from './group-commit.js';
import type { CommitStats } from './commit-queue.js';
import { WatchedWal } from './open-running.js';
import { writeWhenFree } from './write-wait.js';

/**
 * The SQLite engine behind the seam: `SqliteLog` (synchronous, one connection) answering the
 * async `LogReader`/`LogWriter` interfaces and the projection reads. A direct append is its own
 * `BEGIN IMMEDIATE` transaction, waiting up to the busy timeout for `serve`'s writer (until a
 * Ctrl-C, given `OpenStoreOptions.interrupt`).
 */
export class SqliteStore implements Store, LogReader, LogWriter {
  readonly sqlite: SqliteLog;
  readonly projections: ProjectionReader;
  readonly privacy: SqlitePrivacy;
  /** A direct write waits for another process's lock in slices and gives up at Ctrl-C (`writeWhenFree`). */
  readonly writesHeedInterrupt = true;
  /** The WAL file `serve`'s writer watches, once it has started (`serveWriter`); its read thread opens on that file only. */
  private readonly watchedWal = new WatchedWal();

  constructor(
    path: string | SqliteLog,
    private readonly options: OpenStoreOptions = {},
  ) {
    this.sqlite =
      typeof path === 'string'
        ? new SqliteLog(path, { busyTimeoutMs: options.busyTimeoutMs, now: options.now, unsynced: options.unsynced, masterKeys: options.masterKeys, checkKeys: options.checkKeys, lateOpen: options.lateOpen })
        : path;
    this.projections = sqliteProjections(
      this.sqlite.db,
      (seq) => this.sqlite.requestOf(seq),
      (eventId) => this.sqlite.bodyOf(eventId),
    );
    this.privacy = new SqlitePrivacy(this.sqlite, options.interrupt);
  }

  /** The log's rows as stored, sealed (`migrate --to` copies them as they are). */
  get sealedRows(): SealedRows {
    return sqliteSealedRows(this.sqlite.db);
  }

  /** The seam over a log already open (tests hold one; closing the store closes it). */
  static over(log: SqliteLog): SqliteStore {
    return new SqliteStore(log);
  }

  get log(): LogReader {
    return this;
  }

  get writer(): LogWriter {
    return this;
  }

  async append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return writeWhenFree(this.sqlite.db, this.options.interrupt, () => this.sqlite.append(entries, checkpoint));
  }

  async lastSeq(): Promise<number> {
    return this.sqlite.lastSeq();
  }

  async read(afterSeq: number, options?: ReadOptions): Promise<Entry[]> {
    return this.sqlite.read(afterSeq, options);
  }

  async lastOfType<T extends EntryType>(type: T): Promise<EntryOf<T> | undefined> {
    return this.sqlite.lastOfType(type) as EntryOf<T> | undefined;
  }

  async checkpoint(name: string): Promise<number> {
    return this.sqlite.checkpoint(name);
  }

  async eventBody(eventId: string): Promise<string | null> {
    return this.sqlite.bodyOf(eventId);
  }

  async events(filter: EventFilter): Promise<EntryOf<'event.received'>[]> {
    return this.sqlite.events(filter);
  }

  async plannedAlready(deliveryIds: readonly string[]): Promise<Set<string>> {
    return this.sqlite.plannedAlready(deliveryIds);
  }

  async deliveryOrigins(deliveryIds: readonly string[]): Promise<Map<string, DeliveryOrigin>> {
    return this.sqlite.deliveryOrigins(deliveryIds);
  }

  async lastAboutSink<T extends 'sink.paused' | 'pending.stale'>(type: T, sink: string, beforeSeq: number): Promise<EntryOf<T> | undefined> {
    return this.sqlite.lastAboutSink(type, sink, beforeSeq) as EntryOf<T> | undefined;
  }

  registerGauges(registry: Registry, now?: () => number): void {
    registerStateGauges(registry, this.sqlite.db, this.sqlite.path, now);
  }

  rebuild(options?: BuildOptions): Promise<RebuildResult> {
    return rebuildProjections(this.sqlite.db, options);
  }

  verify(options?: BuildOptions & { limit?: number }): Promise<VerifyResult> {
    return verifyProjections(this.sqlite.db, options);
  }

  /** The console's reads on a read thread of their own (`ReadThread`), over a connection of its own. */
  serveReads(options: ServeReadsOptions = {}): ServeReads {
    const { gate, ...bounds } = options;
    const init = { path: this.sqlite.path, busyTimeoutMs: this.options.busyTimeoutMs, masterKeys: this.options.masterKeys, gate, wal: this.watchedWal.buffer };
    return new ReadThread(init, bounds);
  }

  serveWriter(onCommit: (stats: CommitStats) => void): ServeWriter {
    const { busyTimeoutMs, now, masterKeys } = this.options;
    return new GroupCommit(this.sqlite.path, { busyTimeoutMs, now, masterKeys, watchedWal: this.watchedWal.buffer }, onCommit);
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}
