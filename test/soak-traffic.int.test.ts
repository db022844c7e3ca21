import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/receive/verify-signature.js';
import { sendStream, type SoakEvent } from '../src/soak/traffic.js';
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

  it('sends again after an answer other than 200 or one that is not JSON, and counts it acked only then', async () => {
    const supply = [...events(3)];
    const [refused, mangled] = [supply[0]!.event_id, supply[1]!.event_id];
    const seen: string[] = [];
    let unsigned = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (!verifySignature(body, String(req.headers['x-husky-signature']), [SECRET])) unsigned += 1;
        const id = (JSON.parse(body.toString()) as { event_id: string }).event_id;
        seen.push(id);
        const first = seen.filter((s) => s === id).length === 1;
        if (id === refused && first) res.writeHead(500).end('{"error":"boom"}');
        else if (id === mangled && first) res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>');
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"seq":1}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const counts = await sendStream({ url: `http://127.0.0.1:${port}/webhooks/husky`, secret: SECRET, rate: 1000, durationMs: 20, events: supply[Symbol.iterator]() });

      expect(counts.sent).toBe(3);
      expect(counts.acked).toEqual(new Set(supply.map((e) => e.event_id)));
      expect(counts.retries).toBe(2);
      expect(counts.failed).toBe(0);
      expect(seen).toHaveLength(5);
      expect(unsigned).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
