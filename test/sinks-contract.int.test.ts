import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSink } from '../src/sinks/create-sink.js';
import { REDACTED, redactorFor } from '../src/sinks/redact.js';
import { SINK_KINDS, sinkKind } from '../src/sinks/registry.js';
import type { AttemptContext, AttemptOutcome, SinkType } from '../src/sinks/types.js';
import { leak } from './helpers/leak.js';
import { HARNESSES, renderThrough, type Destination } from './helpers/sink-harness.js';

/**
 * The contract every sink kind keeps (README "Sinks"; model: hookdeck/outpost's
 * `destregistry/testing/publisher_suite.go`), run against each kind in the registry through
 * `createSink`, as the dispatcher builds them, and the fakes of `testing/fakes/`. A kind that
 * sends nothing (`log`) says so in its harness, and is held to what it does instead.
 */

const NOW = Date.parse('2026-06-01T10:00:00Z');
const KINDS = (Object.keys(SINK_KINDS) as SinkType[]).map((type) => [type, sinkKind(type)] as const);

function ctx(over: Partial<AttemptContext> = {}): AttemptContext {
  return { deliveryId: 'dlv_contract', attempt: 1, keyState: null, eventType: 'call.completed', ...over };
}

describe('the registry', () => {
  it('has a contract harness for every kind, and only for those', () => {
    expect(Object.keys(HARNESSES).sort()).toEqual(Object.keys(SINK_KINDS).sort());
  });
});

