import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { openStore, type ServeReads, type ServeReadsOptions, type Store } from './log/store.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { SharedClock } from './clock.js';
import { startPipelineThread, type PipelineHandle, type PipelineThreadOptions } from './pipeline/host.js';
import { leasedPipeline } from './pipeline/leased.js';
import type { ServeWriter } from './log/seam.js';
import { createApp } from './receive/app.js';
import { closeHttp } from './receive/close-http.js';
import { createHttpServer } from './receive/http-server.js';
import type { SinkEnvironment } from './sinks/types.js';
import { DEFAULTS } from './config/defaults.js';
import type { ConsoleDeps, WebConsole } from './console/index.js';
import { startRetention } from './privacy/retention.js';

export interface RelayOptions {
  dbPath: string;
  secrets: () => readonly string[];
  logger: Logger;
  port?: number;
  host?: string;
  maxBodyBytes?: number;
  busyTimeoutMs?: number;
  /** `HUSKY_RELAY_MASTER_KEY` as set (README "Personal data"); unset: the `master-key` file beside the database. */
  masterKeys?: string;
  /** Erase calls whose last event is older than this (ms), at least hourly (README "Personal data"). (Default: off) */
  retentionMs?: number;
  now?: () => Date;
  /** The rules file. Without one the relay only receives and logs (nothing is routed). */
  rulesPath?: string;
  /** The rules file that takes over from `rulesPath` once it exists (no rules file was given). */
  rulesPreferredPath?: string;
  /** The variables `${VAR}` in the rules file may name (`RelayConfig.env`). (Default: none) */
  env?: Record<string, string | undefined>;
  sinkEnv?: SinkEnvironment;
  /** How often router and dispatcher look for work besides being woken. (Default: 500 ms) */
  pollMs?: number;
  /** The clock of routing and delivery (backoff, jitter, `Retry-After`, rate limits): tests move a shared one. (Default: the system clock) */
  clock?: SharedClock;
  /** A fixed value in [0, 1) for the backoff's jitter, so tests know each wait. (Default: random) */
  random?: number;
  /**
   * How long a stop may take: requests in flight are answered and running attempts finish
   * meanwhile; what remains then is cut. (Default: 10 s)
   */
  shutdownGraceMs?: number;
  /** Waits before the pipeline thread is started again after it failed. (Default: `DEFAULTS.pipeline.restartDelaysMs`) */
  pipelineRestartDelaysMs?: readonly number[];
  /** Time to receive a request, headers and body. (Default: `DEFAULTS.http.requestTimeoutMs`, 30 s) */
  requestTimeoutMs?: number;
  /** The web console under `/ui/` (README "Console"): its token and, for tests, its clock and tuning. Absent: no console (`serve --no-ui`). */
  ui?: Pick<ConsoleDeps, 'token' | 'now' | 'livePollMs' | 'sessions'>;
  /** Bounds of the console's read thread (SQLite), and its test gate. (Default: `DEFAULTS.console.maxQueuedReads`, `readTimeoutMs`) */
  reads?: Omit<ServeReadsOptions, 'logger'>;
}

export interface Relay {
  url: string;
  port: number;
  /** The log's reads and projections, on this thread's own connection. */
  store: Store;
  /** The reads of the console, its live updates and the state gauges (SQLite: on their own thread, see `Store.serveReads`). */
  reads: ServeReads;
  metrics: Metrics;
  server: Server;
  /** Routing and delivery, on their own thread; null without a rules file. */
  pipeline: PipelineHandle | null;
  /** Stop accepting, answer what is in flight, commit, close the database. */
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { logger } = options;
  const store = await openStore(options.dbPath, { busyTimeoutMs: options.busyTimeoutMs, now: options.now, masterKeys: options.masterKeys, checkKeys: true });
  const metrics = createMetrics();
  metrics.lastSeq.set(await store.log.lastSeq());
  // the console's pages, live updates and gauges read off this thread: a heavy page never delays an ack
  const reads = store.serveReads({ ...options.reads, logger });
  reads.registerGauges(metrics.registry);
  const commit = store.serveWriter(({ size, lastSeq, ms, waitedMs }) => {
    metrics.commitBatch.observe(size);
    metrics.commitSeconds.observe(ms / 1000);
    metrics.commitWaitSeconds.observe(waitedMs / 1000);
    if (lastSeq !== null) metrics.lastSeq.set(lastSeq);
  });
  let pipeline: PipelineHandle | null = null;
  const thread = (env = options.env ?? {}): Promise<PipelineHandle> =>
    startPipelineThread({ ...pipelineOptions(options, (port) => commit.connect(port)), watchedWal: commit.watchedWal, env });
  // routing, delivery and the sinks' SDKs never share this thread with the webhooks' acks; it has
  // started (its rules are in the log) before the first webhook can be answered. Where several
  // relays share the log (PostgreSQL), it runs in the one holding the pipeline lease.
  const lease = store.lease?.('pipeline', `${hostname()}:${process.pid}:${randomUUID()}`);
  const starting = !options.rulesPath
    ? Promise.resolve(null)
    : lease
      ? Promise.resolve(leasedPipeline(lease, thread, { rulesPath: options.rulesPath, logger }))
      : thread();

