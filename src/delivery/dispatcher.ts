import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { LogWriter } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';
import { notPlannedReason } from '../route/not-planned.js';
import type { LoadedRules } from '../rules/types.js';
import { createSink } from '../sinks/create-sink.js';
import type { AttemptOutcome, RetryPolicy, Sink, SinkConfig, SinkEnvironment } from '../sinks/types.js';
import { decide } from './lifecycle.js';
import type { DueDelivery, ProjectionReader } from '../project/reader.js';
import { reportAttempt } from './report-attempt.js';

import { fitRateLimit, newSinkState, type SinkState } from './sink-state.js';
import { UnrecordedOutcomes, type RecordPause } from './unrecorded.js';
import { DEFAULTS } from '../config/defaults.js';

export interface DispatcherOptions {
  /** The projection reads it picks due deliveries with. */
  projections: ProjectionReader;
  commit: LogWriter;
  env: SinkEnvironment;
  logger: Logger;
  /** Clock in ms. Tests inject one. (Default: Date.now) */
  now?: () => number;
  random?: () => number;
  /** Looks for due work at least this often, also catching entries other processes append. (Default: 500 ms) */
  pollMs?: number;
  /** Told of every attempt that ends, for metrics. */
  observe?: (sink: string, outcome: string, seconds: number) => void;
}

/** A sink as the current rules file configures it. */
interface SinkRuntime {
  sink: Sink;
  config: SinkConfig;
  policy: RetryPolicy;
  concurrency: number;
  state: SinkState;
}

/**
 * Executes planned deliveries: picks due ones per sink within its concurrency and rate
 * limit, keeps per-key order, makes one attempt each, and appends what happened (the
 * attempt, and a dead letter when it is final). All state it decides from is in the log.
 */
export class Dispatcher {
  private readonly due: ProjectionReader;
  /** A look is running: a wake-up meanwhile asks for another once it ends. */
  private looking = false;
  private lookAgain = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private sinks = new Map<string, SinkRuntime>();
  /** By sink name, for every sink ever configured: a reload neither forgets nor resets it. */
  private readonly states = new Map<string, SinkState>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Aborted when the dispatcher stops; each attempt links its own signal to it (see `attempt`). */
  private readonly abort = new AbortController();
  /** Outcomes the log could not take yet: while any is held, no attempt starts. */
  private readonly unrecorded: UnrecordedOutcomes;

  constructor(private readonly o: DispatcherOptions) {
    // one listener per attempt in flight, bounded by the sinks' concurrency: not a leak
    setMaxListeners(0, this.abort.signal);
    this.due = o.projections;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.unrecorded = new UnrecordedOutcomes(o.commit, this.now, o.logger, () => this.wake());
  }

  /** New rules: sinks are built again; attempts in flight finish on the old ones. */
  setRules(rules: LoadedRules): void {
    const next = new Map<string, SinkRuntime>();
    for (const [name, loaded] of Object.entries(rules.sinks)) {
      if (!loaded.enabled) continue;
      const { config } = loaded;
      next.set(name, {
        sink: createSink(name, config, this.o.env, {
          now: this.now,
          write: (line) => this.o.logger.info({ sink: name, delivery: JSON.parse(line) as unknown }, 'log sink'),
        }),
        config,
        policy: { ...rules.retry, ...config.retry },
        concurrency: config.concurrency ?? DEFAULTS.delivery.concurrency,
        state: this.stateOf(name, config),
      });
    }
    this.sinks = next;
    this.wake();
  }

  private stateOf(name: string, config: SinkConfig): SinkState {
    let state = this.states.get(name);
    if (!state) this.states.set(name, (state = newSinkState()));
    fitRateLimit(state, config.rate_limit, this.now());
    return state;
  }

