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
 * A PostgreSQL failure as the error a user or caller acts on: an unreachable server or a refused
 * login becomes `EnvironmentError` naming the database (exit 1) at open, `LogUnavailableError`
 * (503, retry later) on a write; a missing database names it. Anything else is returned as is.
 */
export function pgError(error: unknown, url: string, phase: 'open' | 'write' = 'open'): unknown {
  const code = (error as { code?: string }).code ?? '';
  const where = redactUrl(url);
  const message = (error as Error).message ?? String(error);
  // 08: connection; 28: login refused; 3D000: no such database; 53: out of resources (disk
  // full, too many connections); 57: the server is shutting down; 25006: a read-only standby
  if (UNREACHABLE.has(code) || /^(08|28|53|57)/.test(code) || code === '3D000' || code === '25006') {
    if (phase === 'write') return new LogUnavailableError(`PostgreSQL at ${where} is unavailable: ${message}`, { cause: error });
    return new EnvironmentError(`cannot open the log at ${where}: ${message}`, code || 'pg_unreachable');
  }
  return error;
}
