import type { Logger } from 'pino';
import { ERASURE_DEAD_REASON } from '../delivery/lifecycle.js';
import type { DeliveryOrigin, EntryOf, LogReader } from '../log/seam.js';
import { isOperatorEventType, type Entry, type OperatorEventType } from '../log/types.js';
import { operatorEventId } from './delivery-id.js';
import type { OperatorEvent } from './plan-event.js';
import { routableEvent, type Routable } from './planner.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import { misshapenEntryError } from '../log/entry-shape.js';

export { ROUTED_TYPES } from '../log/types.js';

/** `op-SEQ`, the event id of an operator event's plans (defined beside the delivery ids it must never be confused with). */
export { operatorEventId };

/**
 * An operator event as rules see it: `event` = `{event_type, created_at, data}` with the entry's
 * type, time and fields (README "When a rule fails at run time"); `seq` and `received_at` are the entry's.
 */
export function operatorEvent(seq: number, type: OperatorEventType, at: string, data: Record<string, unknown>): OperatorEvent {
  return { seq, received_at: at, envelope: { event_type: type, created_at: at, data }, operator: { event_id: operatorEventId(seq) } };
}

type OperatorEntry = Entry & { type: OperatorEventType };

/**
 * The router's entries as the planner reads them, in seq order. Each entry's fields are checked
 * once, here, against its type's shape (`misshapenEntryError`, `entry-shape.ts`: the one place
 * that says what an entry holds): one that is not what its type holds (`{}`, a field null or of
 * another type) is damaged, skipped with one warning, as the router skips data that is not JSON.
 * What passes is read as its type says: an `event.received` by `routableEvent`, which checks
 * only what a shape cannot say (its body erased, or not JSON). An operator event is routed
 * unless it was raised by an alert (no alert about an alert): the dead letter of a delivery
 * planned from an operator event, a pause its refused attempt started, a stale spell whose
 * oldest delivery is one, and the resume or clearing that ends such a pause or spell. Those are
 * recorded (status shows them) and skipped here. So is the dead letter of an erasure
 * (`ERASURE_DEAD_REASON`): a person or retention asked for it, no delivery failed, and there is
 * nothing to re-drive. A `delivery.dead` gets its delivery's `rule_id, sink, event_id, call_id`
 * from the log.
 */
export async function routablesOf(entries: Entry[], log: LogReader, logger: Logger): Promise<Routable[]> {
  // the batch's shapes first, then its reads: checking each entry between the reads measured ~6 % slower an event
  const damaged = entries.map((entry) => {
    const error = misshapenEntryError(entry);
    if (error) warnSkipped(logger, error);
    return error !== null;
  });
  const operator = entries.filter((e, i): e is OperatorEntry => !damaged[i] && isOperatorEventType(e.type));
  // the delivery each operator entry is about; a resume or clearing is about its pause's or spell's
  const about = new Map<number, string | undefined>();
  for (const entry of operator) about.set(entry.seq, await deliveryAbout(entry, log, logger));
  const origins = await log.deliveryOrigins([...about.values()].filter((id): id is string => id !== undefined));

  return entries.map((entry, i): Routable => {
    if (damaged[i]) return { seq: entry.seq, event: null, damaged: true };
    if (entry.type === 'event.received') return routableEvent(entry as EntryOf<'event.received'>, logger);
    if (!isOperatorEventType(entry.type)) return { seq: entry.seq, event: null };
    if (erasureDeadLetter(entry)) {
      logger.debug({ seq: entry.seq, delivery_id: entry.data.delivery_id }, 'operator event not routed: its call was erased, no delivery failed');
      return { seq: entry.seq, event: null };
    }
    const id = about.get(entry.seq);
    const origin = id === undefined ? undefined : origins.get(id);
    if (origin?.from_operator) {
      logger.debug({ seq: entry.seq, type: entry.type, delivery_id: id }, 'operator event not routed: it was raised by an alert');
      return { seq: entry.seq, event: null };
    }
    return { seq: entry.seq, event: operatorEvent(entry.seq, entry.type, entry.at, dataOf(entry as OperatorEntry, origin)) };
  });
}

/** The router's one warning for a damaged entry it skips: `entry N skipped: it is damaged (…); nothing is planned from it (husky-relay log --verify)`. */
export function warnSkipped(logger: Logger, error: DamagedEntryError): void {
  logger.warn({ seq: error.seq, reason: error.what }, `entry ${error.seq} skipped: it is damaged (${error.what}); nothing is planned from it (husky-relay log --verify)`);
}

/** Whether the entry (or an operator event's scope, `{type, data}`) is the dead letter of an erasure (`ERASURE_DEAD_REASON`), which the router never routes: no rule alerts on it. */
export function erasureDeadLetter<E extends { type: string; data: unknown }>(entry: E): entry is E & { type: 'delivery.dead' } {
  return entry.type === 'delivery.dead' && (entry.data as { reason?: unknown } | null)?.reason === ERASURE_DEAD_REASON;
}

/** The delivery an operator entry is about, whose origin says whether it was raised by an alert. */
async function deliveryAbout(entry: OperatorEntry, log: LogReader, logger: Logger): Promise<string | undefined> {
  try {
    return await deliveryOf(entry, log);
  } catch (error) {
    if (!(error instanceof DamagedEntryError)) throw error;
    // the pause or spell it ends is damaged: routed as if no alert raised it
    logger.warn({ seq: error.seq, reason: error.what }, `entry ${error.seq} is damaged (${error.what}): entry ${entry.seq} is routed without it`);
    return undefined;
  }
}

async function deliveryOf(entry: OperatorEntry, log: LogReader): Promise<string | undefined> {
  switch (entry.type) {
    case 'delivery.dead':
    case 'sink.paused':
    case 'pending.stale':
      return entry.data.delivery_id;
    case 'sink.resumed':
      return (await log.lastAboutSink('sink.paused', entry.data.sink, entry.seq))?.data.delivery_id;
    case 'pending.cleared':
      return (await log.lastAboutSink('pending.stale', entry.data.sink, entry.seq))?.data.delivery_id;
  }
}

/** `data` of the scope: the entry's fields; for a dead letter, also its delivery's (README "When a rule fails at run time"). */
function dataOf(entry: OperatorEntry, origin: DeliveryOrigin | undefined): Record<string, unknown> {
  if (entry.type !== 'delivery.dead') return { ...entry.data };
  return {
    delivery_id: entry.data.delivery_id,
    rule_id: origin?.rule_id ?? null,
    sink: origin?.sink ?? null,
    event_id: origin?.event_id ?? null,
    call_id: origin?.call_id ?? null,
    reason: entry.data.reason,
  };
}
