import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { LogReader, LogWriter } from '../../src/log/seam.js';
import { SqliteStore } from '../../src/log/sqlite/sqlite-store.js';
import { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';
import { createLogger } from '../../src/logger.js';
import { sign } from '../../src/receive/verify-signature.js';
import { startRelay, type Relay, type RelayOptions } from '../../src/relay.js';

export const SECRET = 'test-secret-do-not-leak';

/**
 * A temp folder removed by `cleanup()`. A thread a test let go of (a rebuild's damage check that
 * was stopped: it finishes its read on its own) may still open a file in it while it is removed,
 * which fails the removal with ENOTEMPTY: `maxRetries` tries again (Node waits 100 ms more each time).
 */
export function tempDir(prefix = 'husky-relay-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }) };
}

/** Captures the relay's log lines so tests can read what an operator would see. */
export function captureLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ destination, level: 'debug' }), lines };
}

export interface TestRelay extends Relay {
  /** The log, read synchronously on a connection of the test's own (what a user's `husky-relay log` sees). */
  log: SqliteLog;
  dir: string;
  dbPath: string;
  lines: string[];
  post(body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  postSigned(body: string | Buffer, secret?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** A real relay on 127.0.0.1, port 0, with its database in a fresh temp folder. */
export async function startTestRelay(options: Partial<RelayOptions> & { dir?: string } = {}): Promise<TestRelay> {
  const temp = options.dir ? { dir: options.dir, cleanup: () => {} } : tempDir();
  const { logger, lines } = captureLogger();
  const dbPath = options.dbPath ?? join(temp.dir, 'relay.db');
  const relay = await startRelay({ secrets: () => [SECRET], logger, port: 0, host: '127.0.0.1', ...options, dbPath });
  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(`${relay.url}/webhooks/husky`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const log = new SqliteLog(dbPath);
  return {
    ...relay,
    log,
    dir: temp.dir,
    dbPath,
    lines,
    post,
    postSigned: (body, secret = SECRET) => post(body, { 'x-husky-signature': sign(body, secret) }),
    stop: async () => {
      await relay.close();
      log.close();
      temp.cleanup();
    },
  };
}

let counter = 0;
/** A valid envelope with a fresh event_id. */
export function makeEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): string {
  counter += 1;
  return JSON.stringify({
    event_id: `evt_test_${process.pid}_${counter}`,
    event_type: 'call.completed',
    created_at: '2026-06-01T10:00:00Z',
    org_id: 'org_abc_123',
    ...overrides,
    data: { call_id: 'call_1', agent_id: 'agent_alpha', status: 'completed', ...data },
  });
}

/** The log seam (reader and writer) over a SQLite log a test holds open, for code that takes the seam. */
export function seamOf(log: SqliteLog): { reader: LogReader; writer: LogWriter } {
  const store = SqliteStore.over(log);
  return { reader: store.log, writer: store.writer };
}
