import type { Logger } from 'pino';
import type { GroupCommit } from '../log/group-commit.js';
import type { Log } from '../log/log.js';
import type { DeliveryPlanned, Entry, NewEntry } from '../log/types.js';
import type { Envelope } from '../receive/envelope.js';
import type { LoadedRules } from '../rules/types.js';
import { planEvent } from './plan-event.js';

/**
 * Events routed per transaction. Planning runs on the event loop that answers webhooks, so
 * a batch is kept small enough (a few ms of template rendering) not to hold up an ack.
 */
const BATCH = 200;

export const ROUTER_CHECKPOINT = 'router';

/**
 * Tails the log from its checkpoint and appends one `delivery.planned` per matching action.
 * The checkpoint advances in the same transaction as the plans, so a crash neither skips
 * an event nor plans it twice (and a plan appended twice would be a duplicate anyway:
 * delivery ids are deterministic).
 */
export class Router {
  private position: number;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly log: Log,
    private readonly commit: GroupCommit,
    private readonly rules: () => LoadedRules | null,
    private readonly logger: Logger,
    private readonly onPlanned: () => void = () => {},
  ) {
    this.position = log.checkpoint(ROUTER_CHECKPOINT);
  }

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
    let planned = this.position;
    let committing: Promise<void> | null = null;
    let failed: Error | null = null;
    try {
      for (;;) {
        const rules = this.rules();
        if (!rules || this.stopped) break;
        const events = this.log.read(planned, { types: ['event.received'], limit: BATCH });
        if (events.length === 0) break;
        const plans = events.flatMap((entry) => this.plan(rules, entry));
        const last = events[events.length - 1]!.seq;
        await committing;
        if (failed) throw failed;
        committing = this.commit
          .append(
            plans.map((data): NewEntry => ({ type: 'delivery.planned', data })),
            { name: ROUTER_CHECKPOINT, seq: last },
          )
          .then(
            () => {
              this.position = last;
              if (plans.length > 0) this.onPlanned();
            },
            // held until awaited: a rejection nobody listens to yet would end the process
            (error: Error) => {
              failed = error;
            },
          );
        planned = last;
        // let the commit start (group commit begins on setImmediate) before planning more
        await new Promise((resolve) => setImmediate(resolve));
      }
      await committing;
      if (failed) throw failed;
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'router could not append plans; will try again');
    }
  }

  private plan(rules: LoadedRules, entry: Entry): DeliveryPlanned[] {
    if (entry.type !== 'event.received') return [];
    let envelope: Envelope;
    try {
      envelope = JSON.parse(entry.data.body) as Envelope;
    } catch {
      return []; // cannot happen: only valid envelopes are logged
    }
    return planEvent(rules, { seq: entry.seq, received_at: entry.data.received_at, envelope });
  }

  /** Waits for a pass in progress, then routes no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
