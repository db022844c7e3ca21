import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { SharedClock, systemClock } from '../clock.js';
import { DEFAULTS } from '../config/defaults.js';
import { WriterClient } from '../log/sqlite/writer-client.js';
import { UserError } from '../errors.js';
import { storageError } from '../log/sqlite/storage-error.js';
import { openStore, type Store } from '../log/store.js';
import { createLogger } from '../logger.js';
import { createPipelineMetrics } from '../metrics.js';
import type { LoadedRules } from '../rules/types.js';
import { sinkKind } from '../sinks/registry.js';
import { startPipeline, type Pipeline } from './pipeline.js';
import { lowerThreadPriority } from '../thread-priority.js';
import { lingering } from '../delivery/wakeup.js';
import type { Answers, FromPipeline, PipelineInit, RulesView, ToPipeline } from './protocol.js';

/**
 * The pipeline thread: routing, delivery and the sinks' SDKs, off the thread that answers
 * webhooks (`relay.ts`). It reads the log on a connection of its own, appends through its own
 * channel to the writer thread (which also tells it of every commit, so it wakes without
 * asking the database), keeps its own metrics (served through `/metrics` on request) and
 * writes its log lines through the HTTP thread's logger.
 */
const init = workerData as PipelineInit;
if (DEFAULTS.pipeline.niceness > 0) lowerThreadPriority(DEFAULTS.pipeline.niceness);
const port = parentPort!;
const send = (message: FromPipeline) => port.postMessage(message);

const lines = lineForwarder((batch) => send({ kind: 'lines', lines: batch }));
const logger = createLogger({ level: init.logLevel, destination: lines });
const metrics = createPipelineMetrics();
const clock = init.clock ? SharedClock.attach(init.clock) : systemClock;
const fixedRandom = init.random;
// the pipeline's entries are stamped by its clock: `planned_at` and the stale watch's ages agree
const writer = new WriterClient(init.writerPort, init.writerState, () => new Date(clock.now()), DEFAULTS.pipeline.appendLingerMs);
const { store, pipeline } = await start().catch((error: unknown) => {
  // a file that cannot be read (damaged, locked) is the machine's: serve says so in one line;
  // the HTTP thread ends this thread when it reads this message
  const known = storageError(error, init.dbPath, init.busyTimeoutMs);
  const failure = known instanceof UserError ? { message: known.message, code: known.code, user: true } : { message: (error as Error).stack ?? String(error), code: 'internal', user: false };
  lines.flush();
  send({ kind: 'failed', ...failure });
  return new Promise<never>(() => {});
});
writer.onAppended(lingering(() => pipeline.wake(), DEFAULTS.pipeline.wakeLingerMs));
send({ kind: 'started', rules: pipeline.rules.current ? view(pipeline.rules.current) : null });

/** Opens the log and starts routing and delivery; throws what opening or the first reads threw. */
async function start(): Promise<{ store: Store; pipeline: Pipeline }> {
  // started (again) while serve runs: on the WAL its writer watches only
  const lateOpen = init.watchedWal && { watched: init.watchedWal, by: 'the pipeline thread' };
  const store = await openStore(init.dbPath, { busyTimeoutMs: init.busyTimeoutMs, masterKeys: init.masterKeys, lateOpen });
  try {
    const pipeline = await startPipeline({
      reader: store.log,
      projections: store.projections,
      commit: writer,
      rulesPath: init.rulesPath,
      rulesPreferredPath: init.rulesPreferredPath,
      env: init.env,
      sinkEnv: init.sinkEnv,
      logger,
      metrics,
      now: clock.now,
      random: fixedRandom === undefined ? Math.random : () => fixedRandom,
      pollMs: init.pollMs,
      onRules: (rules) => send({ kind: 'rules', rules: view(rules) }),
    });
    return { store, pipeline };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

port.on('message', (request: ToPipeline) => {
  void answer(request).then(
    (value) => send({ kind: 'answer', id: request.id, ok: true, value }),
    (error: Error) => send({ kind: 'answer', id: request.id, ok: false, message: error.message }),
  );
});

async function answer(request: ToPipeline): Promise<Answers[ToPipeline['kind']]> {
  switch (request.kind) {
    case 'reload':
      return pipeline.rules.reload(request.reason, request.env);
    case 'metrics':
      return metrics.registry.metrics();
    case 'wake':
      pipeline.wake();
      return null;
    case 'paused':
      return pipeline.dispatcher.paused();
    case 'unwatch':
      pipeline.rules.close();
      return null;
    case 'crash':
      // the test hook of `PipelineHandle.debugCrash`: an uncaught error, as a bug would throw
      setImmediate(() => {
        throw new Error('crash asked for by a test');
      });
      return null;
    case 'close':
      await pipeline.close(request.graceMs);
      writer.close();
      await store.close();
      lines.flush();
      return null;
  }
}

/** What the HTTP thread keeps of the rules in force: the sinks' state, as `status` shows it. */
function view(rules: LoadedRules): RulesView {
  const sinks: RulesView['sinks'] = {};
  for (const [name, s] of Object.entries(rules.sinks)) {
    const link = sinkKind(s.config.type).resultLink?.(s.config);
    sinks[name] = { enabled: s.enabled, ...(s.disabled_reason !== undefined && { disabled_reason: s.disabled_reason }), ...(link && { link }) };
  }
  return { path: rules.path, hash: rules.hash, sinks };
}

/**
 * A pino destination that hands its lines over in batches, at most one message per turn of the
 * event loop; `flush()` hands over what is pending at once (before the thread ends).
 */
function lineForwarder(hand: (lines: string[]) => void): Writable & { flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const lines = pending;
    pending = [];
    if (lines.length > 0) hand(lines);
  };
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      done();
    },
  });
  return Object.assign(stream, { flush });
}
