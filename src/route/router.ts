import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { LogUnavailableError } from '../errors.js';
import type { EntryOf, LogReader, LogWriter } from '../log/seam.js';
import type { Entry, NewEntry } from '../log/types.js';
import type { Envelope } from '../receive/envelope.js';
import type { LoadedRules } from '../rules/types.js';
import { refusedEntries } from './not-planned.js';
import { planEntries, plannableEvent, type RuleFailure } from './plan-event.js';
import { DEFAULTS } from '../config/defaults.js';

export const ROUTER_CHECKPOINT = 'router';

export interface RouterOptions {
  /** Told of each rule failure (SPEC §10), for `husky_relay_rule_errors_total{rule}`. */
  onRuleFailure?: (failure: RuleFailure) => void;
}

/** One event's entries, and the checkpoint it advances. */
interface Planned {
  seq: number;
  eventId: string;
  entries: NewEntry[];
}

/**
 * Tails the log from its checkpoint and appends one `delivery.planned` per matching action.
 * The checkpoint advances in the same transaction as the plans, so a crash neither skips
 * an event nor plans it twice (and a plan appended twice would be a duplicate anyway:
 * delivery ids are deterministic). No event can stop it: a rule that fails on an event plans
 * a delivery that goes dead with the reason, and entries the log refuses are replaced by such
 * dead deliveries, event by event, so the events behind it are routed.
 */
export class Router {
  /** The checkpoint, once read (the first pass reads it). */
  private position: number | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly log: LogReader,
    private readonly commit: LogWriter,
    private readonly rules: () => LoadedRules | null,
    private readonly logger: Logger,
    private readonly onPlanned: () => void = () => {},
    private readonly options: RouterOptions = {},
  ) {}

  /** Something was appended: route it soon. Never runs two passes at once. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /**
   * Routes until the log has nothing new. The next batch is planned while the previous one
   * commits, but appended only once that commit has returned: batches land in order, and a
   * failed one stops the pass before anything after it is appended.
   */
  private async drain(): Promise<void> {
    this.position ??= await this.log.checkpoint(ROUTER_CHECKPOINT);
    let planned = this.position;
    let committing: Promise<void> | null = null;
    try {
      for (;;) {
        const rules = this.rules();
        if (!rules || this.stopped) break;
        const events = await this.log.read(planned, { types: ['event.received'], limit: DEFAULTS.routing.routerBatch });
        if (events.length === 0) break;
        const batch: Planned[] = [];
        for (const entry of events) {
          batch.push(this.plan(rules, entry));
          // planning shares the thread that answers webhooks: let their acks through
          await yieldToLoop();
          if (this.stopped) break;
        }
        if (batch.length === 0) break;
        await committing;
        committing = this.append(batch);
        // held until awaited: a rejection nobody listens to yet would end the process
        committing.catch(() => {});
        planned = batch[batch.length - 1]!.seq;
      }
      await committing;
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'router could not append plans; will try again');
    }
  }

  /** Appends a batch in one commit; entries the log refuses are isolated event by event. */
  private async append(batch: Planned[]): Promise<void> {
    try {
      await this.commitPlans(batch.flatMap((p) => p.entries), batch[batch.length - 1]!.seq);
    } catch (error) {
      if (error instanceof LogUnavailableError) throw error;
      for (const one of batch) await this.appendAlone(one);
    }
  }

  private async appendAlone(one: Planned): Promise<void> {
    try {
      await this.commitPlans(one.entries, one.seq);
      return;
    } catch (error) {
      if (error instanceof LogUnavailableError) throw error;
      this.logger.warn({ event_id: one.eventId, seq: one.seq, err: (error as Error).message }, 'the log refused this event\'s plans: they go dead');
      const dead = refusedEntries(one.entries, (error as Error).message);
      try {
        await this.commitPlans(dead, one.seq);
      } catch (again) {
        if (again instanceof LogUnavailableError) throw again;
        // not even the dead letters: record nothing for this event rather than stop routing
        this.logger.error({ event_id: one.eventId, seq: one.seq, err: (again as Error).message }, 'event skipped: its plans could not be recorded');
        await this.commitPlans([], one.seq);
      }
    }
  }

  private async commitPlans(entries: NewEntry[], last: number): Promise<void> {
    await this.commit.append(entries, { name: ROUTER_CHECKPOINT, seq: last });
    this.position = last;
    if (entries.length > 0) this.onPlanned();
  }

  private plan(rules: LoadedRules, entry: Entry): Planned {
    const skip = { seq: entry.seq, eventId: '', entries: [] };
    if (entry.type !== 'event.received') return skip;
    const event = plannableEvent(entry as EntryOf<'event.received'>);
    if (!event) {
      this.logger.warn({ seq: entry.seq }, 'event skipped: its body is not JSON');
      return skip;
    }
    const { envelope } = event;
    let planned: ReturnType<typeof planEntries>;
    try {
      planned = planEntries(rules, event);
    } catch (error) {
      // planning catches every rule's failure itself; this is a bug of ours, and must not stop routing
      this.logger.error({ event_id: envelope.event_id, seq: entry.seq, err: (error as Error).message }, 'event skipped: planning failed');
      return skip;
    }
    const { entries, failures } = planned;
    for (const failure of failures) {
      this.logger.warn({ rule: failure.rule_id, event_id: envelope.event_id, seq: entry.seq, reason: failure.message }, `rule "${failure.rule_id}" failed on event ${envelope.event_id}`);
      this.options.onRuleFailure?.(failure);
    }
    return { seq: entry.seq, eventId: envelope.event_id, entries };
  }

  /** Waits for a pass in progress, then routes no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
