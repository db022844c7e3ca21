import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { DEFAULTS } from '../config/defaults.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { Entry, NewEntry } from '../log/types.js';
import type { OpenDelivery, ProjectionReader } from '../project/reader.js';
import type { LoadedRules } from '../rules/types.js';
import { createSink } from '../sinks/create-sink.js';
import type { SinkEnvironment } from '../sinks/types.js';
import { runAttempt, type AttemptEnded } from './attempt.js';
import { DueSchedule, type ScheduledDelivery } from './schedule.js';
import { SinkRuntime } from './sink-runtime.js';
import { UnrecordedOutcomes, type RecordPause } from './unrecorded.js';
import { Wakeup } from './wakeup.js';

export interface DispatcherOptions {
  /** The log's tail: what was planned, attempted, re-driven since the dispatcher last looked. */
  reader: LogReader;
  /** The open deliveries at start, and what each attempt is made from. */
  projections: ProjectionReader;
  commit: LogWriter;
  env: SinkEnvironment;
  logger: Logger;
  /** Clock in ms. Tests inject one. (Default: Date.now) */
  now?: () => number;
  random?: () => number;
  /** Looks at least this often, also for entries other processes append. (Default: `DEFAULTS.delivery.pollMs`) */
  pollMs?: number;
}

/** The entry types that change what is due. */
const DELIVERY_TYPES = ['delivery.planned', 'delivery.attempted', 'delivery.dead', 'delivery.retried'];
/** Entries of the tail read at once. */
const TAIL_BATCH = 1_000;

/**
 * Executes planned deliveries (README "Delivery"). It keeps the due index in memory (`DueSchedule`),
 * loaded once from the projection and then kept up to date from the log's tail: a look costs
 * what the new entries cost, not a scan of every open delivery. Each look starts, per sink,
 * what is due within its concurrency and rate limit (`SinkRuntime`), in log order with per-key
 * order; each attempt (`runAttempt`) appends what happened. What it decides from is in the log.
 */
export class Dispatcher {
  private readonly schedule = new DueSchedule();
  private readonly runtimes = new Map<string, SinkRuntime>();
  private readonly wakeup: Wakeup;
  private readonly now: () => number;
  private readonly random: () => number;
  /** How far the log's tail has been read; null until the index is loaded. */
  private position: number | null = null;
  private stopped = false;
  /** Aborted when the dispatcher stops hard; each attempt links its own signal to it. */
  private readonly abort = new AbortController();
  /** Outcomes the log could not take yet: while any is held, no attempt starts. */
  private readonly unrecorded: UnrecordedOutcomes;
  private readonly listeners: ((ended: AttemptEnded) => void)[] = [];

  constructor(private readonly o: DispatcherOptions) {
    // one listener per attempt in flight, bounded by the sinks' concurrency: not a leak
    setMaxListeners(0, this.abort.signal);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.wakeup = new Wakeup(() => this.look(), this.now, (error) =>
      o.logger.error({ err: (error as Error).message }, 'could not look for due deliveries; will look again'),
    );
    this.unrecorded = new UnrecordedOutcomes(o.commit, this.now, o.logger, () => this.wake());
  }

  /** Told of every attempt that ends (metrics, log lines). */
  onAttempt(listener: (ended: AttemptEnded) => void): void {
    this.listeners.push(listener);
  }

