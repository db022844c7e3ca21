import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { cliEnv, jsonLines, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { makeEvent, SECRET, tempDir } from './helpers/relay.js';

const env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'info' });

function post(serve: ServeProcess, body: string): Promise<Response> {
  return fetch(serve.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) },
    body,
  });
}

/** event_ids in the log, read with `husky-relay log --json` as an operator would. */
async function eventIdsInLog(dbPath: string, cwd: string): Promise<string[]> {
  const result = await runCli(['--db', dbPath, 'log', '--json', '--type', 'event.received'], { cwd, env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { data: { event_id: string } }).data.event_id);
}

describe('durability of an acknowledged event', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  const children: ServeProcess[] = [];
  beforeEach(() => {
    temp = tempDir();
    dbPath = join(temp.dir, 'relay.db');
  });
  afterEach(async () => {
    for (const serve of children.splice(0)) {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
      await serve.exited;
    }
    temp.cleanup();
  });

  it('an event answered 200 survives SIGKILL right after the answer', async () => {
    // Given a relay process
    const first = await startServe({ dbPath, cwd: temp.dir, env });
    children.push(first);
    // When an event is acknowledged and the process is killed at once, before it can tidy up,
    // while more events are on their way
    const body = makeEvent();
    const answer = await post(first, body);
    first.child.kill('SIGKILL');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ ok: true, event_id: JSON.parse(body).event_id, seq: 1 });
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    // Then, once it is started again on the same database, the event is in the log
    const second = await startServe({ dbPath, cwd: temp.dir, env });
    children.push(second);
    expect(await eventIdsInLog(dbPath, temp.dir)).toEqual([JSON.parse(body).event_id]);
    // And HuskyVoice's retry of it is a duplicate, a new event gets the next seq
    expect(await (await post(second, body)).json()).toMatchObject({ duplicate: true });
    expect(await (await post(second, makeEvent())).json()).toMatchObject({ seq: 2 });
  });

  it('every event answered 200 before a SIGKILL in the middle of a burst is in the log', async () => {
    // Given a relay taking a burst of events
    const serve = await startServe({ dbPath, cwd: temp.dir, env });
    children.push(serve);
    const bodies = Array.from({ length: 40 }, () => makeEvent());
    const acknowledged: string[] = [];
    let killed = false;
    // When it is killed as soon as the first answer arrives
    await Promise.all(
      bodies.map(async (body) => {
        try {
          const response = await post(serve, body);
          if (response.status === 200) acknowledged.push(JSON.parse(body).event_id as string);
          if (!killed) {
            killed = true;
            serve.child.kill('SIGKILL');
          }
          await response.text();
        } catch {
          // refused or cut off by the kill: HuskyVoice would retry it
        }
      }),
    );
    await serve.exited;
    // Then every acknowledged event is in the log
    expect(acknowledged.length).toBeGreaterThan(0);
    const inLog = await eventIdsInLog(dbPath, temp.dir);
    expect(inLog).toEqual(expect.arrayContaining(acknowledged));
    expect(new Set(inLog).size).toBe(inLog.length);
  });

  it('SIGTERM with requests in flight: each 200 is in the log, and it exits 0 saying "stopped cleanly"', async () => {
    // Given a relay taking a burst of events
    const serve = await startServe({ dbPath, cwd: temp.dir, env });
    children.push(serve);
    const bodies = Array.from({ length: 40 }, () => makeEvent());
    const acknowledged: string[] = [];
    const other: number[] = [];
    let stopped = false;
    // When SIGTERM arrives as soon as the first answer does
    await Promise.all(
      bodies.map(async (body) => {
        try {
          const response = await post(serve, body);
          if (!stopped) {
            stopped = true;
            serve.child.kill('SIGTERM');
          }
          const answer = (await response.json()) as { event_id?: string };
          if (response.status === 200) acknowledged.push(answer.event_id!);
          else other.push(response.status);
        } catch {
          // not accepted once it stopped listening: HuskyVoice would retry it
        }
      }),
    );
    const exit = await serve.exited;
    // Then it exits 0 and says it stopped cleanly
    expect(exit.code).toBe(0);
    expect(jsonLines(exit.stdout).some((line) => line['msg'] === 'stopped cleanly')).toBe(true);
    // And no request got an error answer, and every acknowledged event is in the log
    expect(other).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(await eventIdsInLog(dbPath, temp.dir)).toEqual(expect.arrayContaining(acknowledged));
  });
});
