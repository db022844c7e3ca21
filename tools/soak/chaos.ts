import type { Chaos, Fault } from '../../testing/fakes/fake-server.js';

/** Chances, per request a fake receives, of each injected fault. */
export interface FaultRates {
  /** 429 with `Retry-After: 1`. The whole sink pauses for it, so keep it rare. */
  rateLimited: number;
  /** 500 (transient: backoff). */
  serverError: number;
  /** No answer at all: the sink's timeout ends the attempt. */
  hang: number;
}

export interface FaultTally {
  requests: number;
  rateLimited: number;
  serverError: number;
  hang: number;
}

/** A `Chaos` for a fake, counting what it injected. */
export function randomFaults(rates: FaultRates, random: () => number, only?: (path: string) => boolean): { chaos: Chaos; tally: FaultTally } {
  const tally: FaultTally = { requests: 0, rateLimited: 0, serverError: 0, hang: 0 };
  const chaos: Chaos = (req): Fault | undefined => {
    tally.requests += 1;
    if (only && !only(req.path)) return undefined;
    const roll = random();
    if (roll < rates.rateLimited) {
      tally.rateLimited += 1;
      return { status: 429, retryAfter: 1 };
    }
    if (roll < rates.rateLimited + rates.serverError) {
      tally.serverError += 1;
      return { status: 500 };
    }
    if (roll < rates.rateLimited + rates.serverError + rates.hang) {
      tally.hang += 1;
      return { hang: true };
    }
    return undefined;
  };
  return { chaos, tally };
}

/**
 * Wraps a chaos so the HTTP receiver also counts what it accepted: every `webhook-id` it
 * answered 200, and how often one came again (at-least-once shows up here).
 */
export function countAccepted(inner: Chaos): { chaos: Chaos; accepted: Map<string, number> } {
  const accepted = new Map<string, number>();
  return {
    accepted,
    chaos: (req) => {
      const fault = inner(req);
      if (!fault) {
        const id = req.headers['webhook-id'] ?? '?';
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
      }
      return fault;
    },
  };
}
