import { describe, expect, it } from 'vitest';
import { canRedrive, closedByErasure, decide, ERASED, ERASURE_DEAD_REASON, evolve, failedByErasure, plannedState, type DecideContext, type DeliveryState, type RedriveFacts } from '../src/delivery/lifecycle.js';
import { erasureEntries } from '../src/privacy/erasure-entries.js';
import type { DeliveryError, DeliveryPlanned, Entry, NewEntry } from '../src/log/types.js';
import type { AttemptOutcome } from '../src/sinks/types.js';

/**
 * A delivery's life cycle as a decider (emmett's DeciderSpecification): given the entries the
 * log holds about a delivery, when an attempt ends with an outcome, then these entries are
 * appended — and folding them gives the state every reader (status, deliveries, the
 * dispatcher) sees.
 */

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const S = 1000;
const PLANNED: DeliveryPlanned = {
  delivery_id: 'dlv_1', event_id: 'evt_1', event_seq: 1, event_type: 'call.completed', rule_id: 'r', action_index: 0,
  sink: 'hook', request: {}, order_key: null, rules_hash: 'h',
};
const POLICY = { max_attempts: 3, initial_delay_ms: 10 * S, max_delay_ms: 3600 * S };
const ctx = (attempt: number, sink: Partial<DecideContext['sink']> = {}): DecideContext => ({
  deliveryId: 'dlv_1', attempt, durationMs: 12, policy: POLICY, rateLimitedInARow: 1, now: NOW, random: 0.5, sink: { name: 'hook', paused: false, probe: false, ...sink },
});
/** What `canRedrive` reads of a delivery: its state, and whether its call was erased (read with its row). */
const facts = (state: DeliveryState, callErased = false): RedriveFacts => ({ ...state, call_erased: callErased });
const transient = { kind: 'transient' as const, code: 'http_503', message: 'HTTP 503', status: 503 };
const notFound = { kind: 'permanent' as const, code: 'http_404', message: 'HTTP 404', status: 404 };
const rateLimited = { kind: 'rate_limited' as const, code: 'http_429', message: 'HTTP 429', status: 429 };

let seq = 10;
const stored = (entry: NewEntry): Entry => ({ ...entry, seq: ++seq, at: new Date(NOW + seq).toISOString() }) as Entry;

function spec(given: NewEntry[]) {
  const state = (): DeliveryState => given.map(stored).reduce(evolve, plannedState(PLANNED));
  return {
    state,
    when(outcome: AttemptOutcome, attempt: number, sink: Partial<DecideContext['sink']> = {}) {
      const appended = decide(outcome, state(), ctx(attempt, sink));
      return {
        then(expected: NewEntry[]) {
          expect(appended).toEqual(expected);
          return { state: () => [...given, ...appended].map(stored).reduce(evolve, plannedState(PLANNED)) };
        },
      };
    },
  };
}

const attempted = (attempt: number, error: DeliveryError | null, retryAt: number | null, result: Record<string, unknown> | null = null): NewEntry => ({
  type: 'delivery.attempted',
  data: {
    delivery_id: 'dlv_1', attempt, outcome: error ? 'failed' : 'succeeded', duration_ms: 12, error,
    retry_at: retryAt === null ? null : new Date(retryAt).toISOString(), result,
  },
});

