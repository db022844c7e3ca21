import type { DeliveryAttempted, DeliveryError, DeliveryPlanned, Entry, NewEntry } from '../log/types.js';
import type { AttemptOutcome, RetryPolicy } from '../sinks/types.js';
import { storableText } from '../log/text.js';
import { backoffMs, rateLimitedWaitMs } from './backoff.js';

/**
 * A delivery's life, in one place (README "The log", "Delivery"), as a decider: `evolve` folds the log's
 * entries about one delivery into its state; `decide` turns an attempt's outcome and that state
 * into the entries to append; `canRedrive` says whether a person may send it again. Pure: no
 * clock, no I/O, no randomness but what comes in. The live projection and `replay --rebuild`
 * both store exactly what `evolve` returns, so they cannot drift.
 *
 *   pending ──attempt ok──▶ succeeded
 *      │  ▲ retried           ▲
 *      │  └──────── dead ◀────┼──── permanent, or max_attempts counted failures
 *      └─attempt failed──▶ retrying ──attempt ok──┘
 *
 * A refused credential is not the delivery's failure but its sink's (README "When a rule fails at run time"): the attempt is
 * recorded `paused`, not counted, the delivery stays `pending`, and the sink pauses
 * (`sink.paused`, once) until it is resumed; a probe attempt that succeeds resumes it.
 */

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Statuses of a delivery that still has to be made: the dispatcher's work and what blocks a key. */
export const OPEN_STATUSES = ['pending', 'retrying'] as const satisfies readonly DeliveryStatus[];

export function isOpen(status: string): boolean {
  return status === 'pending' || status === 'retrying';
}

