import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULTS } from './config.js';
import { GroupCommit } from './log/group-commit.js';
import { Log } from './log/log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createApp } from './receive/app.js';

export interface RelayOptions {
  dbPath: string;
  secrets: () => readonly string[];
  logger: Logger;
  port?: number;
  host?: string;
  maxBodyBytes?: number;
  busyTimeoutMs?: number;
  now?: () => Date;
}

export interface Relay {
  url: string;
  port: number;
  log: Log;
  metrics: Metrics;
  server: Server;
  /** Stop accepting, answer what is in flight, commit, close the database. */
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { logger } = options;
  const log = new Log(options.dbPath, { busyTimeoutMs: options.busyTimeoutMs, now: options.now });
  const metrics = createMetrics();
  metrics.lastSeq.set(log.lastSeq());
  const commit = new GroupCommit(log, ({ size, lastSeq }) => {
    metrics.commitBatch.observe(size);
    if (lastSeq !== null) metrics.lastSeq.set(lastSeq);
  });

  const app = createApp({
    log,
    commit,
    secrets: options.secrets,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    logger,
    now: options.now,
    metrics,
    ready: () => readiness(log, commit),
  });

  const server = app.listen(options.port ?? DEFAULTS.port, options.host ?? DEFAULTS.host);
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
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // keep-alive connections that finish their request while we wait must not hold us up
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        await closed;
        clearInterval(sweep);
        commit.flush();
        log.close();
      })()),
  };
}

/** A failed commit keeps /readyz at 503 this long, unless a commit succeeds first. */
const FAILED_COMMIT_MEMORY_MS = 10_000;

/**
 * Writable means a write lock can be taken, the connection is not read-only, and no commit
 * has failed lately (a full disk shows only when a commit fails). The memory of a failed
 * commit fades, so a balancer that took the relay out brings it back to try again.
 */
function readiness(log: Log, commit: GroupCommit): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const failed = commit.lastError;
  if (failed && Date.now() - commit.lastErrorAt < FAILED_COMMIT_MEMORY_MS) {
    reasons.push(`the last commit failed: ${failed.message}`);
  }
  try {
    if (log.db.pragma('query_only', { simple: true })) throw new Error('the database connection is read-only');
    log.db.exec('BEGIN IMMEDIATE; ROLLBACK');
  } catch (error) {
    reasons.push(`log not writable: ${(error as Error).message}`);
  }
  return { ok: reasons.length === 0, reasons };
}