describe('a delivery life cycle', () => {
  it('given nothing, when the first attempt succeeds, then it is recorded and the delivery succeeded', () => {
    const after = spec([]).when({ outcome: 'succeeded', result: { status: 200 } }, 1).then([attempted(1, null, null, { status: 200 })]);
    expect(after.state()).toMatchObject({ status: 'succeeded', attempts: 1, round_failures: 0, result: { status: 200 }, next_attempt_at: null });
  });

  it('given two transient failures, when the third fails, then it is dead (max_attempts 3) with the reason', () => {
    const given = [attempted(1, transient, NOW + 10 * S), attempted(2, transient, NOW + 20 * S)];
    expect(spec(given).state()).toMatchObject({ status: 'retrying', round_failures: 2, last_error: { code: 'http_503' } });
    const after = spec(given)
      .when({ outcome: 'failed', error: transient }, 3)
      .then([attempted(3, transient, null), { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'gave up after 3 failed attempts; last: http_503: HTTP 503' } }]);
    expect(after.state()).toMatchObject({ status: 'dead', attempts: 3, next_attempt_at: null, dead_reason: 'gave up after 3 failed attempts; last: http_503: HTTP 503' });
    expect(canRedrive(facts(after.state()))).toEqual({ ok: true });
  });

  it('given failures, a rate limit is not counted: it waits Retry-After and never makes the delivery dead', () => {
    const given = [attempted(1, transient, NOW + 10 * S), attempted(2, transient, NOW + 20 * S)];
    const after = spec(given)
      .when({ outcome: 'failed', error: rateLimited, retry_after_ms: 30 * S }, 3)
      .then([attempted(3, rateLimited, NOW + 30 * S)]);
    expect(after.state()).toMatchObject({ status: 'retrying', attempts: 3, round_failures: 2 });
  });

  it('given a dead delivery re-driven, the failures start again from zero', () => {
    const given: NewEntry[] = [
      attempted(1, transient, null),
      { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'x' } },
      { type: 'delivery.retried', data: { delivery_id: 'dlv_1', reason: 're-driven by id' } },
    ];
    expect(spec(given.slice(0, 2)).state()).toMatchObject({ status: 'dead', dead_reason: 'x' });
    expect(spec(given).state()).toMatchObject({ status: 'pending', round_failures: 0, attempts: 1, next_attempt_at: null, dead_reason: null });
    // one failure now waits the first backoff again (10 s), not the second
    spec(given).when({ outcome: 'failed', error: transient }, 2).then([attempted(2, transient, NOW + 10 * S)]);
  });

  it('a delivery dead at planning (a template over its limits) carries the reason; no status but dead has one', () => {
    const dead: NewEntry = { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'render_failed: text: memory alloc limit exceeded' } };
    expect(plannedState(PLANNED).dead_reason).toBeNull();
    expect(spec([dead]).state()).toMatchObject({ status: 'dead', attempts: 0, dead_reason: 'render_failed: text: memory alloc limit exceeded' });
    // a later attempt (one that was running when it died, recorded after) leaves dead behind, and its reason
    expect(spec([dead, attempted(1, null, null, { status: 200 })]).state()).toMatchObject({ status: 'succeeded', dead_reason: null });
    expect(spec([dead, attempted(1, transient, NOW + 10 * S)]).state()).toMatchObject({ status: 'retrying', dead_reason: null });
  });

  it('a success cannot be re-driven; anything else can, but a dead letter of an erasure', () => {
    expect(canRedrive({ status: 'succeeded', dead_reason: null, call_erased: false })).toEqual({ ok: false, why: 'succeeded', reason: 'already succeeded; nothing to re-drive' });
    for (const status of ['pending', 'retrying', 'dead'] as const) expect(canRedrive({ status, dead_reason: status === 'dead' ? 'x' : null, call_erased: false })).toEqual({ ok: true });
  });
});

describe("a delivery whose call's personal data was erased (README \"Erasure\")", () => {
  const erasure = (): NewEntry[] => erasureEntries('call_1', { reason: 'customer asked', by: 'cli', downstream: false }, ['dlv_1']).filter((e) => e.type === 'delivery.dead');
  const erasedAttempt: AttemptOutcome = { outcome: 'failed', error: { kind: 'permanent', ...ERASED } };

  it('given a retrying delivery, when its call is erased, then it is dead as erased and cannot be re-driven', () => {
    const given = [attempted(1, transient, NOW + 10 * S), ...erasure()];
    const state = spec(given).state();
    expect(state).toMatchObject({ status: 'dead', next_attempt_at: null, dead_reason: "erased: the call's personal data was erased" });
    expect(closedByErasure(facts(state))).toBe(true);
    expect(canRedrive(facts(state))).toEqual({ ok: false, why: 'erased', reason: 'was erased with its call; nothing to re-drive' });
  });

  it('given an attempt in flight during the erasure that failed with a retry time, when the next attempt finds the request erased, then it is dead as erased again', () => {
    const given = [...erasure(), attempted(1, transient, NOW + 10 * S)];
    expect(spec(given).state()).toMatchObject({ status: 'retrying' });
    const after = spec(given)
      .when(erasedAttempt, 2)
      .then([attempted(2, { kind: 'permanent', ...ERASED }, null), { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: ERASURE_DEAD_REASON } }]);
    expect(closedByErasure(facts(after.state()))).toBe(true);
    expect(canRedrive(facts(after.state()))).toMatchObject({ ok: false, why: 'erased' });
    expect(failedByErasure({ kind: 'permanent', ...ERASED })).toBe(true);
  });

  it('given a dead letter (404), when its call is erased after it died, then nobody re-drives it: its request is gone', () => {
    const state = spec([attempted(1, notFound, null), { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'http_404: HTTP 404' } }]).state();
    expect(canRedrive(facts(state))).toEqual({ ok: true });
    expect(closedByErasure(facts(state, true))).toBe(true);
    expect(canRedrive(facts(state, true))).toEqual({ ok: false, why: 'erased', reason: 'was erased with its call; nothing to re-drive' });
  });

  it('given an attempt in flight at the erasure that failed with a retry time, it is not re-driven while it waits, nor once it dies for another reason', () => {
    const given = [...erasure(), attempted(1, transient, NOW + 10 * S)];
    expect(canRedrive(facts(spec(given).state(), true))).toMatchObject({ ok: false, why: 'erased' });
    const after = spec(given)
      .when({ outcome: 'failed', error: notFound }, 2)
      .then([attempted(2, notFound, null), { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: 'http_404: HTTP 404' } }]);
    expect(after.state()).toMatchObject({ status: 'dead', dead_reason: 'http_404: HTTP 404' });
    expect(closedByErasure(facts(after.state(), true))).toBe(true);
    expect(canRedrive(facts(after.state(), true))).toMatchObject({ ok: false, why: 'erased' });
  });

  it('given an attempt in flight that succeeded after the erasure, it was sent: succeeded, not erased', () => {
    const state = spec([...erasure(), attempted(1, null, null, { status: 200 })]).state();
    expect(state).toMatchObject({ status: 'succeeded', dead_reason: null });
    expect(closedByErasure(facts(state, true))).toBe(false);
    expect(canRedrive(facts(state, true))).toMatchObject({ ok: false, why: 'succeeded' });
  });

  it('a dead letter for any other reason, or a sink failure that only resembles an erasure, is not closed by one', () => {
    for (const reason of ['http_404: HTTP 404', 'erased', `gave up after 3 failed attempts; last: ${ERASURE_DEAD_REASON}`]) {
      const state = spec([{ type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason } }]).state();
      expect([reason, closedByErasure(facts(state)), canRedrive(facts(state)).ok]).toEqual([reason, false, true]);
    }
    expect(failedByErasure({ kind: 'permanent', code: 'erased', message: 'the object was erased at the sink' })).toBe(false);
    expect(failedByErasure({ kind: 'transient', ...ERASED })).toBe(false);
    expect(failedByErasure(null)).toBe(false);
  });
});

