import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { GroupCommit } from '../log/group-commit.js';
import type { Log } from '../log/log.js';
import { CREDENTIAL_CODES } from '../project/queries.js';
import { notPlannedReason } from '../route/not-planned.js';
import type { LoadedRules } from '../rules/types.js';
import { createSink } from '../sinks/create-sink.js';
import type { AttemptOutcome, RetryPolicy, Sink, SinkConfig, SinkEnvironment } from '../sinks/types.js';
import { decide } from './decide.js';
import { DueDeliveries, type DueDelivery } from './due-deliveries.js';
import { TokenBucket } from './token-bucket.js';

/** Attempts in flight per sink for deliveries without an order_key. (Default: 4) */
export const DEFAULT_CONCURRENCY = 4;

export interface DispatcherOptions {
  log: Log;
  commit: GroupCommit;
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

/** What a sink's traffic has done so far: kept across rules reloads, never rebuilt. */
interface SinkState {
  /** Attempts started and not yet recorded: never picked again meanwhile. */
  inFlight: Map<string, Promise<void>>;
  /** Attempts waiting on the sink: what `concurrency` limits (recording them is not). */
  sending: number;
  /** After a 429 the whole sink waits, not just the delivery that got it. */
  pausedUntil: number;
  rateLimitedInARow: number;
  /** The token bucket, and the `rate_limit` it was made for (a changed limit makes a new one). */
  bucket: TokenBucket | null;
  bucketFor: string;
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
  private readonly due: DueDeliveries;
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

  constructor(private readonly o: DispatcherOptions) {
    // one listener per attempt in flight, bounded by the sinks' concurrency: not a leak
    setMaxListeners(0, this.abort.signal);
    this.due = new DueDeliveries(o.log.db);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
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
        concurrency: config.concurrency ?? DEFAULT_CONCURRENCY,
        state: this.stateOf(name, config),
      });
    }
    this.sinks = next;
    this.wake();
  }

  private stateOf(name: string, config: SinkConfig): SinkState {
    let state = this.states.get(name);
    if (!state) {
      state = { inFlight: new Map(), sending: 0, pausedUntil: 0, rateLimitedInARow: 0, bucket: null, bucketFor: '' };
      this.states.set(name, state);
    }
    const rate = config.rate_limit;
    const bucketFor = JSON.stringify(rate ?? null);
    if (bucketFor !== state.bucketFor) {
      state.bucket = rate ? new TokenBucket(rate.per_second, rate.burst ?? Math.max(1, rate.per_second), this.now()) : null;
      state.bucketFor = bucketFor;
    }
    return state;
  }

  /** Something may be due: look soon (coalesced). */
  wake(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pass();
    });
  }

  private pass(): void {
    if (this.stopped) return;
    const now = this.now();
    let nextLook = now + (this.o.pollMs ?? 500);
    for (const [name, rt] of this.sinks) {
      if (rt.state.pausedUntil > now) {
        nextLook = Math.min(nextLook, rt.state.pausedUntil);
        continue;
      }
      const free = rt.concurrency - rt.state.sending;
      if (free > 0) {
        for (const d of this.due.list(name, now, free + rt.state.inFlight.size)) {
          if (rt.state.inFlight.has(d.delivery_id)) continue;
          if (rt.state.sending >= rt.concurrency) break;
          if (rt.state.bucket && !rt.state.bucket.tryTake(now)) {
            nextLook = Math.min(nextLook, now + rt.state.bucket.waitMs(now));
            break;
          }
          this.start(rt, d);
        }
      }
      const retryAt = this.due.nextRetryAt(name);
      if (retryAt !== null && retryAt > now) nextLook = Math.min(nextLook, retryAt);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(1, nextLook - this.now()));
    this.timer.unref();
  }

  private start(rt: SinkRuntime, d: DueDelivery): void {
    const run = this.attempt(rt, d)
      .catch((error: Error) => {
        // the attempt is not recorded: it will be made again (at least once, never lost)
        this.o.logger.error({ delivery_id: d.delivery_id, err: error.message }, 'could not record an attempt; it will be repeated');
      })
      .finally(() => {
        rt.state.inFlight.delete(d.delivery_id);
        this.wake();
      });
    rt.state.inFlight.set(d.delivery_id, run);
  }

  private async attempt(rt: SinkRuntime, d: DueDelivery): Promise<void> {
    const request = this.due.requestOf(d);
    const keyState = this.due.keyStateOf(d);
    const attempt = d.attempts + 1;
    const started = performance.now();
    rt.state.sending += 1;
    // The attempt's own signal, aborted if the dispatcher stops meanwhile. Sinks combine it
    // with their timeout (AbortSignal.any). Combined with the dispatcher's long-lived signal
    // instead, each attempt left a record in that signal that Node 20 keeps until the signal
    // itself is collected: about 60 bytes an attempt, a live heap that grew all through the
    // soak.
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
        : await rt.sink.send(request, { deliveryId: d.delivery_id, attempt, keyState, signal: stop.signal });
    } finally {
      this.abort.signal.removeEventListener('abort', stopping);
      rt.state.sending -= 1;
      this.wake(); // a slot is free while this attempt is being recorded
    }
    const durationMs = performance.now() - started;
    const rateLimited = outcome.outcome === 'failed' && outcome.error.kind === 'rate_limited';
    rt.state.rateLimitedInARow = rateLimited ? rt.state.rateLimitedInARow + 1 : 0;
    const now = this.now();
    const entries = decide(outcome, {
      deliveryId: d.delivery_id,
      attempt,
      failuresBefore: d.round_failures,
      rateLimitedInARow: rt.state.rateLimitedInARow,
      durationMs,
      policy: rt.policy,
      now,
      random: this.random(),
    });
    await this.o.commit.append(entries);
    const first = entries[0]!;
    if (rateLimited && first.type === 'delivery.attempted' && first.data.retry_at) {
      rt.state.pausedUntil = Date.parse(first.data.retry_at);
    }
    const kind = outcome.outcome === 'succeeded' ? 'succeeded' : entries.length > 1 ? 'dead' : outcome.error.kind;
    this.o.observe?.(rt.sink.name, kind, durationMs / 1000);
    const line = { delivery_id: d.delivery_id, sink: rt.sink.name, attempt, outcome: kind, ms: Math.round(durationMs) };
    if (outcome.outcome === 'succeeded') this.o.logger.info(line, 'delivered');
    else if (CREDENTIAL_CODES.has(outcome.error.code)) {
      this.o.logger.error(
        { ...line, error: outcome.error },
        `sink "${rt.sink.name}" rejected its credentials: fix its token, reload, then \`husky-relay retry --dead --sink ${rt.sink.name}\``,
      );
    } else this.o.logger.warn({ ...line, error: outcome.error }, kind === 'dead' ? 'delivery dead' : 'attempt failed');
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
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // every sink's, also one a reload removed while its attempts ran
    const running = [...this.states.values()].flatMap((state) => [...state.inFlight.values()]);
    if (running.length === 0) return;
    const all = Promise.allSettled(running);
    const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
    if ((await Promise.race([all, grace])) === 'late') {
      this.abort.abort();
      await all;
    }
  }
}
