import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Lease } from '../src/log/seam.js';
import type { PipelineHandle } from '../src/pipeline/host.js';
import { leasedPipeline } from '../src/pipeline/leased.js';

/**
 * The pipeline lease as one relay lives it (README "What failover means"): routing and delivery
 * run only while this relay holds the lease; a relay that loses the database stops them before
 * the lease can lapse for the others (3 s after its last renewal, with the 5 s lease renewed
 * every second), and one that finds the lease held elsewhere stops at once. Time is the fake
 * timers' clock (performance.now and setInterval), moved by hand.
 */
describe('a relay running the pipeline under a lease', () => {
  const RENEW = 1_000;
  const TTL = 5_000;
  let answer: () => Promise<boolean>;
  let runs: { closedWith: number | null }[];
  let warnings: string[];

  const lease: Lease = { hold: () => answer(), release: async () => undefined, ttlMs: TTL };
  const start = async (): Promise<PipelineHandle> => {
    const run = { closedWith: null as number | null };
    runs.push(run);
    return {
      rulesPath: 'rules.yaml',
      rules: { path: 'rules.yaml', hash: 'h', sinks: {} },
      reload: async () => true,
      metricsText: async () => '',
      paused: async () => ({}),
      wake: () => undefined,
      unwatch: async () => undefined,
      close: async (graceMs) => void (run.closedWith = graceMs),
      down: () => null,
      restarts: 0,
      debugCrash: () => undefined,
    };
  };
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).reason) });
  const running = () => runs.filter((r) => r.closedWith === null).length;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    answer = async () => true;
    runs = [];
    warnings = [];
  });
  afterEach(() => vi.useRealTimers());

  it('keeps delivering while the database is out of reach only as long as the lease surely has not lapsed, then stops; starts again once it holds it again', async () => {
    // Given a relay that took the lease and started its pipeline
    const pipeline = leasedPipeline(lease, start, { rulesPath: 'rules.yaml', logger, renewMs: RENEW });
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toBe(1);
    // When the database goes out of reach just after a renewal
    await vi.advanceTimersByTimeAsync(RENEW);
    answer = async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    };
    // Then it keeps going for up to ttl − 2 × renew (3 s) after the last renewal: no one else can hold the lease yet
    await vi.advanceTimersByTimeAsync(3 * RENEW);
    expect(running()).toBe(1);
    // And stops (cutting attempts in flight: no grace) at the first failed renewal past that, before the 5 s lease lapses
    await vi.advanceTimersByTimeAsync(RENEW);
    expect(runs.map((r) => r.closedWith)).toEqual([0]);
    expect(warnings).toEqual(['the lease could not be renewed: connect ECONNREFUSED 10.0.0.5:5432']);
    // And once the database is back and the lease is its own again, a new pipeline starts from the log
    answer = async () => true;
    await vi.advanceTimersByTimeAsync(RENEW);
    expect(runs.length).toBe(2);
    expect(running()).toBe(1);
    await pipeline.close(0);
    expect(running()).toBe(0);
  });

  it('stops at once when another relay holds the lease, and stands by without starting', async () => {
    // Given a relay running the pipeline
    const pipeline = leasedPipeline(lease, start, { rulesPath: 'rules.yaml', logger, renewMs: RENEW });
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toBe(1);
    // When a renewal finds the lease taken (it lapsed while this relay was frozen, say)
    answer = async () => false;
    await vi.advanceTimersByTimeAsync(RENEW);
    // Then its pipeline stops at that tick, and no other starts while the other relay holds it
    expect(runs.map((r) => r.closedWith)).toEqual([0]);
    expect(warnings).toEqual(['the lease is held by another relay']);
    await vi.advanceTimersByTimeAsync(10 * RENEW);
    expect(runs.length).toBe(1);
    // And the status it shows is the rules it last ran, not nothing
    expect(pipeline.rules?.hash).toBe('h');
    await pipeline.close(0);
  });

  it('a standby that cannot reach the database starts nothing', async () => {
    answer = async () => {
      throw new Error('timeout');
    };
    const pipeline = leasedPipeline(lease, start, { rulesPath: 'rules.yaml', logger, renewMs: RENEW });
    await vi.advanceTimersByTimeAsync(10 * RENEW);
    expect(runs.length).toBe(0);
    expect(warnings).toEqual([]);
    await pipeline.close(0);
  });
});
