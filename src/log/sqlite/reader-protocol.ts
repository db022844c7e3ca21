import type { GaugeSource } from '../../project/gauges.js';
import type { ProjectionReader } from '../../project/reader.js';
import type { LogReader } from '../seam.js';

/** What the read worker is started with (`workerData`). */
export interface ReaderInit {
  path: string;
  busyTimeoutMs?: number;
  /** `HUSKY_RELAY_MASTER_KEY` as set; unset: the `master-key` file beside the database. */
  masterKeys?: string;
  /**
   * Test hook: two Int32s shared with the test. While `[0]` is `GATE_HELD`, every read waits
   * in the worker before it runs (`Atomics.wait`), and `[1]` counts the reads that reached the
   * gate, so a test can hold a console read on the read thread and know it is held there.
   */
  gate?: SharedArrayBuffer;
  /** `WatchedWal`'s memory: the thread opens the log on the WAL file the writer watches, or not at all. */
  wal?: SharedArrayBuffer;
}

export const GATE_OPEN = 0;
export const GATE_HELD = 1;

/** The reads of `LogReader` the console and live updates make on the read thread. */
export const LOG_READS = ['lastSeq', 'read', 'lastOfType', 'checkpoint', 'eventBody', 'events', 'plannedAlready', 'deliveryOrigins', 'lastAboutSink'] as const satisfies readonly (keyof LogReader)[];

/** Every read of `ProjectionReader`: the console asks for pages, the call story, the chart, and re-drive's open deliveries. */
export const PROJECTION_READS = [
  'status',
  'deliveries',
  'call',
  'names',
  'hasCall',
  'hasEvent',
  'openDeliveries',
  'openDelivery',
  'attemptContext',
  'sinkStates',
  'oldestOpen',
  'openCount',
  'deadLetters',
  'eventPage',
  'deliveryPage',
  'activity',
] as const satisfies readonly (keyof ProjectionReader)[];

/** The state gauges' reads of the projections (`GaugeSource`; the file size is read on the calling thread). */
export const GAUGE_READS = ['bySink', 'oldestOpenAt', 'unrouted'] as const satisfies readonly (keyof GaugeSource)[];

// a method added to either interface and not forwarded fails to compile here
type Missing<T, K extends readonly unknown[]> = Exclude<keyof T, K[number]>;
const everyRead: [Missing<LogReader, typeof LOG_READS>, Missing<ProjectionReader, typeof PROJECTION_READS>] extends [never, never] ? true : never = true;
void everyRead;

/** A read the main thread asks the read worker for: `target[method](...args)`. */
export type ReadRequest =
  | { id: number; kind: 'read'; target: 'entries'; method: (typeof LOG_READS)[number]; args: unknown[] }
  | { id: number; kind: 'read'; target: 'projections'; method: (typeof PROJECTION_READS)[number]; args: unknown[] }
  | { id: number; kind: 'read'; target: 'gauges'; method: (typeof GAUGE_READS)[number]; args: unknown[] }
  /** Test hook: the worker throws an uncaught error, as a bug in a read would. */
  | { id: number; kind: 'crash' };

/** A failure as it crosses the thread boundary: name, message and `code` survive it; a `DamagedEntryError`'s `seqs` and `what` too. */
export interface ReadError {
  name: string;
  message: string;
  code?: string;
  seqs?: number[];
  what?: string;
}

export type ReadReply =
  | { kind: 'ready' }
  /** The thread could not open the log (the WAL file it must use is gone: code `WAL_LOST`); it ends after this. */
  | { kind: 'failed'; error: ReadError }
  | { kind: 'answered'; id: number; ok: true; value: unknown }
  | { kind: 'answered'; id: number; ok: false; error: ReadError };
