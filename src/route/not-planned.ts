import { DamagedEntryError } from '../log/damaged-entry.js';
import type { NewEntry } from '../log/types.js';

/**
 * The request of a delivery that could not be planned (README "When a rule fails at run time": "the delivery is planned and
 * goes dead with the error as its reason"): a template failed or exceeded a bound, or the log
 * refused the rendered request. Its `delivery.planned` carries this instead of a request and is
 * followed by `delivery.dead`, so `deliveries`, `status` and `call` show it. A re-drive
 * (`retry`) fails again at once with the same reason and sends nothing; to deliver it, fix the
 * rule and plan again with `replay --force --rule ID`.
 */

/** Why a delivery could not be planned: a short code and a message naming the field. */
export interface NotPlanned {
  /**
   * `render_failed`, `render_timeout`, `invalid_request` (see `UnsendableRequestError`), `request_too_deep`, `request_too_large`,
   * `entry_rejected`, `plan_failed`; at attempt time, `erased` (`delivery/lifecycle.ts` `ERASED`) and `entry_damaged` (`damagedPlanRequest`).
   */
  code: string;
  message: string;
}

const KEY = 'not_planned';

/** The placeholder request of a delivery that could not be planned. */
export function notPlannedRequest(reason: NotPlanned): Record<string, unknown> {
  return { [KEY]: { code: reason.code, message: reason.message } };
}

/**
 * The request an attempt is made from when its plan's entry cannot be read back (`error` is a
 * `DamagedEntryError`: its data is not JSON, or its payload does not decrypt; README "Faults"):
 * the placeholder of `entry_damaged`, whose message is the error's one line (which entry, what
 * is wrong, what to do). The attempt then fails at once as permanent and the delivery goes
 * dead with that reason, so it is listed, alerted on and counted like any dead letter; nothing
 * is sent, since what was planned is not known. Before, the attempt was put back every few
 * seconds, forever, with an error line each time and the delivery open. Any other error (a
 * read that failed: a lock, a damaged page of an index) is thrown as it is: it may pass.
 */
export function damagedPlanRequest(error: unknown): Record<string, unknown> {
  if (!(error instanceof DamagedEntryError)) throw error;
  return notPlannedRequest({ code: 'entry_damaged', message: error.message });
}

/** The reason, when `request` is such a placeholder; else null. */
export function notPlannedReason(request: Record<string, unknown>): NotPlanned | null {
  const value = request[KEY];
  if (!value || typeof value !== 'object') return null;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : null;
}

/** The `reason` of its `delivery.dead`: `code: message`, like a sink's permanent failure. */
export function deadReason(reason: NotPlanned): string {
  return `${reason.code}: ${reason.message}`;
}

/**
 * Entries the log refused (`EntryRejectedError`), as what can be recorded instead: each planned
 * delivery with the placeholder request, dead with `entry_rejected` and the log's reason.
 */
export function refusedEntries(entries: NewEntry[], why: string): NewEntry[] {
  const reason = { code: 'entry_rejected', message: `the log refused the planned request: ${why}` };
  return entries.flatMap((entry): NewEntry[] => {
    if (entry.type !== 'delivery.planned') return [];
    const plan = { ...entry.data, request: notPlannedRequest(reason), order_key: null };
    return [
      { type: 'delivery.planned', data: plan },
      { type: 'delivery.dead', data: { delivery_id: plan.delivery_id, reason: deadReason(reason) } },
    ];
  });
}
