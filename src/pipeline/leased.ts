import type { Logger } from 'pino';
import { DEFAULTS } from '../config/defaults.js';
import type { Lease } from '../log/seam.js';
import type { PipelineHandle } from './host.js';
import type { Answers, RulesView } from './protocol.js';

export interface LeasedPipelineOptions {
  rulesPath: string;
  logger: Logger;
  /** How often the lease is renewed or tried. (Default: `DEFAULTS.pipeline.leaseRenewMs`) */
  renewMs?: number;
}

/**
 * Routing and delivery when several `serve` processes share one log (SPEC §13): the pipeline
 * thread runs only in the process that holds `lease`, so every event is planned once, every
 * delivery is attempted by one process at a time, and per-key order and per-sink rate limits
 * hold as they do in one process. Every process answers webhooks; the others stand by, trying
 * the lease every `renewMs`. The holder renews it as often; one that cannot (the database is out
 * of reach) stops its pipeline, cutting attempts in flight, before the lease can lapse, and a
 * killed holder's lease lapses after `lease.ttlMs`: a standby then starts from the log (open
 * deliveries from the projections), so at most the attempts in flight at the kill are made again.
 */
export function leasedPipeline(lease: Lease, start: (env?: Record<string, string | undefined>) => Promise<PipelineHandle>, o: LeasedPipelineOptions): PipelineHandle {
  const renewMs = o.renewMs ?? DEFAULTS.pipeline.leaseRenewMs;
  let current: PipelineHandle | null = null;
  let starting: Promise<void> | null = null;
  let heldAt = 0;
  let closed = false;
  let env: Record<string, string | undefined> | undefined;
  let lastRules: RulesView | null = null;
  const standby: RulesView = { path: o.rulesPath, hash: '', sinks: {} };

  const stop = async (why: string) => {
    const running = current;
    current = null;
    if (!running) return;
    o.logger.warn({ reason: why }, 'routing and delivery stop here: another relay may take the pipeline lease');
    lastRules = running.rules ?? lastRules;
    await running.close(0);
  };

  const tick = async () => {
    if (closed) return;
    let held: boolean;
    try {
      held = await lease.hold();
    } catch (error) {
      // out of reach: keep going only while the lease surely has not lapsed for the others
      if (current && performance.now() - heldAt > lease.ttlMs - 2 * renewMs) await stop(`the lease could not be renewed: ${(error as Error).message}`);
      return;
    }
    if (closed) return;
    if (!held) return stop('the lease is held by another relay');
    heldAt = performance.now();
    if (current || starting) return;
    starting = start(env)
      .then((handle) => {
        if (closed) return void handle.close(0);
        current = handle;
        o.logger.info('this relay holds the pipeline lease: it routes and delivers');
      })
      .catch((error: Error) => o.logger.error({ err: error.message }, 'routing and delivery did not start; will try again'))
      .finally(() => (starting = null));
    await starting;
  };

  let ticking: Promise<void> = tick();
  const timer = setInterval(() => {
    ticking = ticking.then(tick);
  }, renewMs);
  timer.unref();

  return {
    rulesPath: o.rulesPath,
    get rules() {
      return current?.rules ?? lastRules ?? standby;
    },
    reload: async (reason, next) => {
      if (next) env = next;
      return (await current?.reload(reason, next)) ?? false;
    },
    metricsText: async () => (await current?.metricsText()) ?? '',
    paused: async () => (await current?.paused()) ?? ({} as Answers['paused']),
    wake: () => current?.wake(),
    unwatch: async () => current?.unwatch(),
    close: async (graceMs) => {
      closed = true;
      clearInterval(timer);
      await ticking.catch(() => undefined);
      await starting;
      const running = current;
      current = null;
      await running?.close(graceMs);
      await lease.release().catch(() => undefined);
    },
    down: () => current?.down() ?? null,
    get restarts() {
      return current?.restarts ?? 0;
    },
    debugCrash: () => current?.debugCrash(),
  };
}
