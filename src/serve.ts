import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULTS } from './config.js';
import { GroupCommit } from './log/group-commit.js';
import { Log } from './log/log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { startPipeline, type Pipeline } from './pipeline.js';
import { registerStateGauges } from './project/gauges.js';
import { createApp } from './receive/app.js';
import type { SinkEnvironment } from './sinks/types.js';

/** How long an idle keep-alive connection stays open: longer than Caddy's 2 minutes. */
export const KEEP_ALIVE_MS = 125_000;

export interface RelayOptions {
  dbPath: string;
  secrets: () => readonly string[];
  logger: Logger;
  port?: number;
  host?: string;
  maxBodyBytes?: number;
  busyTimeoutMs?: number;
  now?: () => Date;
  /** The rules file. Without one the relay only receives and logs (nothing is routed). */
  rulesPath?: string;
  /** The rules file that takes over from `rulesPath` once it exists (no rules file was given). */
  rulesPreferredPath?: string;
  /** Where `${VAR}` in the rules file comes from. (Default: process.env) */
  env?: Record<string, string | undefined>;
  sinkEnv?: SinkEnvironment;
  /** How often router and dispatcher look for work besides being woken. (Default: 500 ms) */
  pollMs?: number;
  /** Clock (ms) and randomness of the dispatcher: backoff, jitter, Retry-After. */
  clock?: () => number;
  random?: () => number;
  /** How long running attempts may take to finish on shutdown. (Default: 10 s) */
  shutdownGraceMs?: number;
}

export interface Relay {
  url: string;
  port: number;
  log: Log;
  metrics: Metrics;
  server: Server;
  pipeline: Pipeline | null;
  /** Stop accepting, answer what is in flight, commit, close the database. */
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { logger } = options;
  const log = new Log(options.dbPath, { busyTimeoutMs: options.busyTimeoutMs, now: options.now });
  const metrics = createMetrics();
  metrics.lastSeq.set(log.lastSeq());
  registerStateGauges(metrics.registry, log.db, options.dbPath);
  const commit = new GroupCommit(options.dbPath, { busyTimeoutMs: options.busyTimeoutMs, now: options.now }, ({ size, lastSeq }) => {
    metrics.commitBatch.observe(size);
    if (lastSeq !== null) metrics.lastSeq.set(lastSeq);
    if (lastSeq !== null) pipeline?.wake();
  });
  let pipeline: Pipeline | null = null;
  if (options.rulesPath) {
    pipeline = await startPipeline({
      log,
      commit,
      rulesPath: options.rulesPath,
      rulesPreferredPath: options.rulesPreferredPath,
      env: options.env ?? process.env,
      sinkEnv: options.sinkEnv ?? { slackApiUrl: DEFAULTS.slackApiUrl, hubspotBaseUrl: DEFAULTS.hubspotBaseUrl },
      logger,
      metrics,
      now: options.clock,
      random: options.random,
      pollMs: options.pollMs,
    });
  }

  const app = createApp({
    log,
    commit,
    secrets: options.secrets,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    logger,
    now: options.now,
    metrics,
    ready: () => readiness(commit, pipeline),
  });

  const server = app.listen(options.port ?? DEFAULTS.port, options.host ?? DEFAULTS.host);
  // A reverse proxy keeps idle connections to the relay open for reuse (Caddy 2 min, nginx's
  // upstream keepalive 60 s). Node closes them after 5 s by default, and a proxy that sends a
  // POST into a connection just closed answers 502 without retrying it. Idle connections stay
  // open longer than either proxy keeps them, so the proxy is the one that closes; the header
  // timeout stays above it so it cannot end an idle connection first.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  await once(server, 'listening');
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address === '0.0.0.0' ? '127.0.0.1' : address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    log,
    metrics,
    server,
    pipeline,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // keep-alive connections that finish their request while we wait must not hold us up
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        await closed;
        clearInterval(sweep);
        await pipeline?.close(options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs);
        await commit.close();
        log.close();
      })()),
  };
}

/** A failed commit keeps /readyz at 503 this long, unless a commit succeeds first. */
const FAILED_COMMIT_MEMORY_MS = 10_000;

/**
 * Writable means the writer can take the write lock, its connection is not read-only, and no
 * commit has failed lately (a full disk shows only when a commit fails). The memory of a
 * failed commit fades, so a balancer that took the relay out brings it back to try again.
 * The probe runs on the writer thread: a lock held by another process must never stall the
 * event loop that answers webhooks.
 */
async function readiness(commit: GroupCommit, pipeline: Pipeline | null): Promise<{ ok: boolean; reasons: string[] }> {
  const reasons: string[] = [];
  if (pipeline && !pipeline.rules.current) reasons.push(`rules not loaded: fix ${pipeline.rules.path} (see the log)`);
  const failed = commit.lastError;
  if (failed && Date.now() - commit.lastErrorAt < FAILED_COMMIT_MEMORY_MS) {
    reasons.push(`the last commit failed: ${failed.message}`);
  }
  const notWritable = await commit.probe();
  if (notWritable) reasons.push(`log not writable: ${notWritable}`);
  return { ok: reasons.length === 0, reasons };
}