  /** Something may be due: look soon (coalesced). */
  wake(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pass();
    });
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    if (this.looking) {
      this.lookAgain = true;
      return;
    }
    this.looking = true;
    try {
      const now = this.now();
      const poll = now + (this.o.pollMs ?? DEFAULTS.delivery.pollMs);
      // while an outcome waits to be recorded every sink is paused: only the recording is tried
      const nextLook = this.unrecorded.size > 0 ? Math.min(poll, Math.max(now, this.unrecorded.tick())) : await this.startDue(now, poll);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.wake(), Math.max(1, nextLook - this.now()));
      this.timer.unref();
    } catch (error) {
      this.o.logger.error({ err: (error as Error).message }, 'could not look for due deliveries; will look again');
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.wake(), this.o.pollMs ?? DEFAULTS.delivery.pollMs);
      this.timer.unref();
    } finally {
      this.looking = false;
      if (this.lookAgain) {
        this.lookAgain = false;
        this.wake();
      }
    }
  }

  /** Starts what is due on every sink; returns when to look again (ms), at the latest `nextLook`. */
  private async startDue(now: number, nextLook: number): Promise<number> {
    for (const [name, rt] of this.sinks) {
      if (rt.state.pausedUntil > now) {
        nextLook = Math.min(nextLook, rt.state.pausedUntil);
        continue;
      }
      const free = rt.concurrency - rt.state.sending;
      if (free > 0) {
        for (const d of await this.due.due(name, now, free + rt.state.inFlight.size)) {
          if (rt.state.inFlight.has(d.delivery_id) || this.unrecorded.has(d.delivery_id)) continue;
          if (rt.state.sending >= rt.concurrency) break;
          if (rt.state.bucket && !rt.state.bucket.tryTake(now)) {
            nextLook = Math.min(nextLook, now + rt.state.bucket.waitMs(now));
            break;
          }
          this.start(rt, d);
        }
      }
      const retryAt = await this.due.nextRetryAt(name);
      if (retryAt !== null && retryAt > now) nextLook = Math.min(nextLook, retryAt);
    }
    return nextLook;
  }

  private start(rt: SinkRuntime, d: DueDelivery): void {
    // counted now, not once the attempt has read its request: the next delivery of this look must see it
    rt.state.sending += 1;
    let sent = false;
    const run = this.attempt(rt, d, () => (sent = true))
      .catch((error: Error) => {
        // nothing was sent (reading the plan failed): the delivery stays due and the next look tries it
        this.o.logger.error({ delivery_id: d.delivery_id, err: error.message }, 'could not start an attempt');
      })
      .finally(() => {
        rt.state.inFlight.delete(d.delivery_id);
        if (sent) this.wake();
      });
    rt.state.inFlight.set(d.delivery_id, run);
  }

  private async attempt(rt: SinkRuntime, d: DueDelivery, sent: () => void): Promise<void> {
    let request: Record<string, unknown>;
    let keyState: Record<string, unknown> | null;
    try {
      [request, keyState] = await Promise.all([this.due.request(d), this.due.keyState(d)]);
    } catch (error) {
      rt.state.sending -= 1;
      throw error;
    }
    const attempt = d.attempts + 1;
    const started = performance.now();
    // The attempt's own signal, aborted if the dispatcher stops meanwhile (sinks combine it with
    // their timeout). Combining the dispatcher's long-lived signal itself left ~60 bytes an
    // attempt in it under Node 20: a heap that grew all through the soak.
    const stop = new AbortController();
    const stopping = () => stop.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) stopping();
    else this.abort.signal.addEventListener('abort', stopping, { once: true });
    let outcome: AttemptOutcome;
    try {
      // a delivery that could not be planned (SPEC §10) fails again with its reason; nothing is sent
      const notPlanned = notPlannedReason(request);
      outcome = notPlanned
        ? { outcome: 'failed', error: { kind: 'permanent', code: notPlanned.code, message: notPlanned.message } }
        : await rt.sink.send(request, { deliveryId: d.delivery_id, attempt, keyState, eventType: d.event_type, signal: stop.signal });
    } catch (error) {
      // a sink never throws for a delivery failure; if one does (a bug), back off like a failure, never resend at once
      this.o.logger.error({ delivery_id: d.delivery_id, sink: rt.sink.name, err: (error as Error).name }, 'sink failed unexpectedly');
      outcome = { outcome: 'failed', error: { kind: 'transient', code: 'sink_error', message: 'the sink failed unexpectedly (see the relay log)' } };
    } finally {
      this.abort.signal.removeEventListener('abort', stopping);
      rt.state.sending -= 1;
      sent();
      this.wake(); // a slot is free while this attempt is being recorded
    }
    const durationMs = performance.now() - started;
    const rateLimited = outcome.outcome === 'failed' && outcome.error.kind === 'rate_limited';
    rt.state.rateLimitedInARow = rateLimited ? rt.state.rateLimitedInARow + 1 : 0;
    const entries = decide(outcome, d, {
      deliveryId: d.delivery_id,
      attempt,
      rateLimitedInARow: rt.state.rateLimitedInARow,
      durationMs,
      policy: rt.policy,
      now: this.now(),
      random: this.random(),
    });
    const first = entries[0]!;
    if (rateLimited && first.type === 'delivery.attempted' && first.data.retry_at) {
      rt.state.pausedUntil = Date.parse(first.data.retry_at);
    }
    const recorded = await this.record(rt.sink.name, d.delivery_id, entries);
    const kind = outcome.outcome === 'succeeded' ? 'succeeded' : entries.length > 1 ? 'dead' : outcome.error.kind;
    this.o.observe?.(rt.sink.name, kind, durationMs / 1000);
    reportAttempt(this.o.logger, { delivery_id: d.delivery_id, sink: rt.sink.name, attempt, outcome: kind, ms: Math.round(durationMs), recorded }, outcome);
  }

  /**
   * Appends an attempt's entries. If the log refuses them (full, read-only, locked), they are
   * held and recorded later, once (see `UnrecordedOutcomes`); false then.
   */
  private async record(sink: string, deliveryId: string, entries: NewEntry[]): Promise<boolean> {
    try {
      await this.o.commit.append(entries);
      this.unrecorded.writable();
      return true;
    } catch (error) {
      this.unrecorded.hold({ deliveryId, sink, entries }, error);
      this.wake();
      return false;
    }
  }

  /**
   * Sinks paused because attempts cannot be recorded, by name, with the reason; empty while
   * the log takes them. (`/metrics` `husky_relay_sink_paused`)
   */
  paused(): Record<string, RecordPause> {
    const pause = this.unrecorded.status();
    if (!pause) return {};
    return Object.fromEntries([...this.sinks.keys()].map((name) => [name, pause]));
  }

  /** Attempts in flight, for shutdown and status. */
  inFlight(): number {
    let n = 0;
    for (const state of this.states.values()) n += state.inFlight.size;
    return n;
  }

  /**
   * Starts nothing new; lets running attempts finish and be recorded for up to `graceMs`,
   * then aborts the rest (a sink answers an abort as a transient failure, also recorded).
   * Outcomes the log could not take are tried until the grace period ends; any still held
   * then are named in the log and will be attempted again after restart.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const deadline = Date.now() + graceMs;
    // every sink's, also one a reload removed while its attempts ran
    const running = [...this.states.values()].flatMap((state) => [...state.inFlight.values()]);
    if (running.length > 0) {
      const all = Promise.allSettled(running);
      const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
      if ((await Promise.race([all, grace])) === 'late') {
        this.abort.abort();
        await all;
      }
    }
    await this.unrecorded.flush(deadline);
  }
}