  /** New rules: the sinks' senders are built again; attempts in flight finish on the old ones. */
  setRules(rules: LoadedRules): void {
    const now = this.now();
    for (const rt of this.runtimes.values()) rt.sink = null; // a sink no longer declared (or disabled) starts nothing
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
    }
    this.wake();
  }

  /** Something may be due (an append, a clock moved): look soon. */
  wake(): void {
    if (!this.stopped) this.wakeup.wake();
  }

  /**
   * Sinks paused because attempts cannot be recorded, by name, with the reason; empty while
   * the log takes them. (`/metrics` `husky_relay_sink_paused`)
   */
  paused(): Record<string, RecordPause> {
    const pause = this.unrecorded.status();
    if (!pause) return {};
    return Object.fromEntries([...this.runtimes.values()].filter((rt) => rt.sink).map((rt) => [rt.name, pause]));
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
    await this.catchUp();
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

  /** Loads the index at the first look; then applies what the log's tail holds since. */
  private async catchUp(): Promise<void> {
    if (this.position === null) {
      const { deliveries, throughSeq } = await this.o.projections.openDeliveries();
      for (const d of deliveries) this.schedule.put(scheduled(d));
      this.position = throughSeq;
    }
    for (;;) {
      const entries = await this.o.reader.read(this.position, { types: DELIVERY_TYPES, limit: TAIL_BATCH });
      for (const entry of entries) await this.apply(entry);
      if (entries.length > 0) this.position = entries[entries.length - 1]!.seq;
      if (entries.length < TAIL_BATCH) return;
    }
  }

  /** What one entry changes in the index (README "The log"'s delivery states). */
  private async apply(entry: Entry): Promise<void> {
    switch (entry.type) {
      case 'delivery.planned': {
        const d = entry.data;
        this.schedule.put({ delivery_id: d.delivery_id, seq: entry.seq, sink: d.sink, order_key: d.order_key, due: 0 });
        return;
      }
      case 'delivery.attempted': {
        const d = entry.data;
        const held = this.schedule.get(d.delivery_id);
        if (!held) return;
        if (d.outcome === 'succeeded') this.schedule.remove(d.delivery_id);
        else if (d.retry_at !== null) this.schedule.put({ ...held, due: Date.parse(d.retry_at) });
        return; // failed without a retry: its dead letter follows
      }
      case 'delivery.dead':
        this.schedule.remove(entry.data.delivery_id);
        return;
      case 'delivery.retried': {
        const open = await this.o.projections.openDelivery(entry.data.delivery_id);
        if (open) this.schedule.put(scheduled(open));
        return;
      }
      default:
        return;
    }
  }

  /** Starts what is due on one sink; returns when to look at it again (ms). */
  private startDue(rt: SinkRuntime, now: number): number {
    if (!rt.sink) return Infinity; // disabled: its deliveries wait, and need no look
    while (rt.canStart(now) && this.schedule.hasDue(rt.name, now)) {
      if (!rt.takeToken(now)) break;
      const [d] = this.schedule.take(rt.name, now, 1);
      if (d) this.start(rt, d);
    }
    return Math.min(rt.readyAt(now) ?? Infinity, this.schedule.nextDue(rt.name, now) ?? Infinity);
  }

  private start(rt: SinkRuntime, d: ScheduledDelivery): void {
    rt.sending += 1; // counted now: the next delivery of this look must see it
    const run = runAttempt(d, rt, {
      projections: this.o.projections,
      record: (sink, id, entries) => this.record(sink, id, entries),
      now: this.now,
      random: this.random,
      stopping: this.abort.signal,
      sent: () => this.wake(), // a slot is free while this attempt is being recorded
      logger: this.o.logger,
    })
      .then((ended) => {
        for (const listener of this.listeners) listener(ended);
      })
      .catch((error: Error) => {
        // nothing was sent (reading the plan failed): it goes back to the index, the next look tries again
        this.schedule.release(d.delivery_id);
        this.o.logger.error({ delivery_id: d.delivery_id, err: error.message }, 'could not start an attempt');
      })
      .finally(() => {
        rt.inFlight.delete(d.delivery_id);
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
    await this.unrecorded.flush(deadline);
  }
}

function scheduled(d: OpenDelivery): ScheduledDelivery {
  return { delivery_id: d.delivery_id, seq: d.seq, sink: d.sink, order_key: d.order_key, due: d.next_attempt_at ? Date.parse(d.next_attempt_at) : 0 };
}
