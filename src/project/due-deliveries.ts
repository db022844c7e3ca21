import { OPEN_SQL } from '../delivery/lifecycle.js';
import type { Database, Statement } from 'better-sqlite3';

export interface DueDelivery {
  delivery_id: string;
  seq: number;
  sink: string;
  /** The type of the event that planned it (its stage in a call, see `call-stage.ts`). */
  event_type: string;
  order_key: string | null;
  key_scope: string;
  attempts: number;
  round_failures: number;
}

/**
 * Read-only queries of the dispatcher over the projections. A delivery is due when it is
 * pending or retrying with its time come, and no earlier delivery with the same sink and
 * order_key is still pending or retrying (SPEC §7: per-key order).
 */
export class DueDeliveries {
  private readonly due: Statement;
  private readonly request: Statement;
  private readonly keyState: Statement;
  private readonly nextRetry: Statement;

  constructor(db: Database) {
    this.due = db.prepare(`
      SELECT d.delivery_id, d.seq, d.sink, d.event_type, d.order_key, d.key_scope, d.attempts, d.round_failures
      FROM p_deliveries d
      WHERE d.status IN ${OPEN_SQL} AND d.sink = @sink
        AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= @now)
        AND (d.order_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM p_deliveries e
          WHERE e.sink = d.sink AND e.order_key = d.order_key AND e.seq < d.seq
            AND e.status IN ${OPEN_SQL}))
      ORDER BY d.seq
      LIMIT @limit`);
    this.request = db.prepare(`SELECT data ->> '$.request' AS request FROM entries WHERE seq = ?`);
    this.keyState = db.prepare(
      `SELECT result FROM p_key_state WHERE sink = @sink AND order_key = @order_key AND key_scope = @key_scope`,
    );
    this.nextRetry = db.prepare(
      `SELECT min(next_attempt_at) AS at FROM p_deliveries WHERE status = 'retrying' AND sink = ?`,
    );
  }

  list(sink: string, now: number, limit: number): DueDelivery[] {
    return this.due.all({ sink, now: new Date(now).toISOString(), limit }) as DueDelivery[];
  }

  /** The rendered request, from the `delivery.planned` entry itself. */
  requestOf(d: DueDelivery): Record<string, unknown> {
    const row = this.request.get(d.seq) as { request: string };
    return JSON.parse(row.request) as Record<string, unknown>;
  }

  /** What the first successful delivery of this key returned (a thread, an object). */
  keyStateOf(d: DueDelivery): Record<string, unknown> | null {
    if (d.order_key === null) return null;
    const row = this.keyState.get(d) as { result: string } | undefined;
    return row ? (JSON.parse(row.result) as Record<string, unknown>) : null;
  }

  /** When the earliest scheduled retry of a sink is due (ms), if any. */
  nextRetryAt(sink: string): number | null {
    const row = this.nextRetry.get(sink) as { at: string | null };
    return row.at ? Date.parse(row.at) : null;
  }
}
