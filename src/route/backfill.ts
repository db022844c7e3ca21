import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { EntryRejectedError } from '../errors.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { DeliveryPlanned, NewEntry } from '../log/types.js';
import { refusedEntries } from './not-planned.js';
import { entriesOf, explainEvent, plannableEvent, type ActionOutcome } from './plan-event.js';
import type { LoadedRules } from '../rules/types.js';
import type { ProgressReport } from '../project/rebuild/scratch.js';
import { DEFAULTS } from '../config/defaults.js';

export interface BackfillFilter {
  /** Events received at or after this ISO time (the entry's `at`). */
  since?: string;
  /** Events received before this ISO time (the entry's `at`). */
  until?: string;
  /** Only this event type (a glob, like `on:`: `call.*`). */
  type?: string;
  /** Only this rule. */
  rule?: string;
}

export interface BackfillOptions extends BackfillFilter {
  /** Plan nothing; report what would be planned. */
  dryRun?: boolean;
  /** `--force`: plan again under this generation, so every matching action is delivered again. */
  generation?: string;
  /** Each delivery that does not exist yet, as it is planned (or would be, in a dry run). */
  onPlan?: (plan: DeliveryPlanned) => void;
  onProgress?: (progress: ProgressReport) => void;
  /** After each batch is appended (tests use it to append events meanwhile). */
  onBatch?: () => void | Promise<void>;
}

export interface RuleCount {
  /** Deliveries planned now (or that would be, in a dry run). */
  planned: number;
  /** Deliveries the rule plans that were in the log already. */
  existing: number;
  /** Of `planned`: deliveries planned dead because their action failed (SPEC §10). */
  failed: number;
}

export interface BackfillResult {
  /** Events read (those the filter let through). */
  events: number;
  /** The log's last seq when the backfill started: later events are the router's. */
  through_seq: number;
  by_rule: Record<string, RuleCount>;
  planned: number;
}

/**
 * Runs the current rules over past `event.received` entries and plans the deliveries that do
 * not exist yet. Delivery ids are deterministic, so a delivery already planned (by the router,
 * or by an earlier backfill) is left alone; and if the router plans one in between, the log
 * refuses the second copy (dedupe_key). Only appends: safe beside a running `serve`, whose
 * dispatcher picks the new plans up on its next poll.
 */
export async function backfill(log: { reader: LogReader; writer: LogWriter }, rules: LoadedRules, options: BackfillOptions = {}): Promise<BackfillResult> {
  const through = await log.reader.lastSeq();
  const filter = { since: options.since, until: options.until, eventType: options.type, throughSeq: through, limit: DEFAULTS.routing.backfillBatch };

  const byRule: Record<string, RuleCount> = {};
  for (const rule of rules.rules) {
    if (options.rule === undefined || rule.id === options.rule) byRule[rule.id] = { planned: 0, existing: 0, failed: 0 };
  }
  const result: BackfillResult = { events: 0, through_seq: through, by_rule: byRule, planned: 0 };
  let after = 0;
  for (;;) {
    const rows = await log.reader.events({ ...filter, afterSeq: after });
    if (rows.length === 0) break;
    const matched: ActionOutcome[] = [];
    for (const row of rows) {
      const event = plannableEvent(row);
      if (!event) continue;
      for (const verdict of explainEvent(rules, event, { generation: options.generation, onlyRule: options.rule })) {
        if (verdict.matched) matched.push(...verdict.actions);
      }
    }
    const planned = await log.reader.plannedAlready(matched.map((o) => o.plan.delivery_id));
    const fresh: ActionOutcome[] = [];
    for (const outcome of matched) {
      if (planned.has(outcome.plan.delivery_id)) byRule[outcome.plan.rule_id]!.existing += 1;
      else fresh.push(outcome);
    }
    const appended = options.dryRun ? fresh.map(() => false) : await appendPlans(log.writer, fresh);
    fresh.forEach((outcome, i) => {
      const count = byRule[outcome.plan.rule_id]!;
      // a duplicate here: the router (or another replay) planned it since we looked
      if (!options.dryRun && !appended[i]) return void (count.existing += 1);
      count.planned += 1;
      if (!outcome.ok) count.failed += 1;
      result.planned += 1;
      options.onPlan?.(outcome.plan);
    });
    result.events += rows.length;
    after = rows[rows.length - 1]!.seq;
    options.onProgress?.({ done: after, total: through });
    await options.onBatch?.();
    await yieldToLoop();
  }
  options.onProgress?.({ done: through, total: through });
  return result;
}

/**
 * Appends the plans, one transaction per batch; true where the plan was appended, false where
 * it was a duplicate (the router, or another replay, planned it since we looked). The dead
 * letters of failed actions follow in a second append, for the plans that were new: were the
 * process to die in between, the dispatcher finds the plan marked not planned and records its
 * dead letter on the first look (see `not-planned.ts`), so none is ever left to be sent.
 */
async function appendPlans(writer: LogWriter, outcomes: ActionOutcome[]): Promise<boolean[]> {
  if (outcomes.length === 0) return [];
  const deadAlready = new Set<number>();
  let fresh: boolean[];
  try {
    fresh = (await writer.append(outcomes.map((o): NewEntry => ({ type: 'delivery.planned', data: o.plan })))).map((r) => !r.duplicate);
  } catch (error) {
    if (!(error instanceof EntryRejectedError)) throw error;
    // one by one, so only the refused ones go dead (as the router does)
    fresh = [];
    for (const [i, o] of outcomes.entries()) {
      try {
        fresh.push(!(await writer.append(entriesOf(o).slice(0, 1)))[0]!.duplicate);
      } catch (again) {
        if (!(again instanceof EntryRejectedError)) throw again;
        // refusedEntries appends the plan and its dead letter together
        fresh.push(!(await writer.append(refusedEntries(entriesOf(o).slice(0, 1), again.message)))[0]!.duplicate);
        deadAlready.add(i);
      }
    }
  }
  const dead = outcomes.flatMap((o, i) => (fresh[i] && !o.ok && !deadAlready.has(i) ? entriesOf(o).slice(1) : []));
  if (dead.length > 0) await writer.append(dead);
  return fresh;
}
