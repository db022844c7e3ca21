import type { Database } from 'better-sqlite3';
import { DispatchReads, type AttemptContext, type OpenDelivery } from './dispatch-reads.js';
import { listDeliveries, statusReport, type DeliveryFilter, type DeliveryRow, type SinksView, type StatusReport } from './queries.js';

export type { AttemptContext, OpenDelivery };

/**
 * Named reads of the projections (the derived `p_*` state), as the commands, the dispatcher
 * and the metrics ask them. Async, so another engine can answer them over the network.
 */
export interface ProjectionReader {
  /** `status --json` (README "Command line"), with the sinks of `rules` (null when the file does not load). */
  status(rules: SinksView): Promise<StatusReport>;
  /** `deliveries --json` rows, newest first. */
  deliveries(filter?: DeliveryFilter): Promise<DeliveryRow[]>;
  /** Every open (pending, retrying) delivery in log order, and the log's last seq in the same snapshot. */
  openDeliveries(): Promise<{ deliveries: OpenDelivery[]; throughSeq: number }>;
  /** One delivery if it is open, else undefined (a re-driven delivery, to dispatch again). */
  openDelivery(deliveryId: string): Promise<OpenDelivery | undefined>;
  /** What an attempt of this delivery is made from. Rejects if there is no such delivery. */
  attemptContext(deliveryId: string): Promise<AttemptContext>;
}

/** The projection reads of a SQLite log. */
export function sqliteProjections(db: Database): ProjectionReader {
  let prepared: DispatchReads | undefined;
  const reads = () => (prepared ??= new DispatchReads(db));
  return {
    status: async (rules) => statusReport(db, rules),
    deliveries: async (filter) => listDeliveries(db, filter),
    openDeliveries: async () => reads().openDeliveries(),
    openDelivery: async (id) => reads().openDelivery(id),
    attemptContext: async (id) => reads().attemptContext(id),
  };
}
