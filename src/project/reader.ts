import type { Database } from 'better-sqlite3';
import type { LoadedRules } from '../rules/types.js';
import { DueDeliveries, type DueDelivery } from './due-deliveries.js';
import { listDeliveries, statusReport, type DeliveryFilter, type DeliveryRow, type StatusReport } from './queries.js';

export type { DueDelivery };

/**
 * Named reads of the projections (the derived `p_*` state), as the commands, the dispatcher
 * and the metrics ask them. Async, so another engine can answer them over the network.
 */
export interface ProjectionReader {
  /** `status --json` (SPEC §2), with the sinks of `rules` (null when the file does not load). */
  status(rules: LoadedRules | null): Promise<StatusReport>;
  /** `deliveries --json` rows, newest first. */
  deliveries(filter?: DeliveryFilter): Promise<DeliveryRow[]>;
  /** Deliveries of `sink` due at `now` (ms) that no earlier one of their key holds back, in log order. */
  due(sink: string, now: number, limit: number): Promise<DueDelivery[]>;
  /** When the earliest scheduled retry of a sink is due (ms), if any. */
  nextRetryAt(sink: string): Promise<number | null>;
  /** The rendered request of a delivery, from its `delivery.planned` entry. */
  request(d: DueDelivery): Promise<Record<string, unknown>>;
  /** What the key's first successful delivery returned (a thread, an object), or null. */
  keyState(d: DueDelivery): Promise<Record<string, unknown> | null>;
}

/** The projection reads of a SQLite log. */
export function sqliteProjections(db: Database): ProjectionReader {
  let due: DueDeliveries | undefined;
  const queue = () => (due ??= new DueDeliveries(db));
  return {
    status: async (rules) => statusReport(db, rules),
    deliveries: async (filter) => listDeliveries(db, filter),
    due: async (sink, now, limit) => queue().list(sink, now, limit),
    nextRetryAt: async (sink) => queue().nextRetryAt(sink),
    request: async (d) => queue().requestOf(d),
    keyState: async (d) => queue().keyStateOf(d),
  };
}
