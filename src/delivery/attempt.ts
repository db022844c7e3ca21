import type { Logger } from 'pino';
import type { ErrorKind, NewEntry } from '../log/types.js';
import type { AttemptContext, ProjectionReader } from '../project/reader.js';
import { notPlannedReason } from '../route/not-planned.js';
import type { AttemptOutcome } from '../sinks/types.js';
import { decide } from './lifecycle.js';
import type { ScheduledDelivery } from './schedule.js';
import type { SinkPauses } from './sink-pauses.js';
import type { SinkRuntime } from './sink-runtime.js';

/** How an attempt ended: `succeeded`, `dead` (the delivery is over), `paused` (credentials refused, README "When a rule fails at run time"), or the error's kind. */
export type AttemptKind = 'succeeded' | 'dead' | 'paused' | ErrorKind;

/** One attempt that ended, for whoever listens (metrics, the log's lines). */
export interface AttemptEnded {
  delivery_id: string;
  sink: string;
  /** 1 for the first attempt. */
  attempt: number;
  kind: AttemptKind;
  outcome: AttemptOutcome;
  durationMs: number;
  /** False while the log cannot take the attempt (it is held; see `UnrecordedOutcomes`). */
  recorded: boolean;
}

/** What an attempt needs from the dispatcher. */
export interface AttemptDeps {
  projections: Pick<ProjectionReader, 'attemptContext'>;
  /** Appends the attempt's entries; false when the log could not take them yet (they are held). */
  record(sink: string, deliveryId: string, entries: NewEntry[]): Promise<boolean>;
  /** The dispatcher's clock (ms) and randomness in [0, 1). */
  now(): number;
  random(): number;
  /** Aborted when the dispatcher stops hard: the attempt in flight is cut (a transient failure). */
  stopping: AbortSignal;
  /** The sink has answered: its slot is free while the attempt is being recorded. */
  sent(): void;
  logger: Logger;
  /** A sink paused by this attempt probes again this long after it (ms). */
  probeMs: number;
  /** Told when this attempt pauses or resumes its sink (the operator's lines). */
  pauses: Pick<SinkPauses, 'paused' | 'probed'>;
}

/**
 * One attempt, start to end (README "Delivery"): prepare (the planned request and its key's state, from
 * the log) → send (one request, bounded by the sink's timeout) → decide (the life cycle's
 * `decide`) → record (appended; held if the log cannot take it). `rt.sending` was counted by
 * the caller and is given back as soon as the sink has answered, so the next attempt may start
 * while this one is recorded. Rejects only if it could not start (the plan could not be read):
 * nothing was sent then. The sink's pause (README "When a rule fails at run time") follows the decision at once, before the
 * recording, so attempts ending meanwhile see it: refused credentials pause it, and a `probe`
 * (the one attempt a paused sink starts) that succeeds resumes it.
 */
export async function runAttempt(d: ScheduledDelivery, rt: SinkRuntime, deps: AttemptDeps, probe = false): Promise<AttemptEnded> {
  let context: AttemptContext;
  try {
    context = await deps.projections.attemptContext(d.delivery_id);
  } catch (error) {
    rt.sending -= 1;
    throw error;
  }
  const attempt = context.attempts + 1;
  const started = performance.now();
  const outcome = await send(rt, d, context, attempt, deps);
  const durationMs = performance.now() - started;
  const rateLimited = outcome.outcome === 'failed' && outcome.error.kind === 'rate_limited';
  const entries = decide(outcome, context, {
    deliveryId: d.delivery_id,
    attempt,
    durationMs,
    policy: rt.policy,
    rateLimitedInARow: rt.countRateLimited(rateLimited),
    now: deps.now(),
    random: deps.random(),
    sink: { name: rt.name, paused: rt.pause !== null, probe },
  });
  for (const entry of entries) {
    if (entry.type === 'sink.paused') {
      rt.pauseFor(entry.data.code, entry.data.reason, new Date(deps.now()).toISOString(), deps.now() + deps.probeMs);
      deps.pauses.paused(rt);
    } else if (entry.type === 'sink.resumed') {
      rt.resume();
      deps.pauses.probed(rt);
    }
  }
  const first = entries[0]!;
  // a 429 pauses the whole sink, not only this delivery
  if (rateLimited && first.type === 'delivery.attempted' && first.data.retry_at) rt.pausedUntil = Date.parse(first.data.retry_at);
  const recorded = await deps.record(rt.name, d.delivery_id, entries);
  const kind = kindOf(outcome, entries);
  return { delivery_id: d.delivery_id, sink: rt.name, attempt, kind, outcome, durationMs, recorded };
}

function kindOf(outcome: AttemptOutcome, entries: NewEntry[]): AttemptKind {
  if (outcome.outcome === 'succeeded') return 'succeeded';
  const first = entries[0];
  if (first?.type === 'delivery.attempted' && first.data.paused) return 'paused';
  return entries.some((e) => e.type === 'delivery.dead') ? 'dead' : outcome.error.kind;
}

/** The request sent, as a classified outcome; never throws. */
async function send(rt: SinkRuntime, d: ScheduledDelivery, context: AttemptContext, attempt: number, deps: AttemptDeps): Promise<AttemptOutcome> {
  // The attempt's own signal, aborted if the dispatcher stops meanwhile (sinks combine it with
  // their timeout). Combining the dispatcher's long-lived signal itself left ~60 bytes an
  // attempt in it under Node 20: a heap that grew all through the soak.
  const stop = new AbortController();
  const stopping = () => stop.abort(deps.stopping.reason);
  if (deps.stopping.aborted) stopping();
  else deps.stopping.addEventListener('abort', stopping, { once: true });
  try {
    // a delivery that could not be planned (README "When a rule fails at run time") fails again with its reason; nothing is sent
    const notPlanned = notPlannedReason(context.request);
    if (notPlanned) return { outcome: 'failed', error: { kind: 'permanent', code: notPlanned.code, message: notPlanned.message } };
    const sink = rt.sink;
    if (!sink) return { outcome: 'failed', error: { kind: 'transient', code: 'sink_disabled', message: `sink "${rt.name}" was disabled while the attempt started` } };
    return await sink.send(context.request, { deliveryId: d.delivery_id, attempt, keyState: context.keyState, eventType: context.event_type, signal: stop.signal });
  } catch (error) {
    // a sink never throws for a delivery failure; if one does (a bug), back off like a failure, never resend at once
    deps.logger.error({ delivery_id: d.delivery_id, sink: rt.name, err: (error as Error).name }, 'sink failed unexpectedly');
    return { outcome: 'failed', error: { kind: 'transient', code: 'sink_error', message: 'the sink failed unexpectedly (see the relay log)' } };
  } finally {
    deps.stopping.removeEventListener('abort', stopping);
    rt.sending -= 1;
    deps.sent();
  }
}
