import { DamagedEntryError } from '../../log/damaged-entry.js';
import { projectedEntryError } from '../../log/entry-shape.js';
import type { Entry } from '../../log/types.js';
import { projectInto, type ApplyEntry, type DeliveryRow, type ProjectionStore } from '../apply-entry.js';
import { isJsonObject } from '../../json-object.js';

/**
 * The projector as `replay --rebuild` and `--verify` run it, on either engine: `projectInto`
 * over `store`, where an entry whose data is not its type's shape (a hand edit with the checks
 * lifted: README "Faults") is named by its seq (`DamagedEntryError`, exit 1), never applied to
 * nothing (a dead letter rewritten as `{}` would bring its delivery back to life), never left to a
 * NOT NULL failure of a batched INSERT that cannot tell the entry. Any other error is thrown as
 * it is: a projector's own bug stays one (exit 2, `commands/main.ts`).
 *
 * The check (`projectedEntryError`, zod) costs 0.08–0.8 µs an entry (a plan 0.4–0.8, an
 * attempt 0.25–0.55, an event 0.08), some 0.25–0.5 s of a 1,000,000-entry rebuild's 10 s
 * (issue 13): so it runs only where projecting an entry looks amiss, as every entry of another
 * shape the projector would act on does:
 * - the projector throws (a field missing that it reads into: `request`, `snapshot`);
 * - a delivery's attempt, dead letter or re-drive whose fields `evolve` reads are not of their type (`deliveryEntrySound`);
 * - a sink's pause, resume or spell, or a delivery's entry, whose
 *   key (`delivery_id`, `sink`) matches nothing: not text, or no delivery or sink state yet
 *   (once a sink, and for an attempt of a delivery the log no longer holds);
 * - a plan's row, an event's counts and call, or an entry's call, holding a value of another type
 *   than its column's (`null` where text is due, an object SQLite cannot bind).
 * A sound entry these find is projected as usual. Other entries' fields the projector does not
 * read are not checked (an event's `received_at`): `log --verify` finds any rewritten entry by its hash.
 */
export function checkedProjector(store: ProjectionStore): ApplyEntry {
  let current: Entry | undefined;
  /** Throws the error naming the entry being projected, if it is of another shape; else undefined (it is sound). */
  const check = (): undefined => {
    const error = current && damageOf(current);
    if (error) throw error;
    return undefined;
  };
  const text = (value: unknown) => typeof value === 'string' || check();
  const project = projectInto({
    countEvent: (eventType) => (text(eventType), store.countEvent(eventType)),
    upsertCall: (callId, orgId, type, seq) => (text(callId), text(orgId), text(type), store.upsertCall(callId, orgId, type, seq)),
    insertDelivery: (row, state) => (rowSound(row) || check(), store.insertDelivery(row, state)),
    delivery: (id) => store.delivery(id) ?? check(),
    putDelivery: (id, state) => store.putDelivery(id, state),
    keyStateOf: (sink, orderKey, keyScope) => store.keyStateOf(sink, orderKey, keyScope),
    setKeyState: (sink, orderKey, keyScope, state) => store.setKeyState(sink, orderKey, keyScope, state),
    sinkSuccess: (sink, at) => store.sinkSuccess(sink, at),
    sinkFailure: (sink, at, error) => store.sinkFailure(sink, at, error),
    addCallEntry: (seq, callId, eventSeq) => (text(callId), store.addCallEntry(seq, callId, eventSeq)),
    callOfEvent: (eventSeq) => store.callOfEvent(eventSeq),
    sinkState: (sink) => store.sinkState(sink) ?? check(),
    putSinkState: (row) => store.putSinkState(row),
    restore: (snapshot) => store.restore(snapshot),
    forgetBefore: (beforeSeq, forgetKeys) => store.forgetBefore(beforeSeq, forgetKeys),
  });
  return (entry) => {
    current = entry;
    // what an attempt, dead letter or re-drive holds is a delivery's state (`evolve`): every field
    // it reads counts (an `outcome` rewritten away would turn a success into a retry)
    if (WHOLE.has(entry.type) && !deliveryEntrySound(entry)) check();
    try {
      project(entry);
    } catch (error) {
      throw error instanceof DamagedEntryError ? error : (damageOf(entry) ?? error);
    }
  };
}

/** The entry types a rebuild checks at every entry (`deliveryEntrySound`), not only where projecting them looks amiss. */
const WHOLE = new Set<string>(['delivery.attempted', 'delivery.dead', 'delivery.retried']);

/** Whether an attempt's error holds what `DeliveryError` does: its kind one of the three, its code and message text, its status a number if any. */
function errorSound(e: unknown): boolean {
  if (!isJsonObject(e)) return false;
  const { kind, code, message, status } = e as Record<string, unknown>;
  return (kind === 'transient' || kind === 'permanent' || kind === 'rate_limited') && typeof code === 'string' && typeof message === 'string' && (status === undefined || typeof status === 'number');
}

/**
 * Whether a delivery's attempt, dead letter or re-drive holds, in each field `evolve` reads, what
 * its type's shape says (`entry-shape.ts`); when not, `projectedEntryError` says what is wrong.
 * A few `typeof`s, not zod: zod's parse of every attempt took about 1 s of a 1,000,000-entry
 * rebuild (a copy of each), this takes none measurable.
 */
function deliveryEntrySound(entry: Entry): boolean {
  const d = entry.data as unknown as Record<string, unknown>;
  if (!isJsonObject(d) || typeof d['delivery_id'] !== 'string') return false;
  if (entry.type !== 'delivery.attempted') return typeof d['reason'] === 'string';
  return (
    (d['outcome'] === 'succeeded' || d['outcome'] === 'failed') &&
    typeof d['attempt'] === 'number' &&
    (d['error'] === null || errorSound(d['error'])) &&
    (d['retry_at'] === null || typeof d['retry_at'] === 'string') &&
    (d['result'] === null || d['result'] === undefined || isJsonObject(d['result'])) &&
    (d['paused'] === undefined || d['paused'] === true)
  );
}

/**
 * The `DamagedEntryError` naming `entry` when a rebuild cannot project it as it reads: its data
 * is JSON but no object (`its data is not a JSON object`), or not its type's shape
 * (`projectedEntryError`: `its data is not what a delivery.dead entry holds (delivery_id is missing)`).
 * Null when it is sound.
 */
export function damageOf(entry: Entry): DamagedEntryError | null {
  const data: unknown = entry.data;
  if (!isJsonObject(data)) return new DamagedEntryError([entry.seq], 'its data is not a JSON object');
  return projectedEntryError(entry);
}

/** Whether a plan's row holds what its columns take: text, numbers, and null only where a column allows it. */
function rowSound(row: DeliveryRow): boolean {
  const [id, , eventId, eventSeq, eventType, ruleId, actionIndex, sink, orderKey] = row;
  return (
    typeof id === 'string' &&
    typeof eventId === 'string' &&
    typeof eventSeq === 'number' &&
    typeof eventType === 'string' &&
    typeof ruleId === 'string' &&
    typeof actionIndex === 'number' &&
    typeof sink === 'string' &&
    (orderKey === null || typeof orderKey === 'string')
  );
}
