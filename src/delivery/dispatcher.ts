import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { DEFAULTS } from '../config/defaults.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';
import type { ProjectionReader } from '../project/reader.js';
import type { LoadedRules } from '../rules/types.js';
import { createSink, credentialsOf } from '../sinks/create-sink.js';
import type { SinkEnvironment } from '../sinks/types.js';
import { runAttempt, type AttemptEnded } from './attempt.js';
import { DueIndex } from './due-index.js';
import type { ScheduledDelivery } from './schedule.js';
import { SinkPauses } from './sink-pauses.js';
import { SinkRuntime } from './sink-runtime.js';
import { UnrecordedOutcomes, type RecordPause } from './unrecorded.js';
import { Wakeup } from './wakeup.js';

export interface DispatcherOptions {
  /** The log's tail: what was planned, attempted, re-driven, paused or resumed since the dispatcher last looked. */
  reader: LogReader;
  /** The open deliveries and paused sinks at start, and what each attempt is made from. */
  projections: ProjectionReader;
  commit: LogWriter;
  env: SinkEnvironment;
  logger: Logger;
  /** Clock in ms. Tests inject one. (Default: Date.now) */
  now?: () => number;
  random?: () => number;
  /** Looks at least this often, also for entries other processes append. (Default: `DEFAULTS.delivery.pollMs`) */
  pollMs?: number;
  /** A sink paused for its credentials probes this often. (Default: `DEFAULTS.alerts.probeIntervalMs`) */
  probeMs?: number;
}

/** Why a sink starts no attempt: the log cannot record attempts, or its credentials were refused (README "When a rule fails at run time"). */
export type SinkPause = RecordPause | { code: string; reason: string; since: string };

/**
 * Executes planned deliveries (README "Delivery"). It keeps the due index in memory (`DueIndex`),
 * loaded once from the projection and then kept up to date from the log's tail: a look costs
 * what the new entries cost, not a scan of every open delivery. Each look starts, per sink,
 * what is due within its concurrency and rate limit (`SinkRuntime`), in log order with per-key
 * order; a sink paused for its credentials starts only a probe now and then (`SinkPauses`,
 * README "When a rule fails at run time"); each attempt (`runAttempt`) appends what happened. What it decides from is in the log.
 */
export class Dispatcher {
  private readonly index: DueIndex;
  private readonly runtimes = new Map<string, SinkRuntime>();
  private readonly wakeup: Wakeup;
  private readonly now: () => number;
  private readonly random: () => number;
  private stopped = false;
  /** Aborted when the dispatcher stops hard; each attempt links its own signal to it. */
  private readonly abort = new AbortController();
  /** Outcomes the log could not take yet: while any is held, no attempt starts. */
  private readonly unrecorded: UnrecordedOutcomes;
  private readonly listeners: ((ended: AttemptEnded) => void)[] = [];
  private readonly pauses: SinkPauses;
  private readonly probeMs: number;

  constructor(private readonly o: DispatcherOptions) {
    // one listener per attempt in flight, bounded by the sinks' concurrency: not a leak
    setMaxListeners(0, this.abort.signal);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.wakeup = new Wakeup(() => this.look(), this.now, (error) =>
      o.logger.error({ err: (error as Error).message }, 'could not look for due deliveries; will look again'),
    );
    this.unrecorded = new UnrecordedOutcomes(o.commit, this.now, o.logger, () => this.wake());
    this.probeMs = o.probeMs ?? DEFAULTS.alerts.probeIntervalMs;
    this.pauses = new SinkPauses({ commit: o.commit, logger: o.logger, now: this.now, probeMs: this.probeMs, wake: () => this.wake() });
    this.index = new DueIndex({ reader: o.reader, projections: o.projections, pauses: this.pauses, runtime: (name) => this.runtime(name) });
  }

  private get schedule() {
    return this.index.schedule;
  }

  /** Told of every attempt that ends (metrics, log lines). */
  onAttempt(listener: (ended: AttemptEnded) => void): void {
    this.listeners.push(listener);
  }

  /** New rules: the sinks' senders are built again; attempts in flight finish on the old ones. */
  setRules(rules: LoadedRules): void {
    const now = this.now();
    for (const rt of this.runtimes.values()) {
      rt.sink?.close?.(); // its pooled sockets: attempts in flight finish on them, then they close
      rt.sink = null; // a sink no longer declared (or disabled) starts nothing
    }
    for (const [name, loaded] of Object.entries(rules.sinks)) {
      const rt = this.runtime(name);
      const { config } = loaded;
      const sink = loaded.enabled
        ? createSink(name, config, this.o.env, {
            now: this.now,
            write: (line) => this.o.logger.info({ sink: name, delivery: JSON.parse(line) as unknown }, 'log sink'),
          })
        : null;
      rt.configure(sink, config, { ...rules.retry, ...config.retry }, config.concurrency ?? DEFAULTS.delivery.concurrency, now);
      this.pauses.reconfigured(rt, credentialsOf(config), loaded.enabled);
    }
    this.wake();
  }

