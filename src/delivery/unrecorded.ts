import type { Logger } from 'pino';
import type { LogWriter } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';
import { DEFAULTS } from '../config/defaults.js';

/** An attempt that ended but whose entries the log refused to take (yet). */
export interface HeldOutcome {
  deliveryId: string;
  sink: string;
  /** What `decide` made of the outcome: appended as is once the log takes it. */
  entries: NewEntry[];
  /** Already stripped to what we made ourselves, after the log refused the sink's details. */
  plain?: boolean;
}

/** Why delivery is paused while outcomes wait to be recorded. */
export interface RecordPause {
  /** Always `log_unavailable`: the log took no attempt since `since`. */
  code: 'log_unavailable';
  /** The storage error of the last try, e.g. `log commit failed: database or disk is full`. */
  reason: string;
  /** When the first outcome could not be recorded (ISO, from the dispatcher's clock). */
  since: string;
  /** Outcomes held in memory, waiting for a commit. */
  held: number;
}

/**
 * Attempt outcomes the log could not take (README "Delivery": an attempt is recorded when it ends).
 * A delivery whose attempt is not in the log still looks due, so sending it again at once
 * made a resend storm on a full disk. Instead its outcome is kept here, delivery pauses for
 * every sink (they share the one log: any attempt started now could not be recorded either),
 * and the outcomes are tried again on a backoff until a commit takes them, each exactly once.
 * At most one send per delivery is unrecorded at a time; if the process dies first, that
 * attempt is made again after restart (at-least-once).
 */
export class UnrecordedOutcomes {
  private readonly held = new Map<string, HeldOutcome>();
  /** Refused by the log even stripped (cannot happen with entries we make): never sent again in this process. */
  private readonly refused = new Set<string>();
  private pause: Omit<RecordPause, 'held'> | null = null;
  private failures = 0;
  private nextTryAt = 0;
  private trying: Promise<void> | null = null;

  constructor(
    private readonly commit: LogWriter,
    private readonly now: () => number,
    private readonly logger: Logger,
    /** Told when everything held is recorded: delivery may go on. */
    private readonly onRecorded: () => void,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Its outcome waits in memory: the delivery must not be attempted again meanwhile. */
  has(deliveryId: string): boolean {
    return this.held.has(deliveryId) || this.refused.has(deliveryId);
  }

  /** Null while nothing is held; else why every sink is paused. */
  status(): RecordPause | null {
    return this.pause && { ...this.pause, held: this.held.size };
  }

  /** An attempt's entries could not be appended: keep them, pause, and try later. */
  hold(outcome: HeldOutcome, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.held.set(outcome.deliveryId, outcome);
    if (!this.pause) {
      this.pause = { code: 'log_unavailable', reason, since: new Date(this.now()).toISOString() };
      this.failures = 0;
      this.schedule();
      this.logger.error(
        { delivery_id: outcome.deliveryId, sink: outcome.sink, err: reason },
        'an attempt could not be recorded: delivery is paused for every sink until the log takes it (see /readyz)',
      );
    } else {
      this.pause.reason = reason;
      this.logger.warn({ delivery_id: outcome.deliveryId, sink: outcome.sink, held: this.held.size, err: reason }, 'attempt outcome held until the log can be written');
    }
  }

  /** Another append just succeeded: the log is writable again, so try now instead of waiting. */
  writable(): void {
    if (this.held.size > 0) this.nextTryAt = 0;
  }

  /**
   * Starts a try to record what is held if its time has come (one at a time). Returns when
   * the next try is due (ms, dispatcher clock), for the dispatcher's timer; Infinity while a
   * try runs (a locked log holds it for the busy timeout: nothing to look at meanwhile).
   */
  tick(): number {
    if (this.held.size > 0 && !this.trying && this.now() >= this.nextTryAt) {
      this.trying = this.tryRecord().finally(() => (this.trying = null));
    }
    return this.trying ? Infinity : this.nextTryAt;
  }

  /**
   * Shutdown: tries to record what is held until `deadline` (wall-clock ms), at least once.
   * What is still held then is lost to the log: those attempts are made again after restart.
   */
  async flush(deadline: number): Promise<void> {
    await this.trying;
    for (let first = true; this.held.size > 0 && (first || Date.now() < deadline); first = false) {
      if (!first) await new Promise((resolve) => setTimeout(resolve, Math.min(DEFAULTS.delivery.shutdownRecordRetryMs, Math.max(0, deadline - Date.now()))));
      await this.tryRecord();
    }
    if (this.held.size > 0) {
      this.logger.error(
        { deliveries: [...this.held.keys()], err: this.pause?.reason },
        `${this.held.size} attempt outcome(s) could not be recorded before exit: those deliveries will be attempted again after restart (at-least-once)`,
      );
    }
  }

  /** One try for everything held: one group commit, so all of it is recorded or none. */
  private async tryRecord(): Promise<void> {
    const batch = [...this.held.values()];
    const results = await Promise.allSettled(batch.map((h) => this.commit.append(h.entries)));
    let lastError: unknown;
    results.forEach((result, i) => {
      const h = batch[i]!;
      if (result.status === 'fulfilled') {
        this.held.delete(h.deliveryId);
      } else if (isRejectedEntry(result.reason) && !h.plain) {
        // not a storage fault: these entries can never be appended as they are
        this.held.set(h.deliveryId, { ...h, entries: plainEntries(h.entries, result.reason), plain: true });
        this.nextTryAt = 0;
      } else if (isRejectedEntry(result.reason)) {
        this.held.delete(h.deliveryId);
        this.refused.add(h.deliveryId);
        this.logger.error({ delivery_id: h.deliveryId, err: String(result.reason) }, 'the log refuses this attempt\'s entries: it is not attempted again until restart');
      } else {
        lastError = result.reason;
      }
    });
    if (this.held.size === 0) {
      const since = this.pause?.since;
      this.pause = null;
      this.logger.info({ recorded: batch.length, paused_since: since }, 'held attempt outcomes recorded: delivery resumes');
      this.onRecorded();
      return;
    }
    if (lastError !== undefined) {
      if (this.pause) this.pause.reason = lastError instanceof Error ? lastError.message : String(lastError);
      this.failures += 1;
      this.schedule();
    }
  }

  private schedule(): void {
    const wait = Math.min(DEFAULTS.delivery.recordRetryMaxMs, DEFAULTS.delivery.recordRetryInitialMs * 2 ** this.failures);
    this.nextTryAt = this.now() + wait;
  }
}

function isRejectedEntry(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'entry_rejected';
}

/**
 * The same facts without anything a sink returned: what the log refused was in the sink's
 * answer (an error text, a result), never in the ids and counts we make ourselves.
 */
function plainEntries(entries: NewEntry[], error: unknown): NewEntry[] {
  const why = `the attempt's details could not be recorded: ${String((error as Error).message).slice(0, DEFAULTS.errors.detailChars)}`;
  return entries.map((entry): NewEntry => {
    if (entry.type === 'delivery.attempted') {
      const { error: err } = entry.data;
      return {
        type: entry.type,
        data: { ...entry.data, result: null, error: err && { kind: err.kind, code: 'unrecordable', message: why } },
      };
    }
    if (entry.type === 'delivery.dead') return { type: entry.type, data: { delivery_id: entry.data.delivery_id, reason: why } };
    return entry;
  });
}
