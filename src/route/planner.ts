import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EntryRejectedError } from '../errors.js';
import type { Checkpoint, EntryOf, LogReader, LogWriter } from '../log/seam.js';
import type { DeliveryPlanned, NewEntry } from '../log/types.js';
import type { LoadedRules } from '../rules/types.js';
import { refusedEntries } from './not-planned.js';
import { preNamespaceId } from './delivery-id.js';
import { isErased } from '../privacy/payload.js';
import { entriesOf, eventIdOf, explainEvent, failuresOf, plannableEvent, type ActionOutcome, type PlannableEvent, type PlanOptions, type RuleFailure } from './plan-event.js';

/** What became of one action's plan: appended now, or in the log already (planned before, by anyone). */
export type PlanFate = 'planned' | 'existing';

/** One entry the planner reads, by seq: the event the rules run on, or null when it is skipped (`routablesOf` and `routableEvent` say why). */
export interface Routable {
  seq: number;
  event: PlannableEvent | null;
  /** Skipped because its call's personal data was erased (README "Personal data"): nothing to plan from. */
  erased?: true;
  /** Skipped because the entry is damaged (its data is not what its type holds): nothing to plan from. */
  damaged?: true;
}

/**
 * An `event.received` entry as the planner reads it. Checks only what its type's shape does not
 * say: a body erased with its call is skipped (`erased`), and one that is not JSON (only a log
 * written by something else could hold one) is skipped with a warning. Its fields' types are
 * checked once, before, by the router (`routablesOf`, against `entry-shape.ts`, the one place
 * that says what an entry holds); `replay`'s backfill checks them there too, and stops at one
 * of another shape (`backfill.ts`).
 */
export function routableEvent(entry: EntryOf<'event.received'>, logger: Logger): Routable {
  if (isErased(entry)) return { seq: entry.seq, event: null, erased: true };
  const event = plannableEvent(entry);
  if (!event) logger.warn({ seq: entry.seq }, 'event skipped: its body is not JSON');
  return { seq: entry.seq, event };
}

/** The planning loop's parameters: where events come from, and what to do with their plans. */
export interface PlannerOptions extends PlanOptions {
  reader: LogReader;
  writer: LogWriter;
  /** The next events after a seq, in seq order (the live tail, or `replay`'s filter). */
  events: (afterSeq: number) => Promise<Routable[]>;
  /** The rules in force; the loop stops while there are none. */
  rules: () => LoadedRules | null;
  /** Advanced to each batch's last event, in the same transaction as its plans (the router). */
  checkpoint?: string;
  /** Plan nothing; report what would be planned. */
  dryRun?: boolean;
  /** Stop between events (shutdown). */
  stopped?: () => boolean;
  logger: Logger;
  /** Each action's outcome once its batch is appended (or would be, in a dry run). */
  onOutcome?: (outcome: ActionOutcome, fate: PlanFate) => void;
  /** Each rule that failed on an event (README "When a rule fails at run time"). */
  onFailure?: (failure: RuleFailure, eventId: string, seq: number) => void;
  /** After each batch: how far it went and how many events it read. */
  onBatch?: (lastSeq: number, events: number) => void | Promise<void>;
}

/** One event's plans. */
interface Planned {
  seq: number;
  eventId: string;
  outcomes: ActionOutcome[];
  /** From a HuskyVoice event (not an operator event). */
  call?: true;
}

/**
 * The planning loop, one for the router and `replay` alike: reads events after `after`, runs
 * the rules over each (yielding between events), appends the plans a batch at a time, and goes
 * on until there are no more. The next batch is planned while the previous one commits, and
 * appended only once that commit has returned: batches land in order, and a failed one stops
 * the loop (it rejects) before anything after it is appended. No event can stop it otherwise:
 * a rule that fails plans a delivery that goes dead with the reason, and plans the log refuses
 * are replaced by such dead deliveries, event by event. Resolves with the last seq planned.
 */
export async function runPlanner(after: number, o: PlannerOptions): Promise<number> {
  let last = after;
  let committing: Promise<void> | null = null;
  try {
    for (;;) {
      const rules = o.rules();
      if (!rules || o.stopped?.()) break;
      const events = await o.events(last);
      if (events.length === 0) break;
      const batch: Planned[] = [];
      for (const entry of events) {
        batch.push(plan(rules, entry, o));
        await yieldToLoop(); // let the thread's other work (acks, attempts) through between events
        if (o.stopped?.()) break;
      }
      if (batch.length === 0) break;
      await committing;
      committing = settle(batch, o);
      committing.catch(() => {}); // held until awaited: an unheard rejection would end the process
      last = batch[batch.length - 1]!.seq;
    }
  } finally {
    await committing;
  }
  return last;
}

function plan(rules: LoadedRules, entry: Routable, o: PlannerOptions): Planned {
  const { event } = entry;
  if (!event) return { seq: entry.seq, eventId: '', outcomes: [] };
  const eventId = eventIdOf(event);
  try {
    const verdicts = explainEvent(rules, event, o);
    for (const failure of failuresOf(verdicts)) o.onFailure?.(failure, eventId, entry.seq);
    return { seq: entry.seq, eventId, outcomes: verdicts.flatMap((v) => (v.matched ? v.actions : [])), ...(!event.operator && { call: true as const }) };
  } catch (error) {
    // planning catches every rule's failure itself; this is a bug of ours, and must not stop planning
    o.logger.error({ event_id: eventId, seq: entry.seq, err: (error as Error).message }, 'event skipped: planning failed');
    return { seq: entry.seq, eventId, outcomes: [] };
  }
}

