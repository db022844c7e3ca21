import { once } from 'node:events';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import type { SharedClock } from '../clock.js';
import { spawnWorker } from '../spawn-worker.js';
import type { Answers, FromPipeline, PipelineInit, RulesView, ToPipeline } from './protocol.js';

/** How the pipeline thread is started: its `PipelineInit` less what the host makes itself (ports, clock memory, log level). */
export interface PipelineThreadOptions
  extends Pick<PipelineInit, 'dbPath' | 'busyTimeoutMs' | 'rulesPath' | 'rulesPreferredPath' | 'env' | 'sinkEnv' | 'pollMs' | 'random'> {
  /** The HTTP thread's logger: the pipeline's lines are written through it, at its level. */
  logger: Logger;
  clock?: SharedClock;
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
}

/** Starts the pipeline thread; resolves once it has tried to load the rules. */
export async function startPipelineThread(o: PipelineThreadOptions): Promise<PipelineHandle> {
  const channel = new MessageChannel();
  const writerState = o.connectWriter(channel.port1);
  const init: PipelineInit = {
    dbPath: o.dbPath,
    ...(o.busyTimeoutMs !== undefined && { busyTimeoutMs: o.busyTimeoutMs }),
    rulesPath: o.rulesPath,
    ...(o.rulesPreferredPath !== undefined && { rulesPreferredPath: o.rulesPreferredPath }),
    env: { ...o.env },
    sinkEnv: o.sinkEnv,
    logLevel: o.logger.level,
    ...(o.pollMs !== undefined && { pollMs: o.pollMs }),
    ...(o.clock && { clock: o.clock.buffer }),
    ...(o.random !== undefined && { random: o.random }),
    writerPort: channel.port2,
    writerState,
  };
  const worker = spawnWorker(new URL('./worker.js', import.meta.url), init, [channel.port2]);
  const destination = (o.logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let rules: RulesView | null = null;
  let rulesPath = o.rulesPath;
  let exited = false;

  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromPipeline) => {
      switch (message.kind) {
        case 'lines':
          for (const line of message.lines) destination.write(`${line}\n`);
          return;
        case 'started':
        case 'rules':
          if (message.rules) ({ path: rulesPath } = rules = message.rules);
          if (message.kind === 'started') resolve();
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
    worker.once('error', (error) => {
      o.logger.error({ err: error.message }, 'the pipeline thread failed');
      reject(error);
    });
    worker.once('exit', (code) => {
      exited = true;
      for (const waiter of pending.values()) waiter.reject(new Error(`the pipeline thread exited (${code})`));
      pending.clear();
      reject(new Error(`the pipeline thread exited (${code}) before it started`));
    });
  });
  await started;

  const ask = <K extends ToPipeline['kind']>(request: Omit<Extract<ToPipeline, { kind: K }>, 'id'> & { kind: K }): Promise<Answers[K]> => {
    if (exited) return Promise.reject(new Error('the pipeline thread has ended'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };

  let closing: Promise<void> | undefined;
  return {
    get rulesPath() {
      return rulesPath;
    },
    get rules() {
      return rules;
    },
    reload: (reason, env) => ask({ kind: 'reload', reason, ...(env && { env: { ...env } }) }),
    metricsText: () => (exited ? Promise.resolve('') : ask({ kind: 'metrics' })),
    paused: () => ask({ kind: 'paused' }),
    wake: () => void ask({ kind: 'wake' }).catch(() => {}),
    unwatch: async () => void (await ask({ kind: 'unwatch' })),
    close: (graceMs) => (closing ??= stop(worker, () => ask({ kind: 'close', graceMs }), () => exited)),
  };
}

/** Asks the thread to close, then ends it (its handles would keep it alive). */
async function stop(worker: Worker, close: () => Promise<unknown>, exited: () => boolean): Promise<void> {
  if (exited()) return;
  const ended = once(worker, 'exit');
  await close().catch(() => {});
  await worker.terminate();
  await ended;
}