describe('a sink whose credentials are refused pauses (README "When a rule fails at run time")', () => {
  const refusal = (code: string): DeliveryError => ({ kind: 'permanent', code, message: `refused: ${code}` });
  const waits = (attempt: number, error: DeliveryError): NewEntry => ({
    type: 'delivery.attempted',
    data: { delivery_id: 'dlv_1', attempt, outcome: 'failed', duration_ms: 12, error, retry_at: null, result: null, paused: true },
  });

  it.each(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'unauthorized'])(
    'given two failures, when %s answers, then the attempt waits uncounted, the delivery stays pending, and the sink pauses once',
    (code) => {
      const given = [attempted(1, transient, NOW + 10 * S), attempted(2, transient, NOW + 20 * S)];
      const after = spec(given)
        .when({ outcome: 'failed', error: refusal(code) }, 3)
        .then([waits(3, refusal(code)), { type: 'sink.paused', data: { sink: 'hook', reason: `${code}: refused: ${code}`, code, delivery_id: 'dlv_1' } }]);
      // never dead, even at max_attempts (3): the refusal is the sink's, not the delivery's
      expect(after.state()).toMatchObject({ status: 'pending', attempts: 3, round_failures: 2, next_attempt_at: null, last_error: { code } });
    },
  );

  it('given the sink is paused already, a refusal pauses nothing more', () => {
    spec([]).when({ outcome: 'failed', error: refusal('token_revoked') }, 1, { paused: true }).then([waits(1, refusal('token_revoked'))]);
  });

  it('a probe that succeeds resumes the sink; a success that was no probe does not', () => {
    const given = [waits(1, refusal('token_revoked'))];
    spec(given)
      .when({ outcome: 'succeeded', result: null }, 2, { paused: true, probe: true })
      .then([attempted(2, null, null), { type: 'sink.resumed', data: { sink: 'hook', reason: 'a probe attempt succeeded (delivery dlv_1)', code: 'probe' } }]);
    // an attempt started before the pause and answered after it
    spec(given).when({ outcome: 'succeeded', result: null }, 2, { paused: true, probe: false }).then([attempted(2, null, null)]);
  });

  it('a probe that fails otherwise is an ordinary failure: counted, and the sink stays paused', () => {
    const after = spec([waits(1, refusal('invalid_auth'))])
      .when({ outcome: 'failed', error: transient }, 2, { paused: true, probe: true })
      .then([attempted(2, transient, NOW + 10 * S)]);
    expect(after.state()).toMatchObject({ status: 'retrying', round_failures: 1 });
  });

  it('a code that merely looks like one (redacted, or another error) is not a refusal', () => {
    for (const code of ['invalid_auth:[redacted]', 'channel_not_found', 'http_403']) {
      spec([]).when({ outcome: 'failed', error: refusal(code) }, 1).then([attempted(1, refusal(code), null), { type: 'delivery.dead', data: { delivery_id: 'dlv_1', reason: `${code}: refused: ${code}` } }]);
    }
  });
});
