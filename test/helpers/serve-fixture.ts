import Database from 'better-sqlite3';
import { cliEnv, killServe, startServe, type ServeProcess } from './cli.js';
import { SECRET, tempDir } from './relay.js';

/**
 * One `serve` child per test, in a fresh temp folder, and what tests do to it from outside:
 * another connection holding the write lock. Call `teardown()` in afterEach.
 *
 *   const relay = serveFixture();
 *   afterEach(() => relay.teardown());
 *   const { serve, dbPath } = await relay.start();
 *   relay.lock(dbPath);
 */
export function serveFixture() {
  let serve: ServeProcess | undefined;
  let locker: Database.Database | undefined;
  let cleanup: (() => void) | undefined;
  return {
    /** Starts serve with the test secret (and `env` on top); no rules file, so it only receives. */
    async start(env: Record<string, string> = {}): Promise<{ serve: ServeProcess; dbPath: string }> {
      const temp = tempDir();
      cleanup = temp.cleanup;
      const dbPath = `${temp.dir}/relay.db`;
      serve = await startServe({ dbPath, cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, ...env }) });
      return { serve, dbPath };
    },
    /** Takes the write lock of `dbPath` from another connection (BEGIN IMMEDIATE); returns how to release it. */
    lock(dbPath: string): () => void {
      locker = new Database(dbPath);
      locker.exec('BEGIN IMMEDIATE');
      return () => locker?.exec('ROLLBACK');
    },
    async teardown(): Promise<void> {
      if (locker?.inTransaction) locker.exec('ROLLBACK');
      locker?.close();
      locker = undefined;
      await killServe(serve);
      serve = undefined;
      cleanup?.();
      cleanup = undefined;
    },
  };
}
