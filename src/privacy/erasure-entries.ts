import { ERASURE_DEAD_REASON } from '../delivery/lifecycle.js';
import type { EraseRequest } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';

/**
 * What erasing one call appends, on every engine: its `call.erased` (with the request's reason,
 * by and downstream) and a `delivery.dead` for each of its deliveries still open (`dying`, in
 * seq order, reason `ERASURE_DEAD_REASON`), so nothing is attempted with a payload that is gone
 * and nobody re-drives them (`canRedrive`; nor the call's dead letters, whatever their reason:
 * `CALL_ERASED_SQL`).
 */
export function erasureEntries(callId: string, request: Pick<EraseRequest, 'reason' | 'by' | 'downstream'>, dying: readonly string[]): NewEntry[] {
  return [
    { type: 'call.erased', data: { call_id: callId, reason: request.reason, by: request.by, downstream: request.downstream } },
    ...dying.map((delivery_id): NewEntry => ({ type: 'delivery.dead', data: { delivery_id, reason: ERASURE_DEAD_REASON } })),
  ];
}
