import type { Database, Statement } from 'better-sqlite3';
import { ERASED, OPEN_SQL } from '../delivery/lifecycle.js';
import { damagedPlanRequest, notPlannedRequest } from '../route/not-planned.js';

/** An open delivery as the dispatcher's due index takes it (see `delivery/schedule.ts`). */
export interface OpenDelivery {
  delivery_id: string;
  /** `seq` of its `delivery.planned`: log order. */
  seq: number;
  sink: string;
  order_key: string | null;
  /** When its next attempt is due (ISO); null for now. */
  next_attempt_at: string | null;
}

/** What an attempt is made from: the planned request, the key's state, and the delivery's counts so far. */
export interface AttemptContext {
  request: Record<string, unknown>;
  /** What the key's first successful delivery returned (a thread, a card, an object), or null. */
  keyState: Record<string, unknown> | null;
  event_type: string;
  attempts: number;
  /** Counted failures since planning or the last re-drive. */
  round_failures: number;
}

/**
 * The dispatcher's reads of the projections and the log: once at start, the open deliveries
 * (and how far the log was when they were read, in the same snapshot); then, per attempt, what
 * it is made from. Finding what is due is the in-memory index's work, never a scan here.
 */
export class DispatchReads {
  private readonly open: Statement;
  private readonly lastSeq: Statement;
  private readonly row: Statement;
  private readonly keyState: Statement;
  private readonly ref: Statement;

  /** `requestOf(seq)`: the plan's rendered request, opened by the engine; null once its call was erased. */
  constructor(
    private readonly db: Database,
    private readonly requestOf: (seq: number) => Record<string, unknown> | null,
  ) {
    this.open = db.prepare(`SELECT delivery_id, seq, sink, order_key, next_attempt_at FROM p_deliveries WHERE status IN ${OPEN_SQL} ORDER BY seq`);
    this.lastSeq = db.prepare(`SELECT coalesce(max(seq), 0) FROM entries`).pluck();
    this.row = db.prepare(`SELECT seq, sink, order_key, key_scope, event_type, attempts, round_failures FROM p_deliveries WHERE delivery_id = ?`);
    this.keyState = db.prepare(`SELECT result FROM p_key_state WHERE sink = ? AND order_key = ? AND key_scope = ?`).pluck();
    this.ref = db.prepare(`SELECT delivery_id, seq, sink, order_key, next_attempt_at FROM p_deliveries WHERE delivery_id = ? AND status IN ${OPEN_SQL}`);
  }

  /** Every open delivery in log order, and the last seq of the same snapshot. */
  openDeliveries(): { deliveries: OpenDelivery[]; throughSeq: number } {
    return this.db.transaction(() => ({ deliveries: this.open.all() as OpenDelivery[], throughSeq: this.lastSeq.get() as number }))();
  }

  /** One delivery if it is open (a re-driven one, to put back in the index), else undefined. */
  openDelivery(deliveryId: string): OpenDelivery | undefined {
    return this.ref.get(deliveryId) as OpenDelivery | undefined;
  }

  /** Throws when the delivery is unknown (it was planned, so that is a damaged projection); a damaged plan entry gives `damagedPlanRequest`'s placeholder. */
  attemptContext(deliveryId: string): AttemptContext {
    const row = this.row.get(deliveryId) as
      | { seq: number; sink: string; order_key: string | null; key_scope: string; event_type: string; attempts: number; round_failures: number }
      | undefined;
    if (!row) throw new Error(`no delivery ${deliveryId} in the projections`);
    // an erased call's delivery, or one whose plan is damaged, is never sent: it fails at once, as a plan that could not be made
    let request: Record<string, unknown>;
    try {
      request = this.requestOf(row.seq) ?? notPlannedRequest(ERASED);
    } catch (error) {
      request = damagedPlanRequest(error);
    }
    const state = row.order_key === null ? undefined : (this.keyState.get(row.sink, row.order_key, row.key_scope) as string | undefined);
    return {
      request,
      keyState: state === undefined ? null : (JSON.parse(state) as Record<string, unknown>),
      event_type: row.event_type,
      attempts: row.attempts,
      round_failures: row.round_failures,
    };
  }
}
