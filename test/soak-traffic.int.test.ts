import { afterEach, describe, expect, it } from 'vitest';
import { startFakeHttp } from '../testing/fakes/fake-http.js';
import { verifySignature } from '../src/receive/verify-signature.js';
import { sendStream, type SoakEvent } from '../tools/soak/traffic.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

/**
 * The sender of `npm run soak` and of the bench's steady phase. The soak's LOST count is
 * "acked by the sender but not in the log", so what the sender calls acked must be exactly
 * what the relay answered 200 to.
 */
function* events(n: number): Generator<SoakEvent> {
  for (let i = 0; i < n; i++) {
    const body = makeEvent();
    yield { event_id: (JSON.parse(body) as { event_id: string }).event_id, event_type: 'call.completed', body };
  }
}

describe('sendStream', () => {
  let relay: TestRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('sends signed events at the rate, and every one it counts as acknowledged is in the log once', async () => {
    relay = await startTestRelay();
    const counts = await sendStream({ url: `${relay.url}/webhooks/husky`, secret: SECRET, rate: 200, durationMs: 300, events: events(1000), maxInFlight: 8 });

    // 200/s for 0.3 s: never more than the rate owes, though the supply has 1,000 (how close
    // it keeps to the rate on a busy machine is for the bench to measure, not a test)
    expect(counts.sent).toBeLessThanOrEqual(60);
    expect(counts.sent).toBeGreaterThan(0);
    expect(counts.acked.size).toBe(counts.sent);
    expect(counts.latencies).toHaveLength(counts.sent);
    expect(counts.failed + counts.retries + counts.duplicates).toBe(0);
    const logged = relay.log.read(0, { types: ['event.received'] }).map((e) => (e.data as { event_id: string }).event_id);
    expect(new Set(logged)).toEqual(counts.acked);
    expect(logged).toHaveLength(counts.sent);
  });

  it('on a machine too busy to tick within the window, still sends what the rate owes for it', async () => {
    // Given a receiver, and an event loop that is blocked past the whole 20 ms window right
    // after the stream starts (as on a loaded CI machine, where the first 1 ms timer fired late)
    const receiver = await startFakeHttp();
    const supply = [...events(30)];
    try {
      const sending = sendStream({ url: receiver.url, secret: SECRET, rate: 1000, durationMs: 20, events: supply[Symbol.iterator]() });
      const blockedUntil = performance.now() + 60;
      while (performance.now() < blockedUntil) {
        // busy: no timer can fire
      }
      const counts = await sending;
      // Then the 20 the window owes at 1,000/s are sent and acknowledged, not 0
      expect(counts.sent).toBe(20);
      expect(counts.acked.size).toBe(20);
      expect(receiver.requests).toHaveLength(20);
    } finally {
      await receiver.close();
    }
  });

  it('sends again after an answer other than 200 or one that is not JSON, and counts it acked only then', async () => {
    // Given a receiver whose first answer is a 500 and whose second is a proxy's HTML page
    const receiver = await startFakeHttp();
    receiver.failNext({ status: 500 });
    receiver.failNext({ status: 200, body: '<html>proxy</html>', headers: { 'content-type': 'text/html' } });
    const supply = [...events(3)];
    try {
      // When three events are sent
      const counts = await sendStream({ url: receiver.url, secret: SECRET, rate: 1000, durationMs: 20, events: supply[Symbol.iterator]() });
      // Then the two that got those answers are sent again, and all three end up acked
      expect(counts.sent).toBe(3);
      expect(counts.acked).toEqual(new Set(supply.map((e) => e.event_id)));
      expect(counts.retries).toBe(2);
      expect(counts.failed).toBe(0);
      const sends = receiver.requests.map((r) => (r.body as { event_id: string }).event_id);
      expect(supply.map((e) => sends.filter((id) => id === e.event_id).length).sort()).toEqual([1, 2, 2]);
      expect(receiver.requests.every((r) => verifySignature(Buffer.from(r.rawBody), r.headers['x-husky-signature'] ?? '', [SECRET]))).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});
