import type { Logger } from 'pino';
import { DEFAULTS } from '../config/defaults.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import { Wakeup } from '../delivery/wakeup.js';
import type { LoadedRules } from '../rules/types.js';
import type { RuleFailure } from './plan-event.js';
import { routablesOf, ROUTED_TYPES, warnSkipped } from './operator-events.js';
import { runPlanner, type Routable } from './planner.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import type { Entry } from '../log/types.js';

export const ROUTER_CHECKPOINT = 'router';

export interface RouterOptions {
  /** Told of each rule failure (README "When a rule fails at run time"), for `husky_relay_rule_errors_total{rule}`. */
  onRuleFailure?: (failure: RuleFailure) => void;
}

/**
 * The live planner: tails the log from its checkpoint and appends one `delivery.planned` per
 * matching action (`runPlanner`), for HuskyVoice events and the relay's operator events alike
 * (README "When a rule fails at run time", `routablesOf`). The checkpoint advances in the same transaction as the plans,
 * so a crash neither skips an event nor plans it twice (and a plan appended twice would be a
 * duplicate anyway: delivery ids are deterministic).
 */
export class Router {
  /** The checkpoint, once read (the first pass reads it). */
  private position: number | null = null;
  private stopped = false;
  private readonly wakeup: Wakeup;

  constructor(
    private readonly log: LogReader,
    private readonly commit: LogWriter,
    private readonly rules: () => LoadedRules | null,
    private readonly logger: Logger,
    private readonly onPlanned: () => void = () => {},
    private readonly options: RouterOptions = {},
  ) {
    this.wakeup = new Wakeup(() => this.drain(), Date.now, (error) =>
      logger.error({ err: (error as Error).message }, 'router could not append plans; will try again'),
    );
  }

  /** Something was appended: route it soon. Never runs two passes at once. */
  wake(): void {
    if (!this.stopped) this.wakeup.wake();
  }

  /** Routes until the log has nothing new. */
  private async drain(): Promise<void> {
    this.position ??= await this.log.checkpoint(ROUTER_CHECKPOINT);
    this.position = await runPlanner(this.position, {
      reader: this.log,
      writer: this.commit,
      events: (after) => this.routables(after),
      rules: this.rules,
      checkpoint: ROUTER_CHECKPOINT,
      stopped: () => this.stopped,
      logger: this.logger,
      onFailure: (failure, eventId, seq) => {
        this.logger.warn({ rule: failure.rule_id, event_id: eventId, seq, reason: failure.message }, `rule "${failure.rule_id}" failed on event ${eventId} (seq ${seq})`);
        this.options.onRuleFailure?.(failure);
      },
      onBatch: (last) => {
        this.position = last;
        this.onPlanned();
      },
    });
  }

  /**
   * The next batch of routed entries after `after`. A damaged entry (`DamagedEntryError`: its
   * data is not JSON, or its payload does not decrypt) fails the read of its whole batch: the entries before it are then read
   * one at a time and routed, and it is skipped with one warning naming its seq (the
   * checkpoint moves past it with them), so the events after it are still routed. An entry of
   * another shape than its type's is skipped so too (`routablesOf`).
   */
  private async routables(after: number): Promise<Routable[]> {
    const read = (from: number, limit: number) => this.log.read(from, { types: ROUTED_TYPES, limit });
    try {
      return await routablesOf(await read(after, DEFAULTS.routing.routerBatch), this.log, this.logger);
    } catch (error) {
      if (!(error instanceof DamagedEntryError) || error.seq <= after) throw error;
      const before: Entry[] = [];
      for (;;) {
        const next = await read(before.at(-1)?.seq ?? after, 1).catch((again: unknown) => {
          if (again instanceof DamagedEntryError && again.seq === error.seq) return [];
          throw again;
        });
        if (next.length === 0 || next[0]!.seq > error.seq) break; // (gone meanwhile: retention)
        before.push(next[0]!);
      }
      warnSkipped(this.logger, error);
      return [...(await routablesOf(before, this.log, this.logger)), { seq: error.seq, event: null }];
    }
  }

  /** Waits for a pass in progress, then routes no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.wakeup.stop();
  }
}
