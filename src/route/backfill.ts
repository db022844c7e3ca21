import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { EntryRejectedError } from '../errors.js';
import type { SqliteLog } from '../log/sqlite/sqlite-log.js';
import type { DeliveryPlanned, EventReceived, NewEntry } from '../log/types.js';
import type { Envelope } from '../receive/envelope.js';
import { refusedEntries } from './not-planned.js';
import { entriesOf, explainEvent, type ActionOutcome, type PlannableEvent } from './plan-event.js';
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
export async function backfill(log: SqliteLog, rules: LoadedRules, options: BackfillOptions = {}): Promise<BackfillResult> {
  const through = log.lastSeq();
  const where = [`type = 'event.received'`, 'seq > ?', 'seq <= ?'];
  const params: unknown[] = [];
  const filter = (clause: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  filter('at >= ?', options.since);
  filter('at < ?', options.until);
  filter(`data ->> '$.event_type' GLOB ?`, options.type);
  const read = log.db.prepare(`SELECT seq, data FROM entries WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${DEFAULTS.routing.backfillBatch}`);
  const exists = log.db.prepare(`SELECT 1 FROM entries WHERE dedupe_key = ?`).pluck();

  const byRule: Record<string, RuleCount> = {};
  for (const rule of rules.rules) {
    if (options.rule === undefined || rule.id === options.rule) byRule[rule.id] = { planned: 0, existing: 0, failed: 0 };
  }
  const result: BackfillResult = { events: 0, through_seq: through, by_rule: byRule, planned: 0 };
  let after = 0;
  for (;;) {
    const rows = read.all(after, through, ...params) as { seq: number; data: string }[];
    if (rows.length === 0) break;
    const fresh: ActionOutcome[] = [];
    for (const row of rows) {
      const event = readEvent(row);
      if (!event) continue;
      for (const verdict of explainEvent(rules, event, { generation: options.generation, onlyRule: options.rule })) {
        if (!verdict.matched) continue;
        const count = byRule[verdict.rule_id]!;
        for (const outcome of verdict.actions) {
          if (exists.get(`delivery:${outcome.plan.delivery_id}`) !== undefined) count.existing += 1;
          else fresh.push(outcome);
        }
      }
    }
    const appended = options.dryRun ? fresh.map(() => false) : appendPlans(log, fresh);
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

/** An `event.received` row as planning reads it; null (skipped) when its body is not JSON. */
function readEvent(row: { seq: number; data: string }): PlannableEvent | null {
  try {
    const data = JSON.parse(row.data) as EventReceived;
    return { seq: row.seq, received_at: data.received_at, envelope: JSON.parse(data.body) as Envelope };
  } catch {
    return null;
  }
}

/**
 * One transaction per batch; true where the plan was appended, false where it was a duplicate.
 * A failed action appends its plan and its dead letter. A dead letter of a duplicate is not
 * appended (the delivery planned first stands).
 */
function appendPlans(log: SqliteLog, outcomes: ActionOutcome[]): boolean[] {
  if (outcomes.length === 0) return [];
  try {
    return appendTogether(log, outcomes);
  } catch (error) {
    if (!(error instanceof EntryRejectedError)) throw error;
    // one by one, so only the refused ones go dead (as the router does)
    return outcomes.map((o) => {
      try {
        return appendTogether(log, [o])[0]!;
      } catch (again) {
        if (!(again instanceof EntryRejectedError)) throw again;
        return !log.append(refusedEntries(entriesOf(o).slice(0, 1), again.message))[0]!.duplicate;
      }
    });
  }
}

/** One transaction: a failed action is never left planned without its dead letter. */
function appendTogether(log: SqliteLog, outcomes: ActionOutcome[]): boolean[] {
  return log.db.transaction(() => {
    const plans = log.append(outcomes.map((o): NewEntry => ({ type: 'delivery.planned', data: o.plan })));
    const dead = outcomes.flatMap((o, i) => (plans[i]!.duplicate ? [] : entriesOf(o).slice(1)));
    if (dead.length > 0) log.append(dead);
    return plans.map((r) => !r.duplicate);
  })();
}
