import type { Database } from 'better-sqlite3';
import { CallReads, type CallView } from './call-story.js';
import { ConsoleReads, type Activity, type DeliverySearch, type EventListRow, type EventSearch, type Page } from './console-reads.js';
import { DispatchReads, type AttemptContext, type OpenDelivery } from './dispatch-reads.js';
import { hasCall, hasEvent, logNames, type LogNames } from './names.js';
import { listDeliveries, statusReport, type DeliveryFilter, type DeliveryRead, type SinksView, type StatusReport } from './queries.js';
import { SinkReads, type DeadLetters, type OldestOpen, type SinkOperatorState } from './sink-reads.js';

export type { Activity, DeliverySearch, EventListRow, EventSearch, Page };
export type { AttemptContext, CallView, DeadLetters, LogNames, OldestOpen, OpenDelivery, SinkOperatorState };

/**
 * Named reads of the projections (the derived `p_*` state), as the commands, the dispatcher
 * and the metrics ask them. Async, so another engine can answer them over the network.
 */
export interface ProjectionReader {
  /** `status --json` (README "Command line"), with the sinks of `rules` (null when the file does not load). */
  status(rules: SinksView): Promise<StatusReport>;
  /** `deliveries --json` rows, newest first, each with whether its call was erased (`DeliveryRead`). */
  deliveries(filter?: DeliveryFilter): Promise<DeliveryRead[]>;
  /**
   * One call's story (README "What happened to this call?", `call --json`) and its timeline, in log order: what `husky-relay
   * call` prints and the console's call page shows. Undefined when no event of the call is in the log.
   */
  call(callId: string): Promise<CallView | undefined>;
  /** The sinks and rules the log's deliveries name (for the hint of a filter that names neither). */
  names(): Promise<LogNames>;
  /** Whether an event of this call is in the log. */
  hasCall(callId: string): Promise<boolean>;
  /** Whether this event is in the log. */
  hasEvent(eventId: string): Promise<boolean>;
  /** Every open (pending, retrying) delivery in log order, and the log's last seq in the same snapshot. */
  openDeliveries(): Promise<{ deliveries: OpenDelivery[]; throughSeq: number }>;
  /** One delivery if it is open, else undefined (a re-driven delivery, to dispatch again). */
  openDelivery(deliveryId: string): Promise<OpenDelivery | undefined>;
  /** What an attempt of this delivery is made from. Rejects if there is no such delivery. */
  attemptContext(deliveryId: string): Promise<AttemptContext>;
  /** Each sink's operator state (paused for its credentials, stale), for sinks that have one (README "When a rule fails at run time"). */
  sinkStates(): Promise<Record<string, SinkOperatorState>>;
  /** A sink's oldest open delivery (first planned of those pending or retrying), or null. */
  oldestOpen(sink: string): Promise<OldestOpen | null>;
  /** How many deliveries of a sink are open (pending or retrying). */
  openCount(sink: string): Promise<number>;
  /** Each sink's dead letters, by name (a sink with none is absent): how many a person can re-drive, how many are of an erased call (closed by the erasure, or dead before or since it). */
  deadLetters(): Promise<Record<string, DeadLetters>>;
  /** The console's events page: events newest first, searched and paged by seq (`console-reads.ts`). */
  eventPage(search: EventSearch): Promise<Page<EventListRow>>;
  /** The console's deliveries page: as `deliveries`, paged by seq, with each row's seq. */
  deliveryPage(search: DeliverySearch): Promise<Page<DeliveryRead & { seq: number }>>;
  /** Events received and delivery attempts per minute, `count` minutes from `from` (ISO, on a minute). */
  activity(from: string, count: number): Promise<Activity>;
}

/**
 * The projection reads of a SQLite log. Payloads are sealed apart from the entries (README
 * "Personal data"): `requestOf(seq)` opens a plan's rendered request and `bodyOf(eventId)` an
 * event's body (null, or `[erased]`, once its call was erased).
 */
export function sqliteProjections(
  db: Database,
  requestOf: (seq: number) => Record<string, unknown> | null,
  bodyOf: (eventId: string) => string | null = () => null,
): ProjectionReader {
  let prepared: DispatchReads | undefined;
  let calls: CallReads | undefined;
  let sinkPrepared: SinkReads | undefined;
  let consoleReads: ConsoleReads | undefined;
  const forConsole = () => (consoleReads ??= new ConsoleReads(db, bodyOf));
  const reads = () => (prepared ??= new DispatchReads(db, requestOf));
  const sinks = () => (sinkPrepared ??= new SinkReads(db));
  return {
    status: async (rules) => statusReport(db, rules),
    deliveries: async (filter) => listDeliveries(db, filter),
    call: async (callId) => (calls ??= new CallReads(db)).callView(callId) ?? undefined,
    names: async () => logNames(db),
    hasCall: async (callId) => hasCall(db, callId),
    hasEvent: async (eventId) => hasEvent(db, eventId),
    openDeliveries: async () => reads().openDeliveries(),
    openDelivery: async (id) => reads().openDelivery(id),
    attemptContext: async (id) => reads().attemptContext(id),
    sinkStates: async () => sinks().sinkStates(),
    oldestOpen: async (sink) => sinks().oldestOpen(sink),
    openCount: async (sink) => sinks().openCount(sink),
    deadLetters: async () => sinks().deadLetters(),
    eventPage: async (search) => forConsole().events(search),
    deliveryPage: async (search) => forConsole().deliveries(search),
    activity: async (from, count) => forConsole().activity(from, count),
  };
}