describe.each(KINDS)('sink kind %s', (type, kind) => {
  const harness = HARNESSES[type];
  let dest: Destination;
  const printed: string[] = [];
  beforeEach(async () => {
    dest = await harness.start();
    printed.length = 0;
  });
  afterEach(() => dest.close());

  const sink = (over: { timeout_ms?: number } = {}) =>
    createSink(`contract-${type}`, { ...dest.config, ...over }, dest.env, { now: () => NOW, write: (line) => printed.push(line) });
  const rendered = () => renderThrough(kind, harness.action).request;

  /** Sends and checks what every outcome must be: well-formed, and free of every secret of the config. */
  async function send(request: unknown, context = ctx(), over: { timeout_ms?: number } = {}): Promise<AttemptOutcome> {
    // a throw, even a synchronous one, rejects here and fails the test
    const out = await Promise.resolve().then(() => sink(over).send(request as Record<string, unknown>, context));
    if (out.outcome === 'succeeded') expect(out.result === null || typeof out.result === 'object').toBe(true);
    else {
      expect(['transient', 'permanent', 'rate_limited']).toContain(out.error.kind);
      expect(out.error.code).toMatch(/\S/);
      expect(typeof out.error.message).toBe('string');
      if (out.retry_after_ms !== undefined) expect(out.retry_after_ms).toBeGreaterThanOrEqual(0);
    }
    for (const secret of dest.secrets) expect(leak(JSON.stringify(out), secret)).toBeNull();
    return out;
  }

  it('renders a request of its own request shape, and that request is sent as it is', async () => {
    // Given the request the kind renders from its harness action
    const request = rendered();
    expect(kind.requestSchema.safeParse(request).success).toBe(true);
    // When it is sent
    const out = await send(request);
    // Then it succeeds, and it reached the destination (or, for a kind that sends nothing, was printed)
    expect(out.outcome).toBe('succeeded');
    if (dest.fake) expect(dest.fake.requests.length).toBeGreaterThan(0);
    else expect(printed.map((line) => (JSON.parse(line) as { request: unknown }).request)).toEqual([request]);
  });

  it('never throws, whatever request, key state, event type and answer it gets', async () => {
    const base = rendered();
    const request = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom(...Object.keys(base), 'x'), fc.jsonValue()).map((over) => ({ ...base, ...over })),
    );
    const keyState = fc.option(
      fc.oneof(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()),
        fc.record({ channel: fc.string(), ts: fc.string(), object_type: fc.constantFrom('call', 'note', 'x'), object_id: fc.string() }),
      ),
      { nil: null },
    );
    const eventType = fc.option(fc.constantFrom('call.initiated', 'call.answered', 'call.completed', 'call.failed', 'x.y'), { nil: undefined });
    const printable = fc.string({ unit: fc.constantFrom(...'0123456789 .-,:abcGMTWed'), maxLength: 14 });
    const answer = fc.option(
      fc.oneof(
        fc.record({
          status: fc.constantFrom(400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504),
          retryAfter: fc.option(fc.oneof(fc.nat({ max: 5 }), printable), { nil: undefined }),
          body: fc.option(fc.jsonValue(), { nil: undefined }),
        }),
        fc.constant({ close: true as const }),
        fc.record({ slackError: fc.string({ maxLength: 20 }) }),
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(request, keyState, eventType, answer, async (req, state, event, fault) => {
        dest.reset();
        if (fault) dest.fake?.failNext(fault);
        await send(req, ctx({ keyState: state as Record<string, unknown> | null, ...(event !== undefined && { eventType: event }) }));
      }),
      { numRuns: 25 },
    );
  });

  it('a destination that never answers is a transient timeout, within the timeout', async () => {
    dest.fake?.failNext({ hang: true });
    const started = performance.now();
    const out = await send(rendered(), ctx(), { timeout_ms: 300 });
    if (dest.sendsNothing) {
      // declared: it waits on nothing, so it is done at once whatever its timeout
      expect(out.outcome).toBe('succeeded');
      return;
    }
    expect(out).toMatchObject({ outcome: 'failed', error: { kind: 'transient', code: 'timeout' } });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('with no timeout_ms, a destination that never answers is a transient timeout at 10 s, and not before (SPEC §7)', async () => {
    dest.fake?.failNext({ hang: true });
    // The senders' timers on fake time: a setTimeout is faked as it is; `AbortSignal.timeout` runs
    // on node's own timers, which fake timers do not reach, so it is made of the faked setTimeout.
    // The sockets' I/O stays real (nothing else is faked).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
      return controller.signal;
    });
    try {
      let out: AttemptOutcome | undefined;
      const pending = send(rendered()).then((o) => (out = o));
      if (dest.sendsNothing) {
        // declared: it waits on nothing, so it is done at once, no timer to reach
        expect((await pending).outcome).toBe('succeeded');
        return;
      }
      // Given the request is on the wire (its timer running) and unanswered
      await vi.waitUntil(() => dest.fake!.requests.length > 0, { interval: 0, timeout: 2_000 });
      expect(dest.fake!.requests).toHaveLength(1);
      // When 9.999 s go by: still waiting
      await vi.advanceTimersByTimeAsync(9_999);
      // (turns of the event loop, not time: a timer that had fired would have settled it by now)
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(out).toBeUndefined();
      // Then at 10 s it is a transient timeout
      await vi.advanceTimersByTimeAsync(1);
      await vi.waitUntil(() => out !== undefined, { interval: 0, timeout: 2_000 }).catch(() => undefined);
      expect(out).toMatchObject({ outcome: 'failed', error: { kind: 'transient', code: 'timeout' } });
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });

  it('an abort (the relay shutting down) ends an attempt in flight as transient "aborted"', async () => {
    dest.fake?.failNext({ hang: true });
    const controller = new AbortController();
    const pending = send(rendered(), ctx({ signal: controller.signal }), { timeout_ms: 10_000 });
    if (dest.fake) await vi.waitFor(() => expect(dest.fake!.requests.length).toBeGreaterThan(0));
    controller.abort();
    const out = await pending;
    if (dest.sendsNothing) {
      // declared: nothing is in flight to abort; the print was done before the signal
      expect(out.outcome).toBe('succeeded');
      return;
    }
    expect(out).toMatchObject({ outcome: 'failed', error: { kind: 'transient', code: 'aborted' } });
  });

  it.each([
    ['seconds', '3', 3_000],
    ['an HTTP date', new Date(NOW + 30_000).toUTCString(), 30_000],
  ])('a 429 is rate_limited with retry_after_ms from Retry-After in %s', async (_form, retryAfter, ms) => {
    dest.fake?.failNext({ status: 429, retryAfter });
    const out = await send(rendered());
    if (dest.sendsNothing) {
      // declared: no destination can answer 429
      expect(out.outcome).toBe('succeeded');
      return;
    }
    expect(out).toMatchObject({ outcome: 'failed', error: { kind: 'rate_limited' }, retry_after_ms: ms });
  });

  it('redacts every secret of its config from the error, when the destination quotes it', async () => {
    // Given: the kind names every secret the harness put in its config
    const redactor = redactorFor(kind.secrets(dest.config));
    for (const secret of dest.secrets) expect(leak(redactor.redact(secret), secret)).toBeNull();
    if (dest.sendsNothing) {
      // declared: nothing can answer, and a log sink's declaration holds no secret
      expect(kind.secrets(dest.config).filter(Boolean)).toEqual([]);
      return;
    }
    expect(dest.secrets.length).toBeGreaterThan(0);
    for (const secret of dest.secrets) {
      // When the destination's answer quotes the secret
      dest.echo(secret);
      const out = await send(rendered());
      // Then the error shows where it was, and no run of it that matters (`send` checked every secret)
      expect(out.outcome).toBe('failed');
      expect(JSON.stringify(out)).toContain(REDACTED);
    }
  });
});
