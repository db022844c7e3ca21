import { fileURLToPath } from 'node:url';
import { CLI } from '../../testing/child.js';
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from '../../src/receive/verify-signature.js';
import { percentile, sendStream, type SoakEvent } from '../soak/traffic.js';
import { startChild } from './processes.js';

export const SECRET = 'bench-secret-0123456789';
const BARE_KOA = fileURLToPath(new URL('./bare-koa.js', import.meta.url));

export interface LoadResult {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

export interface IngestResult {
  bare_koa: LoadResult & { peak_rss_mb: number };
  relay: LoadResult & { peak_rss_mb: number };
  ratio: number;
  steady_1000: LoadResult;
}

/** The bench's `call.completed`, the n-th of a phase named `phase` (unique across runs). */
function benchEvent(phase: string, n: number): SoakEvent {
  const event_id = `evt_${phase}_${process.pid}_${n}`;
  const body = JSON.stringify({
    event_id,
    event_type: 'call.completed',
    created_at: '2026-06-01T10:00:00Z',
    org_id: 'org_bench',
    data: { call_id: `call_${phase}_${n % 5000}`, agent_id: 'agent_alpha', status: 'completed', duration_seconds: 124, summary: 'Customer confirmed appointment.' },
  });
  return { event_id, event_type: 'call.completed', body };
}

let n = 0;
/** A signed, unique event per request: what HuskyVoice sends, never a duplicate. */
function signedEvent(request: autocannon.Request): autocannon.Request {
  n += 1;
  const { body } = benchEvent('bench', n);
  return { ...request, method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) } };
}

/** As many requests as `connections` (Default: 32) can make, each sent when the previous one is answered. */
export async function load(url: string, seconds: number, connections = 32): Promise<LoadResult> {
  const result = await autocannon({
    url: `${url}/webhooks/husky`,
    connections,
    duration: seconds,
    requests: [{ setupRequest: signedEvent }],
  });
  return {
    requests_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function* uniqueEvents(): Generator<SoakEvent> {
  for (let i = 1; ; i++) yield benchEvent('steady', i);
}

/**
 * `rate` events a second, spread evenly (the soak's sender: what is owed every millisecond), at most
 * 32 in flight. Not autocannon's `overallRate`: that sends each connection's whole quota for
 * a second at once, then waits for the next second, so it measures a burst at full speed once
 * a second; and it "corrects" its latencies with an interval of 1 ms, adding samples of every
 * latency above 1 ms.
 */
async function steady(url: string, seconds: number, rate: number): Promise<LoadResult> {
  const counts = await sendStream({ url: `${url}/webhooks/husky`, secret: SECRET, rate, durationMs: seconds * 1000, events: uniqueEvents(), maxInFlight: 32 });
  return {
    requests_per_s: Math.round(counts.acked.size / seconds),
    p50_ms: Math.round(percentile(counts.latencies, 50) * 10) / 10,
    p99_ms: Math.round(percentile(counts.latencies, 99) * 10) / 10,
    // every retry follows an answer other than 200 (or a broken connection); failed ones ran
    // out of retries. A sender held back by 32 answers outstanding shows in the rate and p99.
    non_2xx: counts.retries,
    errors: counts.failed,
  };
}

/** Durable ingest against the real server beside a bare Koa handler, same load, same run. */
export async function benchIngest(seconds: number): Promise<IngestResult> {
  const bare = await startChild([BARE_KOA], process.env);
  await load(bare.url, 1); // warm-up
  const bareLoad = await load(bare.url, seconds);
  const bareRss = bare.peakRssMb();
  await bare.stop();

  const dir = mkdtempSync(join(tmpdir(), 'husky-bench-'));
  try {
    const env = { ...process.env, HUSKY_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'warn', HUSKY_RELAY_RULES: join(dir, 'none.yaml') };
    const relay = await startChild(
      [CLI, '--db', join(dir, 'bench.db'), 'serve', '--no-ui', '--port', '0', '--host', '127.0.0.1'],
      { ...env, LOG_LEVEL: 'info' },
    );
    await load(relay.url, 1);
    const relayLoad = await load(relay.url, seconds);
    const steadyLoad = await steady(relay.url, seconds, 1000);
    const relayRss = relay.peakRssMb();
    await relay.stop();
    return {
      bare_koa: { ...bareLoad, peak_rss_mb: bareRss },
      relay: { ...relayLoad, peak_rss_mb: relayRss },
      ratio: Math.round((relayLoad.requests_per_s / bareLoad.requests_per_s) * 100) / 100,
      steady_1000: steadyLoad,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
