import { silentLogger } from '../logger.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { DeliveryPlanned } from '../log/types.js';
import { routableEvent, runPlanner } from './planner.js';
import type { LoadedRules } from '../rules/types.js';
import type { ProgressReport } from '../project/rebuild/scratch.js';
import { DEFAULTS } from '../config/defaults.js';
import { WriteInterruptedError } from '../errors.js';
import { misshapenEntryError } from '../log/entry-shape.js';

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
  /**
   * Ctrl-C: planning stops after the event at hand, the events after it are left unplanned, and the
   * result says where it stopped (`stopped`). A batch is appended whole or not at all. What it
   * stops after depends on the log's writes:
   * - where they heed this signal (a log opened with it as its `interrupt` on SQLite, as `replay`
   *   opens it: `Store.writesHeedInterrupt`), every append not begun when it aborts is given up
   *   (the batch at hand's, the one before if its append had not begun, one waiting for another
   *   process's write lock): it stops after the last batch appended; with none, the
   *   `WriteInterruptedError` is thrown (nothing was planned);
   * - where they do not (PostgreSQL, a log opened without it), the batch at hand is appended: it
   *   stops after the event at hand.
   * A dry run appends nothing: it stops after the event at hand, its plans reported.
   */
  signal?: AbortSignal;
  /** After each batch is appended (tests use it to append events meanwhile). */
  onBatch?: () => void | Promise<void>;
}

export interface RuleCount {
  /** Deliveries planned now (or that would be, in a dry run). */
  planned: number;
  /** Deliveries the rule plans that were in the log already. */
  existing: number;
  /** Of `planned`: deliveries planned dead because their action failed (README "When a rule fails at run time"). */
  failed: number;
}

export interface BackfillResult {
  /** Events read (those the filter let through). */
  events: number;
  /** The log's last seq when the backfill started: later events are the router's. */
  through_seq: number;
  by_rule: Record<string, RuleCount>;
  planned: number;
  /** Of `events`: events skipped because their call was erased (README "Personal data"). */
  erased: number;
  /** Set when `signal` stopped it before the last event: where, and the first event not read. */
  stopped?: BackfillStop;
  /**
   * Set when an error (a damaged or misshapen entry, README "Faults") stopped it after at least
   * one batch was appended (never in a dry run): `after_seq` is the last event of the last batch
   * appended; the counts above are those of the batches appended. The caller says so, then
   * throws `error`. With nothing appended the error is thrown as it came.
   */
  halted?: { after_seq: number; error: unknown };
}

/** Where an interrupted backfill stopped. */
export interface BackfillStop {
  /** The last event planned (its plans appended, unless a dry run). */
  after_seq: number;
  /** The first event the filter lets through after it, which was not read. */
  next: { seq: number; at: string };
  /**
   * Whether no event read (seq ≤ `after_seq`, through the filter) was received at or after `next.at`, so
   * `--since next.at` with the same filter reads exactly the events not read (false: the clock went back, or they share an instant).
   */
  since_next_is_exact: boolean;
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
  const result: BackfillResult = { events: 0, through_seq: through, by_rule: byRule, planned: 0, erased: 0 };
  let appended = 0; // the last event of the last batch appended
  let gaveUp = false;
  const planning = runPlanner(0, {
    reader: log.reader,
    writer: log.writer,
    events: async (after) => {
      const entries = await log.reader.events({ ...filter, afterSeq: after });
      // an event rewritten as JSON of another shape stops replay as a damaged one does (README "Faults")
      for (const entry of entries) {
        const misshapen = misshapenEntryError(entry);
        if (misshapen) throw misshapen;
      }
      const routable = entries.map((entry) => routableEvent(entry, silentLogger));
      result.erased += routable.filter((r) => r.erased).length;
      return routable;
    },
    rules: () => rules,
    generation: options.generation,
    stopped: () => options.signal?.aborted === true,
    onlyRule: options.rule,
    dryRun: options.dryRun,
    logger: silentLogger, // replay reports in its own table; the planner's lines are the relay's
    onOutcome: (outcome, fate) => {
      const count = byRule[outcome.plan.rule_id]!;
      if (fate === 'existing') return void (count.existing += 1);
      count.planned += 1;
      if (!outcome.ok) count.failed += 1;
      result.planned += 1;
      options.onPlan?.(outcome.plan);
    },
    onBatch: async (last, events) => {
      appended = last;
      result.events += events;
      options.onProgress?.({ done: last, total: through });
      await options.onBatch?.();
    },
  });
  // what a Ctrl-C gave up was never appended: the batches before it stand;
  // an error after batches were appended: they stand, and the result says which (a dry run appended none)
  let halted: unknown;
  const last = await planning.catch((error: unknown) => {
    if (appended === 0 || (options.dryRun && !(error instanceof WriteInterruptedError))) throw error;
    if (error instanceof WriteInterruptedError) gaveUp = true;
    else halted = error;
    return appended;
  });
  if (halted !== undefined) return { ...result, halted: { after_seq: last, error: halted } };
  if (options.signal?.aborted || gaveUp) {
    const [next] = await log.reader.events({ ...filter, afterSeq: last, limit: 1 });
    if (next) {
      const later = await log.reader.events({ ...filter, since: next.at, afterSeq: 0, throughSeq: last, limit: 1 });
      result.stopped = { after_seq: last, next: { seq: next.seq, at: next.at }, since_next_is_exact: later.length === 0 };
      return result;
    }
  }
  options.onProgress?.({ done: through, total: through });
  return result;
}
