import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { assertBuilt, CLI, cliEnv } from './helpers/cli.js';
import { writeRules } from './helpers/pipeline.js';
import { SECRET, tempDir } from './helpers/relay.js';

/**
 * QA (new-user pass): Ctrl-C or SIGTERM just after a backfill's work was done killed `replay`
 * (exit 130/143) with every plan appended, and the closing line (`planned N deliveries under
 * generation G…`) could be lost: the signals were given back before the result was written.
 * Now a signal once the work is done does not cut the result short: exit 0, the line said.
 */

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

/** Rules whose table is large (one row per rule): writing it to a pipe nobody reads blocks the writer. */
const QUIET_RULES = 3000;

function rulesYaml(): string {
  const quiet = Array.from({ length: QUIET_RULES }, (_, i) => `  - id: quiet-${String(i).padStart(5, '0')}-${'x'.repeat(60)}\n    on: never.${i}\n    actions: [{ sink: console, text: hello }]\n`);
  return `version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions: [{ sink: console, text: hello }]\n${quiet.join('')}`;
}

/** `replay --force` spawned on a fresh log of 3 events under `rulesText`, its output piped. */
function replayForce(rulesText: string): ChildProcess {
  assertBuilt();
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const rules = writeRules(temp.dir, rulesText);
  const db = join(temp.dir, 'relay.db');
  const log = new SqliteLog(db);
  log.append(
    [0, 1, 2].map((i) => {
      const body = JSON.stringify({ event_id: `e${i}`, event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: `c${i}` } });
      return { type: 'event.received' as const, data: { event_id: `e${i}`, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00.000Z', received_at: '2026-06-01T10:00:01.000Z', call_id: `c${i}`, body } };
    }),
  );
  log.close();
  return spawn(process.execPath, [CLI, '--db', db, 'replay', '--force'], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_RULES: rules }), stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('a signal while replay writes its result', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s once the table has begun: exit 0, and the closing line names the generation', async (signal) => {
    // Given a log of 3 events and rules whose result table is ~270 KB
    const child = replayForce(rulesYaml());
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // When the signal comes once the result has begun: the first chunk of the table is read, the
    // rest not yet, so the child is still writing it (the pipe and this side's buffer hold far less)
    await new Promise<void>((resolve) => {
      child.stdout!.once('data', (chunk: Buffer) => {
        child.stdout!.pause();
        stdout += chunk.toString();
        child.kill(signal);
        resolve();
      });
    });
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdout!.resume();
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
    // Then it was not cut short: exit 0, the whole table, and the closing line with its generation
    expect(exit, stderr).toEqual({ code: 0, signal: null });
    expect(stdout).toContain(`quiet-${String(QUIET_RULES - 1).padStart(5, '0')}-`);
    expect(stdout).toMatch(/\nplanned 3 deliveries under generation \S+ for 3 events \(through seq 3\); serve's dispatcher delivers them/);
  }, 90_000);
});