  /** Something may be due (an append, a clock moved): look soon. */
  wake(): void {
    if (!this.stopped) this.wakeup.wake();
  }

  /**
   * Sinks that start no attempt, by name, with the reason: every sink while attempts cannot be
   * recorded (`log_unavailable`), and each sink paused for its credentials (the refused code).
   * Empty while all flow. (`/metrics` `husky_relay_sink_paused`)
   */
  paused(): Record<string, SinkPause> {
    const unrecorded = this.unrecorded.status();
    const out: Record<string, SinkPause> = {};
    for (const rt of this.runtimes.values()) {
      if (!rt.sink) continue;
      if (unrecorded) out[rt.name] = unrecorded;
      else if (rt.pause) out[rt.name] = { code: rt.pause.code, reason: rt.pause.reason, since: rt.pause.since };
    }
    return out;
  }

  /** Attempts in flight, for shutdown and status. */
  inFlight(): number {
    let n = 0;
    for (const rt of this.runtimes.values()) n += rt.inFlight.size;
    return n;
  }

  /** One look: catch up with the log, then start what is due, then ask to look again when something will be. */
  private async look(): Promise<void> {
    if (this.stopped) return;
    await this.index.catchUp();
    const now = this.now();
    let next = now + (this.o.pollMs ?? DEFAULTS.delivery.pollMs);
    if (this.unrecorded.size > 0) {
      // every sink is paused while an outcome waits to be recorded: only the recording is tried
      next = Math.min(next, Math.max(now, this.unrecorded.tick()));
    } else {
      for (const rt of this.runtimes.values()) next = Math.min(next, this.startDue(rt, now));
    }
    if (!this.stopped) this.wakeup.at(next);
  }

  /** Starts what is due on one sink; returns when to look at it again (ms). */
  private startDue(rt: SinkRuntime, now: number): number {
    if (!rt.sink) return Infinity; // disabled: its deliveries wait, and need no look
    while (rt.canStart(now) && this.schedule.hasDue(rt.name, now)) {
      if (!rt.takeToken(now)) break;
      const [d] = this.schedule.take(rt.name, now, 1);
      if (!d) continue;
      const probe = rt.pause !== null; // a paused sink starts only its probe (`canStart`)
      if (probe) rt.startProbe(d.delivery_id, now, this.probeMs);
      this.start(rt, d, probe);
    }
    return Math.min(rt.readyAt(now) ?? Infinity, this.schedule.nextDue(rt.name, now) ?? Infinity);
  }

  private start(rt: SinkRuntime, d: ScheduledDelivery, probe: boolean): void {
    rt.sending += 1; // counted now: the next delivery of this look must see it
    const run = runAttempt(d, rt, {
      projections: this.o.projections,
      record: (sink, id, entries) => this.record(sink, id, entries),
      now: this.now,
      random: this.random,
      stopping: this.abort.signal,
      sent: () => this.wake(), // a slot is free while this attempt is being recorded
      logger: this.o.logger,
      probeMs: this.probeMs,
      pauses: this.pauses,
    }, probe)
      .then((ended) => {
        for (const listener of this.listeners) listener(ended);
      })
      .catch((error: Error) => {
        // nothing was sent (reading the plan failed): it goes back to the index, due again a while
        // later; at once, a read that fails every time (a damaged page) spun the CPU and the log
        const held = this.schedule.get(d.delivery_id);
        if (held) this.schedule.put({ ...held, due: Math.max(held.due, this.now() + DEFAULTS.delivery.startRetryMs) });
        this.o.logger.error({ delivery_id: d.delivery_id, err: error.message }, 'could not start an attempt');
      })
      .finally(() => {
        rt.inFlight.delete(d.delivery_id);
        if (rt.probing === d.delivery_id) rt.probing = null;
        this.wake();
      });
    rt.inFlight.set(d.delivery_id, run);
  }

  /**
   * Appends an attempt's entries. If the log refuses them (full, read-only, locked), they are
   * held and recorded later, once (see `UnrecordedOutcomes`); false then. The delivery stays
   * taken in the index until the log has its attempt.
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

  private runtime(name: string): SinkRuntime {
    let rt = this.runtimes.get(name);
    if (!rt) this.runtimes.set(name, (rt = new SinkRuntime(name)));
    return rt;
  }

  /**
   * Starts nothing new; lets running attempts finish and be recorded for up to `graceMs`,
   * then aborts the rest (a sink answers an abort as a transient failure, also recorded).
   * Outcomes the log could not take are tried until the grace period ends; any still held
   * then are named in the log and will be attempted again after restart.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    const deadline = Date.now() + graceMs;
    await this.wakeup.stop();
    // every sink's, also one a reload removed while its attempts ran
    const running = [...this.runtimes.values()].flatMap((rt) => [...rt.inFlight.values()]);
    if (running.length > 0) {
      const all = Promise.allSettled(running);
      const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())).unref());
      if ((await Promise.race([all, grace])) === 'late') {
        this.abort.abort();
        await all;
      }
    }
    for (const rt of this.runtimes.values()) rt.sink?.close?.();
    await this.unrecorded.flush(deadline);
  }
}