/** Appends a batch's plans (unless a dry run) and reports each outcome's fate. */
async function settle(batch: Planned[], o: PlannerOptions): Promise<void> {
  let outcomes = batch.flatMap((p) => p.outcomes);
  // planned already (by the router, an earlier replay): left alone, so a failed action's dead letter is never appended twice
  const existing = await o.reader.plannedAlready(outcomes.map((x) => x.plan.delivery_id));
  for (const id of await plannedUnderOldIds(batch, o.reader)) existing.add(id);
  for (const x of outcomes) if (existing.has(x.plan.delivery_id)) o.onOutcome?.(x, 'existing');
  outcomes = outcomes.filter((x) => !existing.has(x.plan.delivery_id));
  if (o.dryRun) {
    for (const x of outcomes) o.onOutcome?.(x, 'planned');
  } else {
    const fresh = await appendBatch(batch, outcomes, o);
    outcomes.forEach((x, i) => o.onOutcome?.(x, fresh[i] ? 'planned' : 'existing'));
  }
  await o.onBatch?.(batch[batch.length - 1]!.seq, batch.length);
}

/**
 * The new ids of plans the log holds under their pre-namespace id (`preNamespaceId`: a
 * HuskyVoice event whose id starts with `op-`), planned from that same event: not from an
 * operator event, and of its type and call (where retention removed the event it came from,
 * that is all the log still says).
 */
async function plannedUnderOldIds(batch: Planned[], reader: LogReader): Promise<string[]> {
  const old = new Map<string, DeliveryPlanned>();
  for (const { plan } of batch.flatMap((p) => (p.call ? p.outcomes : []))) {
    const id = preNamespaceId(plan.event_id, plan.rule_id, plan.action_index, plan.generation);
    if (id !== null) old.set(id, plan);
  }
  if (old.size === 0) return [];
  const origins = await reader.deliveryOrigins([...old.keys()]);
  return [...origins].flatMap(([id, origin]) => {
    const plan = old.get(id)!;
    const same = !origin.from_operator && origin.event_type === plan.event_type && origin.call_id === (plan.call_id ?? null);
    return same ? [plan.delivery_id] : [];
  });
}

/**
 * One commit for the batch's plans, the dead letters of failed actions, and the checkpoint:
 * true where a plan was appended, false where it was a duplicate (planned meanwhile by another
 * process). If the log refuses the batch (`EntryRejectedError`), it is appended event by event,
 * and a refused event's plans go dead with the log's reason.
 */
async function appendBatch(batch: Planned[], outcomes: ActionOutcome[], o: PlannerOptions): Promise<boolean[]> {
  const checkpoint = (seq: number): Checkpoint | undefined => (o.checkpoint ? { name: o.checkpoint, seq } : undefined);
  try {
    return await appendOutcomes(outcomes, checkpoint(batch[batch.length - 1]!.seq), o.writer);
  } catch (error) {
    if (!(error instanceof EntryRejectedError)) throw error;
    const fresh: boolean[] = [];
    for (const one of batch) fresh.push(...(await appendAlone(one, outcomes.filter((x) => one.outcomes.includes(x)), checkpoint(one.seq), o)));
    return fresh;
  }
}

/** Appends each outcome's entries (a plan, and its dead letter when it failed); true where the plan was new. */
async function appendOutcomes(outcomes: ActionOutcome[], checkpoint: Checkpoint | undefined, writer: LogWriter): Promise<boolean[]> {
  const entries = outcomes.map(entriesOf);
  const appended = await writer.append(entries.flat(), checkpoint);
  let at = 0;
  return entries.map((e) => {
    const planned = appended[at]!;
    at += e.length;
    return !planned.duplicate;
  });
}

async function appendAlone(one: Planned, outcomes: ActionOutcome[], checkpoint: Checkpoint | undefined, o: PlannerOptions): Promise<boolean[]> {
  try {
    return await appendOutcomes(outcomes, checkpoint, o.writer);
  } catch (error) {
    if (!(error instanceof EntryRejectedError)) throw error;
    o.logger.warn({ event_id: one.eventId, seq: one.seq, err: error.message }, "the log refused this event's plans: they go dead");
    const plans = outcomes.map((x): NewEntry => ({ type: 'delivery.planned', data: x.plan }));
    try {
      const appended = await o.writer.append(refusedEntries(plans, error.message), checkpoint);
      return outcomes.map((_, i) => !appended[2 * i]!.duplicate);
    } catch (again) {
      if (!(again instanceof EntryRejectedError)) throw again;
      // not even the dead letters: record nothing for this event rather than stop planning
      o.logger.error({ event_id: one.eventId, seq: one.seq, err: again.message }, 'event skipped: its plans could not be recorded');
      await o.writer.append([], checkpoint);
      return outcomes.map(() => false);
    }
  }
}