  const app = createApp({
    reader: store.log,
    commit,
    secrets: options.secrets,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.http.maxBodyBytes,
    logger,
    now: options.now,
    metrics,
    ready: () => readiness(commit, pipeline),
    moreMetrics: () => pipeline?.metricsText() ?? Promise.resolve(''),
  });

  let web: WebConsole | undefined;
  if (options.ui) {
    try {
      // loaded only with a console: `serve --no-ui` pays nothing for it
      const { createConsole } = await import('./console/index.js');
      web = createConsole({
        ...options.ui,
        projections: reads.projections,
        log: reads.log,
        writer: commit,
        rules: () => pipeline?.rules ?? null,
        rulesPath: () => pipeline?.rulesPath ?? options.rulesPath,
        env: () => options.env ?? {},
        logger,
      });
    } catch (error) {
      // a console that cannot start (its assets missing from node_modules) leaves nothing running
      await (await starting.catch(() => null))?.close(0);
      await commit.close();
      await reads.close();
      await store.close();
      throw error;
    }
    app.use(web.middleware);
  }

  // keep-alive for proxies, and bounds for slow clients that never touch idle connections
  const server = createHttpServer(app.callback(), { requestTimeoutMs: options.requestTimeoutMs });
  try {
    pipeline = await starting;
    server.listen(options.port ?? DEFAULTS.port, options.host ?? DEFAULTS.host);
    await once(server, 'listening');
  } catch (error) {
    // a start that fails (the port is taken, the pipeline thread cannot start) leaves nothing running
    server.close();
    await (await starting.catch(() => null))?.close(0);
    await commit.close();
    await reads.close();
    await store.close();
    throw error;
  }
  const retention =
    options.retentionMs === undefined
      ? null
      : startRetention({ privacy: store.privacy, windowMs: options.retentionMs, now: options.now ?? (() => new Date()), logger });
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address === '0.0.0.0' ? '127.0.0.1' : address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    reads,
    metrics,
    server,
    pipeline,
    close: () =>
      (closing ??= (async () => {
        // one bound for the whole stop: answering requests and finishing attempts go together
        const grace = options.shutdownGraceMs ?? DEFAULTS.delivery.shutdownGraceMs;
        web?.close(); // open pages' live streams end now: they would hold the stop for its whole grace
        await retention?.stop();
        await Promise.all([closeHttp(server, Date.now() + grace), pipeline?.close(grace)]);
        await commit.close();
        await reads.close();
        await store.close();
      })()),
  };
}

/**
 * Ready means the next commit can succeed, as far as can be told without making one: the writer
 * can take the write lock and write (a lock held elsewhere, a read-only file or connection, a
 * lost WAL file show there), and no commit has failed since the last one that succeeded (a full
 * disk or a corrupted page show only then; see `GroupCommit.failure`). The probe runs on the
 * writer thread: a lock held by another process must never stall the event loop.
 */
async function readiness(commit: ServeWriter, pipeline: PipelineHandle | null): Promise<{ ok: boolean; reasons: string[] }> {
  const reasons: string[] = [];
  if (pipeline && !pipeline.rules) reasons.push(`rules not loaded: fix ${pipeline.rulesPath} (see the log)`);
  const down = pipeline?.down();
  if (down) reasons.push(down);
  // probe first: a lock or read-only failure it finds cleared is forgotten
  const notWritable = await commit.probe();
  if (notWritable) reasons.push(`log not writable: ${notWritable}`);
  const failed = commit.failure();
  if (failed) reasons.push(`the last commit failed: ${failed}`);
  return { ok: reasons.length === 0, reasons };
}

/** The pipeline thread's options from the relay's (its env aside). */
function pipelineOptions(options: RelayOptions, connectWriter: PipelineThreadOptions['connectWriter']): Omit<PipelineThreadOptions, 'env'> {
  return {
    dbPath: options.dbPath,
    busyTimeoutMs: options.busyTimeoutMs,
    masterKeys: options.masterKeys,
    connectWriter,
    rulesPath: options.rulesPath!,
    rulesPreferredPath: options.rulesPreferredPath,
    sinkEnv: options.sinkEnv ?? { slackApiUrl: DEFAULTS.slackApiUrl, hubspotBaseUrl: DEFAULTS.hubspotBaseUrl },
    logger: options.logger,
    clock: options.clock,
    random: options.random,
    pollMs: options.pollMs,
    restartDelaysMs: options.pipelineRestartDelaysMs,
  };
}
