import { MessageChannel, type Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import type { SharedClock } from '../clock.js';
import { DEFAULTS } from '../config/defaults.js';
import { spawnWorker } from '../spawn-worker.js';
import { codeOf, EnvironmentError } from '../os-errors.js';
import { WAL_LOST } from '../log/sqlite/writer-protocol.js';
import type { Answers, FromPipeline, PipelineInit, RulesView, ToPipeline } from './protocol.js';

/** How the pipeline thread is started: its `PipelineInit` less what the host makes itself (ports, clock memory, log level). */
export interface PipelineThreadOptions
  extends Pick<PipelineInit, 'dbPath' | 'busyTimeoutMs' | 'masterKeys' | 'rulesPath' | 'rulesPreferredPath' | 'env' | 'sinkEnv' | 'pollMs' | 'random' | 'watchedWal'> {
  /** The HTTP thread's logger: the pipeline's lines are written through it, at its level. */
  logger: Logger;
  clock?: SharedClock;
  /** Waits before the thread is started again after it failed, the last repeated. (Default: `DEFAULTS.pipeline.restartDelaysMs`) */
  restartDelaysMs?: readonly number[];
  /** Hands the writer thread one end of a new channel; the pipeline gets the other. */
  connectWriter(port: import('node:worker_threads').MessagePort): SharedArrayBuffer;
}

/**
 * The pipeline thread as the HTTP thread sees it (`relay.pipeline`): what routing and delivery
 * tell (the rules in force), and what can be asked of them. Everything goes by message: nothing
 * of routing or delivery runs on the thread that answers webhooks.
 */
export interface PipelineHandle {
  /** The rules file in force or being tried. */
  readonly rulesPath: string;
  /** The rules in force as `status` shows them; null until a rules file has loaded. */
  readonly rules: RulesView | null;
  /** Loads the rules file again (SIGHUP); `env` is the environment `${VAR}` is read from from now on. True if it took effect. */
  reload(reason: string, env?: Record<string, string | undefined>): Promise<boolean>;
  /** The pipeline's metrics, in Prometheus text format. */
  metricsText(): Promise<string>;
  /** Sinks that start no attempt: attempts cannot be recorded, or credentials refused (see `Dispatcher.paused`). */
  paused(): Promise<Answers['paused']>;
  /** Look for work now (tests, after moving their clock). */
  wake(): void;
  /** Stops watching the rules file (tests that reload by hand only). */
  unwatch(): Promise<void>;
  /** Starts nothing new, lets attempts finish for up to `graceMs`, then ends the thread. */
  close(graceMs: number): Promise<void>;
  /** Why routing and delivery are not running now (the thread failed and waits to restart), or null. (`/readyz`) */
  down(): string | null;
  /** How many times the thread has been started again after it failed. */
  readonly restarts: number;
  /** Test hook: makes the thread fail with an uncaught error, as a bug in routing or a sink would. */
  debugCrash(): void;
}

/** One run of the pipeline thread, from its start to its exit. */
interface Run {
  worker: Worker;
  ask<K extends ToPipeline['kind']>(request: Omit<Extract<ToPipeline, { kind: K }>, 'id'> & { kind: K }): Promise<Answers[K]>;
  exited: () => boolean;
  /** Resolves with the exit code once the thread has ended, however. */
  ended: Promise<number>;
}

/**
 * Starts the pipeline thread; resolves once it has tried to load the rules. Rejects if the
 * first start fails (serve then stops). Afterwards the thread is supervised: if it fails (an
 * uncaught error in routing, a sink or an SDK), the failure is logged and it is started again
 * after a backoff (`DEFAULTS.pipeline.restartDelaysMs`). Nothing is lost: a new run reads its
 * checkpoint and the open deliveries from the log, and an attempt in flight at the failure is
 * made again (at-least-once). Webhooks are acknowledged throughout; `/readyz` says 503 while
 * the thread is down. A start that fails because the log's WAL file is gone (`WAL_LOST`: the
 * thread would have opened a new one) is not tried again: `/readyz` says so until `serve` restarts.
 */
export async function startPipelineThread(o: PipelineThreadOptions): Promise<PipelineHandle> {
  let rules: RulesView | null = null;
  let rulesPath = o.rulesPath;
  let restarts = 0;
  let downSince: string | null = null;
  let closing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onRules = (view: RulesView | null) => {
    if (view) ({ path: rulesPath } = rules = view);
  };
  let run = await boot(o, onRules);

  const supervise = (current: Run) => {
    void current.ended.then((code) => {
      if (closing || current !== run) return;
      const delays = o.restartDelaysMs ?? DEFAULTS.pipeline.restartDelaysMs;
      const delay = delays[Math.min(restarts, delays.length - 1)]!;
      downSince = `the pipeline thread (routing and delivery) failed (exit ${code}); starting it again in ${delay} ms`;
      o.logger.error({ code, restarts, delay_ms: delay }, downSince);
      timer = setTimeout(() => {
        if (closing) return;
        boot(o, onRules).then(
          (next) => {
            restarts += 1;
            run = next;
            downSince = null;
            o.logger.warn({ restarts }, 'the pipeline thread started again');
            supervise(next);
          },
          (error: Error) => {
            o.logger.error({ err: error.message }, 'the pipeline thread could not start again');
            // its log's WAL is gone: no start can succeed before serve restarts, so none is tried
            if (codeOf(error) === WAL_LOST) downSince = `the pipeline thread (routing and delivery) cannot start again: ${error.message}`;
            else supervise(current);
          },
        );
      }, delay);
      timer.unref();
    });
  };
  supervise(run);

  return {
    get rulesPath() {
      return rulesPath;
    },
    get rules() {
      return rules;
    },
    get restarts() {
      return restarts;
    },
    down: () => downSince,
    reload: (reason, env) => run.ask({ kind: 'reload', reason, ...(env && { env: { ...env } }) }),
    metricsText: () => (run.exited() ? Promise.resolve('') : run.ask({ kind: 'metrics' })),
    paused: () => run.ask({ kind: 'paused' }),
    wake: () => void run.ask({ kind: 'wake' }).catch(() => {}),
    unwatch: async () => void (await run.ask({ kind: 'unwatch' })),
    debugCrash: () => void run.ask({ kind: 'crash' }).catch(() => {}),
    close: (graceMs) =>
      (closing ??= (async () => {
        clearTimeout(timer);
        await stop(run, graceMs);
      })()),
  };
}

/** Spawns one run of the thread and waits for its `started` (or its failure to start). */
async function boot(o: PipelineThreadOptions, onRules: (view: RulesView | null) => void): Promise<Run> {
  const channel = new MessageChannel();
  const writerState = o.connectWriter(channel.port1);
  const init: PipelineInit = {
    dbPath: o.dbPath,
    ...(o.busyTimeoutMs !== undefined && { busyTimeoutMs: o.busyTimeoutMs }),
    ...(o.masterKeys !== undefined && { masterKeys: o.masterKeys }),
    rulesPath: o.rulesPath,
    ...(o.rulesPreferredPath !== undefined && { rulesPreferredPath: o.rulesPreferredPath }),
    env: { ...o.env },
    sinkEnv: o.sinkEnv,
    logLevel: o.logger.level,
    ...(o.pollMs !== undefined && { pollMs: o.pollMs }),
    ...(o.clock && { clock: o.clock.buffer }),
    ...(o.random !== undefined && { random: o.random }),
    ...(o.watchedWal && { watchedWal: o.watchedWal }),
    writerPort: channel.port2,
    writerState,
  };
  const worker = spawnWorker(new URL('./worker.js', import.meta.url), init, [channel.port2]);
  const destination = (o.logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let exited = false;
  const ended = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      exited = true;
      for (const waiter of pending.values()) waiter.reject(new Error(`the pipeline thread exited (${code})`));
      pending.clear();
      resolve(code);
    });
  });
  // an uncaught error ends the thread ('exit' follows): say what it was
  worker.on('error', (error) => o.logger.error({ err: error.stack ?? error.message }, 'the pipeline thread failed'));

  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromPipeline) => {
      switch (message.kind) {
        case 'lines':
          for (const line of message.lines) destination.write(`${line}\n`);
          return;
        case 'started':
        case 'rules':
          onRules(message.rules);
          if (message.kind === 'started') resolve();
          return;
        case 'failed':
          // it waits to be ended: end it, and say why it could not start (a user's error stays one)
          reject(message.user ? new EnvironmentError(message.message, message.code) : new Error(`the pipeline thread could not start: ${message.message}`));
          void worker.terminate();
          return;
        case 'answer': {
          const waiter = pending.get(message.id);
          pending.delete(message.id);
          if (message.ok) waiter?.resolve(message.value);
          else waiter?.reject(new Error(message.message));
          return;
        }
      }
    });
    void ended.then((code) => reject(new Error(`the pipeline thread exited (${code}) before it started`)));
  });
  await started;

  return {
    worker,
    ended,
    exited: () => exited,
    ask(request) {
      if (exited) return Promise.reject(new Error('the pipeline thread is not running'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ ...request, id });
      });
    },
  };
}

/** Asks the thread to close, then ends it (its handles would keep it alive). */
async function stop(run: Run, graceMs: number): Promise<void> {
  if (run.exited()) return;
  await run.ask({ kind: 'close', graceMs }).catch(() => {});
  await run.worker.terminate();
  await run.ended;
}
