import { Agent, request } from 'node:http';
import { sign } from '../../src/receive/verify-signature.js';

/**
 * A steady stream of HuskyVoice calls, signed as HuskyVoice signs them (the same `sign()`
 * as `husky-relay send`), at a fixed rate, only to the relay on 127.0.0.1.
 */

export const CONTACT_EMAILS = Array.from({ length: 8 }, (_, i) => `soak-${i}@example.com`);

export interface SoakEvent {
  event_id: string;
  event_type: string;
  body: string;
}

/** Calls of 1–3 events: initiated → answered → completed (or failed), and some disallowed. */
export function* calls(runId: string, random: () => number): Generator<SoakEvent> {
  for (let n = 1; ; n++) {
    const callId = `call_${runId}_${n}`;
    const agent = `agent_${n % 7}`;
    const toNumber = `+1415555${String(n % 10_000).padStart(4, '0')}`;
    // every 10th call has no email, so HubSpot skips it (if_no_contact: skip)
    const email = n % 10 === 0 ? undefined : CONTACT_EMAILS[n % CONTACT_EMAILS.length];
    const event = (type: string, status: string, extra: Record<string, unknown> = {}): SoakEvent => {
      const eventId = `evt_${runId}_${n}_${status}`;
      const envelope = {
        event_id: eventId,
        event_type: type,
        created_at: new Date().toISOString(),
        org_id: 'org_soak',
        data: { call_id: callId, agent_id: agent, status, to_number: toNumber, contact_email: email, ...extra },
      };
      return { event_id: eventId, event_type: type, body: JSON.stringify(envelope) };
    };
    const roll = random();
    if (roll < 0.05) {
      yield event('call.disallowed', 'disallowed', { reason: 'dnd' });
      continue;
    }
    yield event('call.initiated', 'initiated');
    if (roll < 0.2) {
      yield event('call.failed', 'failed', { reason: 'no_answer' });
      continue;
    }
    yield event('call.answered', 'answered');
    const seconds = 20 + Math.floor(random() * 600);
    yield event('call.completed', 'completed', { duration_seconds: seconds, summary: `Soak call ${n}.`, transcript: 'x'.repeat(400) });
  }
}

export interface SendCounts {
  sent: number;
  /** 200 with a new `seq`: on disk, per README "HTTP". */
  acked: Set<string>;
  duplicates: number;
  /** Answers other than 200, and network errors, after the retries HuskyVoice would make. */
  failed: number;
  retries: number;
  /** Ack latency in ms, for percentiles. */
  latencies: number[];
  /** Ticks when the sender could not keep the rate (too many requests in flight). */
  behind: number;
}

/**
 * Sends `rate` events a second for `durationMs`, at most `maxInFlight` at once, over that many
 * keep-alive connections. A failed send is retried up to 3 times, as HuskyVoice does with a
 * non-2xx answer.
 *
 * Built to measure the relay, not itself: `node:http` with a keep-alive agent (fetch spends
 * several times the CPU per request, and at 1,000/s its own event loop put ~5 ms on the
 * median latency it reported), and a tick every millisecond that sends what the rate owes by
 * then, so the stream is steady rather than a burst every few milliseconds.
 */
export async function sendStream(options: {
  url: string;
  secret: string;
  rate: number;
  durationMs: number;
  events: Iterator<SoakEvent>;
  maxInFlight?: number;
}): Promise<SendCounts> {
  const counts: SendCounts = { sent: 0, acked: new Set(), duplicates: 0, failed: 0, retries: 0, latencies: [], behind: 0 };
  const maxInFlight = options.maxInFlight ?? 512;
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();

  const post = async (event: SoakEvent): Promise<void> => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      if (attempt > 1) counts.retries += 1;
      const t0 = performance.now();
      try {
        const { status, body } = await postJson(agent, options.url, event.body, sign(event.body, options.secret));
        const answer = JSON.parse(body) as { ok?: boolean; duplicate?: boolean; seq?: number };
        if (status === 200 && answer.ok) {
          counts.latencies.push(performance.now() - t0);
          if (answer.duplicate) counts.duplicates += 1;
          counts.acked.add(event.event_id);
          return;
        }
      } catch {
        // connection trouble, or an answer that is not JSON: retry like HuskyVoice
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
    counts.failed += 1;
  };

  try {
    // a tick every millisecond sends whatever the rate owes by now, so the average stays exact
    // The last tick is clamped to the end of the window and still sends what is owed by then:
    // on a loaded machine a timer can fire long after it was due, and breaking out before
    // paying the debt sent nothing at all in a short window (a CI run sent 0 of 3 in 20 ms).
    for (let done = false; !done; ) {
      let elapsed = performance.now() - started;
      if (elapsed >= options.durationMs) {
        elapsed = options.durationMs;
        done = true;
      }
      const owed = Math.floor((elapsed / 1000) * options.rate) - counts.sent;
      for (let i = 0; i < owed; i++) {
        if (inFlight.size >= maxInFlight) {
          counts.behind += 1;
          break;
        }
        const next = options.events.next();
        if (next.done) break;
        counts.sent += 1;
        const p = post(next.value).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (!done) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inFlight);
  } finally {
    agent.destroy();
  }
  return counts;
}

/** One signed POST of `body`; the answer's status and text. */
function postJson(agent: Agent, url: string, body: string, signature: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-husky-signature': signature },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
