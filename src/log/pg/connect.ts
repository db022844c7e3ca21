import pg from 'pg';
import { LogUnavailableError } from '../../errors.js';
import { EnvironmentError } from '../../os-errors.js';
import { redactUrl } from '../location.js';

/** bigint (int8: seqs, counts) as a JS number: seqs stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A pool on `url`: `max` connections (Default: 4), bigints as numbers. */
export function createPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, application_name: 'husky-relay' });
  // an idle client that loses its server (a restart, a failover) must not crash the process
  pool.on('error', () => undefined);
  return pool;
}

/** Connection failures: the server is down, unreachable, or refuses us. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '57P01', '57P03', '08006', '08001', '08004']);

/**
 * Marks `error` as thrown while connecting (`pool.connect()`): whatever it is (a TLS handshake
 * the server refuses, `sslmode` it cannot honour, a password the URL lacks), no session exists,
 * so `pgError` treats it as the database being unreachable, never as a fault of the relay.
 */
export function connectFailure(error: unknown): unknown {
  if (error instanceof Error) Object.assign(error, { hrConnecting: true });
  return error;
}

/** A client of `pool`; a failure to connect is marked as such (`connectFailure`), wherever it is asked for. */
export function connectClient(pool: pg.Pool): Promise<pg.PoolClient> {
  return pool.connect().catch((error: unknown) => Promise.reject(connectFailure(error)));
}

/**
 * A PostgreSQL failure as the error a user or caller acts on: an unreachable server, a refused
 * login or any failure to connect (`connectFailure`) becomes `EnvironmentError` naming the
 * database (exit 1) at open, `LogUnavailableError` (503, retry later) on a write; a missing
 * database names it. Anything else is returned as is.
 */
export function pgError(error: unknown, url: string, phase: 'open' | 'write' = 'open'): unknown {
  const code = (error as { code?: string }).code ?? '';
  const where = redactUrl(url);
  const message = (error as Error).message ?? String(error);
  const connecting = (error as { hrConnecting?: boolean }).hrConnecting === true;
  // 08: connection; 28: login refused; 3D000: no such database; 53: out of resources (disk
  // full, too many connections); 57: the server is shutting down; 25006: a read-only standby
  if (connecting || UNREACHABLE.has(code) || /^(08|28|53|57)/.test(code) || code === '3D000' || code === '25006') {
    if (phase === 'write') return new LogUnavailableError(`PostgreSQL at ${where} is unavailable: ${message}`, { cause: error });
    return new EnvironmentError(`cannot open the log at ${where}: ${message}`, code || 'pg_unreachable');
  }
  return error;
}