/** `OPEN_STATUSES` as an SQL list, for the projection's queries: `status IN ${OPEN_SQL}`. */
export const OPEN_SQL = `(${OPEN_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/**
 * Error codes that mean the sink refused its credentials (Slack `invalid_auth` and kin, README
 * "When a rule fails at run time"; HubSpot 401 is `unauthorized`).
 */
export const CREDENTIAL_CODES: ReadonlySet<string> = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'unauthorized']);

/** Whether the sink refused its credentials: the sink pauses instead of the delivery failing (README "When a rule fails at run time"). */
export function refusesCredentials(error: DeliveryError | null): boolean {
  return error !== null && CREDENTIAL_CODES.has(error.code);
}

/** The last failure as the projection keeps it: the error and when its attempt ended. */
export type LastError = DeliveryError & { at: string };

export interface DeliveryState {
  status: DeliveryStatus;
  /** Attempts made, rate-limited ones included. */
  attempts: number;
  /** Counted failures since planning or the last re-drive: what `max_attempts` is compared with. */
  round_failures: number;
  last_error: LastError | null;
  /** When the next attempt is due (ISO); null when due now or never. */
  next_attempt_at: string | null;
  /** What the last successful attempt returned (Slack channel/ts, HubSpot object id). */
  result: Record<string, unknown> | null;
  /** Why it is dead (its `delivery.dead` entry's reason) while it is; null in every other status. */
  dead_reason: string | null;
  /** When it was last re-driven (its latest `delivery.retried` entry's `at`); null if never. It waits since then, not since planned. */
  redriven_at: string | null;
}

/** A planned delivery, before any attempt. */
export function plannedState(_planned: DeliveryPlanned): DeliveryState {
  return { status: 'pending', attempts: 0, round_failures: 0, last_error: null, next_attempt_at: null, result: null, dead_reason: null, redriven_at: null };
}

/**
 * Whether a failure counts toward `max_attempts`: a rate limit is the sink asking us to wait,
 * not the delivery failing (README "Delivery"), so it never does.
 */
export function counts(error: DeliveryError | null): boolean {
  return error !== null && error.kind !== 'rate_limited';
}

/**
 * The state after one entry about this delivery. Entries about other things, or that do not
 * change a delivery (`event.received`, `rules.loaded`…), leave it as it was.
 */
export function evolve(state: DeliveryState, entry: Entry): DeliveryState {
  switch (entry.type) {
    case 'delivery.attempted': {
      const d = entry.data;
      if (d.paused) {
        // the sink's credentials were refused: not this delivery's failure, it waits for the sink
        return { ...state, status: 'pending', attempts: state.attempts + 1, last_error: d.error ? { ...d.error, at: entry.at } : state.last_error, next_attempt_at: null };
      }
      return {
        status: d.outcome === 'succeeded' ? 'succeeded' : 'retrying',
        attempts: state.attempts + 1,
        round_failures: state.round_failures + (d.outcome === 'failed' && counts(d.error) ? 1 : 0),
        last_error: d.error ? { ...d.error, at: entry.at } : state.last_error,
        next_attempt_at: d.retry_at,
        result: d.result ?? state.result,
        dead_reason: null,
        redriven_at: state.redriven_at,
      };
    }
    case 'delivery.dead':
      // as text columns hold it on both engines (a reason may quote a sink's answer: README "How it works")
      return { ...state, status: 'dead', next_attempt_at: null, dead_reason: storableText(entry.data.reason) };
    case 'delivery.retried':
      return { ...state, status: 'pending', next_attempt_at: null, round_failures: 0, dead_reason: null, redriven_at: entry.at };
    default:
      return state;
  }
}

/** What `decide` needs besides the outcome and the state; all of it comes from the caller. */
export interface DecideContext {
  deliveryId: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  durationMs: number;
  policy: RetryPolicy;
  /** Rate-limited answers in a row for this sink, this one included. */
  rateLimitedInARow: number;
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
  /** A number in [0, 1) for the backoff's jitter. */
  random: number;
  /** The sink, as the dispatcher knows it when the outcome is decided. */
  sink: {
    name: string;
    /** Paused now (its credentials were refused earlier, or by an attempt that ended meanwhile). */
    paused: boolean;
    /** This attempt was the paused sink's probe: started while it was paused, to see whether it may resume. */
    probe: boolean;
  };
}

/**
 * What an attempt's outcome means for the delivery (README "Delivery"), as the entries to append:
 * success; rate limited (wait `Retry-After` or 1 s doubling, not counted); transient (back
 * off; dead after `max_attempts` counted failures); permanent (dead at once, with the reason).
 * And for its sink (README "When a rule fails at run time"): credentials refused pause it (`sink.paused` if it was not
 * paused yet; the delivery waits, not counted); a probe that succeeds resumes it.
 */
export function decide(outcome: AttemptOutcome, state: Pick<DeliveryState, 'round_failures'>, c: DecideContext): NewEntry[] {
  const base: Pick<DeliveryAttempted, 'delivery_id' | 'attempt' | 'duration_ms'> = {
    delivery_id: c.deliveryId,
    attempt: c.attempt,
    duration_ms: Math.round(c.durationMs),
  };
  if (outcome.outcome === 'succeeded') {
    const delivered: NewEntry = { type: 'delivery.attempted', data: { ...base, outcome: 'succeeded', error: null, retry_at: null, result: outcome.result } };
    if (!(c.sink.probe && c.sink.paused)) return [delivered];
    const reason = `a probe attempt succeeded (delivery ${c.deliveryId})`;
    return [delivered, { type: 'sink.resumed', data: { sink: c.sink.name, reason, code: 'probe' } }];
  }
  const { error } = outcome;
  if (refusesCredentials(error)) {
    const waits: NewEntry = { type: 'delivery.attempted', data: { ...base, outcome: 'failed', error, retry_at: null, result: null, paused: true } };
    if (c.sink.paused) return [waits];
    const reason = `${error.code}: ${error.message}`;
    return [waits, { type: 'sink.paused', data: { sink: c.sink.name, reason, code: error.code, delivery_id: c.deliveryId } }];
  }
  const failed = (retryAt: number | null): NewEntry => ({
    type: 'delivery.attempted',
    data: { ...base, outcome: 'failed', error, retry_at: retryAt === null ? null : new Date(retryAt).toISOString(), result: null },
  });
  const dead = (reason: string): NewEntry => ({ type: 'delivery.dead', data: { delivery_id: c.deliveryId, reason } });

  if (!counts(error)) return [failed(c.now + rateLimitedWaitMs(c.rateLimitedInARow, outcome.retry_after_ms))];
  if (error.kind === 'permanent') return [failed(null), dead(`${error.code}: ${error.message}`)];
  const failures = state.round_failures + 1;
  if (failures >= c.policy.max_attempts) {
    return [failed(null), dead(`gave up after ${failures} failed attempts; last: ${error.code}: ${error.message}`)];
  }
  return [failed(c.now + backoffMs(failures, c.policy, c.random, outcome.retry_after_ms))];
}

/**
 * Why an attempt of an erased call's delivery fails (README "Erasure"): what its request reads as
 * once the call's payloads are gone (`not_planned`), so what the attempt records (`failed
 * permanent erased`) without sending anything.
 */
export const ERASED = { code: 'erased', message: "the call's personal data was erased" } as const;

/**
 * The `reason` of a dead letter closed by an erasure: the `delivery.dead` that `erase` (and
 * retention) appends for each of the call's open deliveries, and the one `decide` appends when an
 * attempt of such a delivery fails with `ERASED` (`code: message`, as every permanent error).
 */
export const ERASURE_DEAD_REASON = `${ERASED.code}: ${ERASED.message}`;

/**
 * SQL condition on a `p_deliveries` row (both engines): its call was erased (`erase`, retention:
 * its `erased_calls` mark), before or after the delivery died. Its request went with the call's
 * personal data, so it has nothing left to send. Read as `call_erased` with each delivery row.
 * The mark lasts as long as the call's `call.erased` entry: retention removes both (`truncate.ts`,
 * two windows on), while the delivery's row stays.
 */
export const CALL_ERASED_SQL = `EXISTS (SELECT 1 FROM erased_calls x WHERE x.call_id = p_deliveries.call_id)`;

/**
 * SQL condition on `p_deliveries` (both engines) for dead letters a person can act on: every
 * `dead` one but those of an erased call, which nothing can re-drive. The SQL twin of
 * `closedByErasure` (its two conditions, and why each: `erasedWithCall`); a contract test runs
 * both over one table of rows on each engine.
 */
export const REDRIVABLE_DEAD_SQL = `(status = 'dead' AND coalesce(dead_reason, '') <> '${ERASURE_DEAD_REASON.replaceAll("'", "''")}' AND NOT ${CALL_ERASED_SQL})`;

/** What says whether a delivery can be re-driven: its state, and whether its call was erased (`CALL_ERASED_SQL`, read with the row). */
export type RedriveFacts = Pick<DeliveryState, 'status' | 'dead_reason'> & { call_erased: boolean };

/**
 * Whether the delivery's call was erased, so its request is gone. Two facts say it, each where
 * the other cannot:
 * - `call_erased` (the call's erased mark): an erasure came, whatever the delivery did before or
 *   after it: dead already for another reason (a 404), or an attempt in flight at the erasure
 *   that left it open, or dead for another reason since.
 * - its dead reason is the erasure's (`ERASURE_DEAD_REASON`: the erasure closed it, or an
 *   attempt found its request erased). While the mark stands every such dead letter has it too;
 *   once retention has removed the mark (see `CALL_ERASED_SQL`) the reason is all that says it.
 * A dead reason is null in every other status than `dead`, so the second is a dead letter's.
 */
function erasedWithCall(state: RedriveFacts): boolean {
  return state.call_erased || state.dead_reason === ERASURE_DEAD_REASON;
}

/**
 * Whether the delivery is a dead letter of an erased call (`erasedWithCall`): not a failure a
 * re-drive could mend, its request is gone. The JS twin of what `REDRIVABLE_DEAD_SQL` leaves out
 * of the dead.
 */
export function closedByErasure(state: RedriveFacts): boolean {
  return state.status === 'dead' && erasedWithCall(state);
}

/** Whether an attempt failed only because its call was erased (`ERASED`): nothing was sent, so it says nothing of the sink. */
export function failedByErasure(error: DeliveryError | null): boolean {
  return error !== null && error.kind === 'permanent' && error.code === ERASED.code && error.message === ERASED.message;
}

/** `canRedrive`'s answer: yes, or why not (`succeeded`, `erased`) and that as the end of a sentence naming the delivery. */
export type Redrivable = { ok: true } | { ok: false; why: 'succeeded' | 'erased'; reason: string };

/**
 * Whether a person may re-drive the delivery (`retry`, the console): anything but a success,
 * which `replay --force` sends again on purpose instead, or a delivery whose call was erased
 * (`erasedWithCall`: a dead letter, `closedByErasure`, or one still open after an attempt in
 * flight at the erasure), whose request is gone: there is nothing left to send.
 */
export function canRedrive(state: RedriveFacts): Redrivable {
  if (state.status === 'succeeded') return { ok: false, why: 'succeeded', reason: 'already succeeded; nothing to re-drive' };
  if (erasedWithCall(state)) return { ok: false, why: 'erased', reason: 'was erased with its call; nothing to re-drive' };
  return { ok: true };
}
