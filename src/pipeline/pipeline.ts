import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { Dispatcher } from '../delivery/dispatcher.js';
import { reportAttempt } from '../delivery/report-attempt.js';
import { StaleWatch } from '../delivery/stale-watch.js';
import { lastRulesLoaded } from '../log/last-rules-loaded.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { SinkLoadState } from '../log/types.js';
import type { ProjectionReader } from '../project/reader.js';
import type { PipelineMetrics } from '../metrics.js';
import { Router } from '../route/router.js';
import { RulesSource } from '../rules/rules-source.js';
import type { LoadedRules } from '../rules/types.js';
import type { SinkEnvironment } from '../sinks/types.js';
import { DEFAULTS } from '../config/defaults.js';

export interface PipelineOptions {
  reader: LogReader;
  projections: ProjectionReader;
  commit: LogWriter;
  rulesPath: string;
  /** The rules file that takes over from `rulesPath` when it appears (see `RulesSource`). */
  rulesPreferredPath?: string;
  /** Where `${VAR}` in the rules file comes from. */
  env: Record<string, string | undefined>;
  sinkEnv: SinkEnvironment;
  logger: Logger;
  metrics: PipelineMetrics;
  now?: () => number;
  random?: () => number;
  pollMs?: number;
  /** Told each time different rules take effect. */
  onRules?: (rules: LoadedRules) => void;
}

export interface Pipeline {
  rules: RulesSource;
  router: Router;
  dispatcher: Dispatcher;
  /** Something was appended (an event, a re-drive): route and deliver it. */
  wake(): void;
  close(graceMs: number): Promise<void>;
}

/**
 * After the ack, outside the request: log → route → deliver. The router plans from new
 * events (and the relay's operator events), the dispatcher attempts what is due; both wake on
 * appends and also look every `pollMs`, which is how entries appended by another process
 * (`husky-relay retry`, `resume`) are seen. Each poll also looks for stale work (`StaleWatch`).
 */
export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const rules = new RulesSource(o.rulesPath, o.env, o.logger, { preferred: o.rulesPreferredPath });
  const dispatcher = new Dispatcher({
    reader: o.reader,
    projections: o.projections,
    commit: o.commit,
    env: o.sinkEnv,
    logger: o.logger,
    now: o.now,
    random: o.random,
    pollMs: o.pollMs,
  });
  dispatcher.onAttempt((ended) => {
    o.metrics.deliveries.inc({ sink: ended.sink, outcome: ended.kind });
    o.metrics.attemptSeconds.observe({ sink: ended.sink }, ended.durationMs / 1000);
    reportAttempt(o.logger, ended);
  });
  new Gauge({
    name: 'husky_relay_sink_paused',
    help: 'Sinks that start no attempt, by sink and code (1 while paused; log_unavailable: attempts cannot be recorded; a credential code such as token_revoked: paused until resumed)',
    labelNames: ['sink', 'code'],
    registers: [o.metrics.registry],
    collect() {
      this.reset();
      for (const [sink, pause] of Object.entries(dispatcher.paused())) this.set({ sink, code: pause.code }, 1);
    },
  });
  const stale = new StaleWatch({ projections: o.projections, commit: o.commit, logger: o.logger, now: o.now ?? Date.now });
  const router = new Router(o.reader, o.commit, () => rules.current, o.logger, () => dispatcher.wake(), {
    onRuleFailure: (failure) => o.metrics.ruleErrors.inc({ rule: failure.rule_id }),
  });

  let recording: Promise<void> = Promise.resolve();
  let starting = true;
  rules.onChange((loaded) => {
    o.onRules?.(loaded);
    // one after the other: the newest rules.loaded is the rules in force, which `status` reads.
    // A log that cannot be read fails the start (serve names the damage); after it, a reload logs it
    const next = recording.catch(() => undefined).then(() => recordRulesLoaded(o.reader, o.commit, loaded, o.logger));
    recording = starting ? next : next.catch((error: Error) => o.logger.error({ err: error.message }, 'could not record rules.loaded'));
    dispatcher.setRules(loaded);
    stale.setRules(loaded);
    router.wake();
  });
  await rules.reload('start');
  // started means the rules in force are in the log (`rules.loaded`), before anything is planned under them
  await recording;
  starting = false;
  rules.watch();

  const wake = () => {
    router.wake();
    dispatcher.wake();
  };
  // stale work is looked for on the poll only, not on every append: its time passes on its own
  const poll = setInterval(() => {
    wake();
    void stale.check();
  }, o.pollMs ?? DEFAULTS.delivery.pollMs);
  poll.unref();
  wake();

  return {
    rules,
    router,
    dispatcher,
    wake,
    close: async (graceMs) => {
      clearInterval(poll);
      rules.close();
      await router.stop();
      await stale.stop(); // a look in progress ends before the log closes
      await dispatcher.stop(graceMs);
    },
  };
}

/**
 * `rules.loaded` each time a different rules file takes effect, or the same one with sinks in
 * another state (a reload that finds a token now set), or when the last entry has no sink
 * states (an older relay wrote it): `status` reads the running relay's sinks from it.
 */
async function recordRulesLoaded(log: LogReader, commit: LogWriter, rules: LoadedRules, logger: Logger): Promise<void> {
  const sinks = sinkStatesOf(rules);
  // a log that cannot be read: thrown (see the caller); a damaged last rules.loaded (not JSON, or
  // not of the shape a relay writes) counts as none, as the router skips a damaged entry: a new one is recorded after it
  const { entry: last, damaged } = await lastRulesLoaded(log);
  if (damaged) logger.warn({ seq: damaged.seq }, `the last rules.loaded, entry ${damaged.seq}, is damaged (${damaged.what}): recording the rules in force again`);
  if (last && last.data.rules_hash === rules.hash && last.data.path === rules.path && sameSinkStates(last.data.sinks, sinks)) return;
  try {
    await commit.append([{ type: 'rules.loaded', data: { rules_hash: rules.hash, path: rules.path, sinks } }]);
  } catch (error) {
    logger.error({ err: (error as Error).message }, 'could not record rules.loaded');
  }
}

/** The `sinks` of a `rules.loaded`: each declared sink enabled, or disabled and why. */
function sinkStatesOf(rules: LoadedRules): Record<string, SinkLoadState> {
  return Object.fromEntries(
    Object.entries(rules.sinks).map(([name, s]) => [name, { enabled: s.enabled, ...(s.disabled_reason !== undefined && { disabled_reason: s.disabled_reason }) }]),
  );
}

/** Whether a recorded `sinks` (undefined: an older relay's entry) says what `b` says, in any key order. */
function sameSinkStates(a: Record<string, SinkLoadState> | undefined, b: Record<string, SinkLoadState>): boolean {
  if (a === undefined || Object.keys(a).length !== Object.keys(b).length) return false;
  return Object.entries(b).every(([name, s]) => a[name]?.enabled === s.enabled && a[name]?.disabled_reason === s.disabled_reason);
}
