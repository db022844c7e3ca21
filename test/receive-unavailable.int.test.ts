import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, SECRET, startTestRelay, type TestRelay } from './helpers/relay.js';

const UNAVAILABLE = { status: 503, body: { error: 'log_unavailable' } };

/** An event big enough to need new pages (a real one carries a transcript). */
const bigEvent = () => makeEvent({}, { transcript: 't'.repeat(32 * 1024) });

async function readyz(relay: TestRelay): Promise<number> {
  return (await rawRequest(relay.url, { method: 'GET', path: '/readyz' })).status;
}

/**
 * PRAGMA on the relay's connections: its writer thread's (which commits) and its reader's
 * (`relay.log`, which /readyz probes). Pragmas are per connection, so both are set, as a
 * disk or a file that turned read-only would affect both.
 */
async function pragma(relay: TestRelay, statement: string): Promise<unknown> {
  relay.log.db.pragma(statement);
  return GroupCommit.forPath(relay.dbPath)!.debugPragma(statement);
}

function idOf(body: string): string {
  return (JSON.parse(body) as { event_id: string }).event_id;
}

describe('when the log cannot be written, the relay answers 503 so HuskyVoice retries', () => {
  let relay: TestRelay;
  let locker: Database.Database | undefined;
  beforeEach(async () => {
    relay = await startTestRelay({ busyTimeoutMs: 100 });
  });
  afterEach(async () => {
    if (locker?.inTransaction) locker.exec('ROLLBACK');
    locker?.close();
    locker = undefined;
    await relay.stop();
  });

  it('disk full: 503; once there is room, the retry is stored once', async () => {
    // Given a relay that has stored one event, on a disk that is now full
    expect((await relay.postSigned(makeEvent())).status).toBe(200);
    const pages = (await pragma(relay, 'page_count')) as number;
    await pragma(relay, `max_page_count = ${pages}`);
    // When HuskyVoice sends an event
    const body = bigEvent();
    const refused = await relay.postSigned(body);
    // Then it is told to retry, nothing of it is stored, and the relay says it is not ready
    expect(refused).toEqual(UNAVAILABLE);
    expect(relay.log.read(0)).toHaveLength(1);
    // When room is made and HuskyVoice retries the same event
    await pragma(relay, 'max_page_count = 1073741823');
    const retried = await relay.postSigned(body);
    // Then it is accepted with the next seq, stored once, and the relay is ready again
    expect(retried).toEqual({ status: 200, body: { ok: true, event_id: idOf(body), seq: 2 } });
    expect((await relay.postSigned(body)).body).toMatchObject({ duplicate: true });
    expect(relay.log.read(0).map((e) => e.seq)).toEqual([1, 2]);
    expect(await readyz(relay)).toBe(200);
  });

  it('disk full: /readyz says 503 while commits fail for lack of room', async () => {
    // Given a full disk that has just refused an event
    expect((await relay.postSigned(makeEvent())).status).toBe(200);
    await pragma(relay, `max_page_count = ${(await pragma(relay, 'page_count')) as number}`);
    expect(await relay.postSigned(bigEvent())).toEqual(UNAVAILABLE);
    // When a load balancer or operator asks whether the relay is ready
    const status = await readyz(relay);
    // Then it is told no: the log is not writable (README "HTTP": 200 only when the log is writable)
    expect(status).toBe(503);
  });

  it('read-only: 503 and /readyz 503; writable again: 200', async () => {
    // Given a database that has become read-only
    await pragma(relay, 'query_only = 1');
    const body = makeEvent();
    // When an event arrives
    const refused = await relay.postSigned(body);
    // Then 503, nothing stored, not ready
    expect(refused).toEqual(UNAVAILABLE);
    expect(await readyz(relay)).toBe(503);
    // When it is writable again and the event is retried
    await pragma(relay, 'query_only = 0');
    expect(await readyz(relay)).toBe(200);
    const retried = await relay.postSigned(body);
    // Then it is stored
    expect(retried).toEqual({ status: 200, body: { ok: true, event_id: idOf(body), seq: 1 } });
    expect(relay.log.read(0)).toHaveLength(1);
  });

  it('locked by another process: 503 after the busy timeout; unlocked: 200', async () => {
    // Given another connection that holds the write lock
    locker = new Database(relay.dbPath);
    locker.exec('BEGIN IMMEDIATE');
    const body = makeEvent();
    // When an event arrives
    const refused = await relay.postSigned(body);
    // Then 503 and not ready
    expect(refused).toEqual(UNAVAILABLE);
    expect(await readyz(relay)).toBe(503);
    // When the lock is released and HuskyVoice retries
    locker.exec('ROLLBACK');
    const retried = await relay.postSigned(body);
    // Then it is stored, once
    expect(retried).toEqual({ status: 200, body: { ok: true, event_id: idOf(body), seq: 1 } });
    expect(relay.log.read(0)).toHaveLength(1);
    expect(await readyz(relay)).toBe(200);
  });

  it('a lock held elsewhere never stalls the event loop: /healthz answers while /readyz waits', async () => {
    // Given another connection that holds the write lock
    locker = new Database(relay.dbPath);
    locker.exec('BEGIN IMMEDIATE');
    // When /readyz is asked (it waits up to the busy timeout for the lock) and /healthz right after
    let readyDone = false;
    const ready = readyz(relay).then((status) => {
      readyDone = true;
      return status;
    });
    const health = await rawRequest(relay.url, { method: 'GET', path: '/healthz' });
    // Then /healthz has its answer before /readyz gives up, and /readyz says not ready
    expect(health.status).toBe(200);
    expect(readyDone).toBe(false);
    expect(await ready).toBe(503);
    locker.exec('ROLLBACK');
  });

  it('concurrent requests caught by one failed commit all get 503 and none is stored', async () => {
    // Given a database that refuses writes
    await pragma(relay, 'query_only = 1');
    const bodies = Array.from({ length: 20 }, () => makeEvent());
    // When twenty events arrive at once
    const answers = await Promise.all(bodies.map((b) => relay.postSigned(b)));
    // Then every one is refused and the log holds none of them
    expect(answers).toEqual(bodies.map(() => UNAVAILABLE));
    await pragma(relay, 'query_only = 0');
    expect(relay.log.read(0)).toEqual([]);
    // And when all are retried they are all stored, each once, in consecutive seqs
    const retried = await Promise.all(bodies.map((b) => relay.postSigned(b)));
    expect(retried.map((a) => a.status)).toEqual(bodies.map(() => 200));
    expect(retried.map((a) => a.body.seq as number).sort((x, y) => x - y)).toEqual(bodies.map((_, i) => i + 1));
    expect(new Set(relay.log.read(0).map((e) => e.type === 'event.received' && e.data.event_id))).toEqual(new Set(bodies.map(idOf)));
  });

  it('a refused commit does not take the relay down, and its log line names the cause but no secret', async () => {
    await pragma(relay, 'query_only = 1');
    expect(await relay.postSigned(makeEvent())).toEqual(UNAVAILABLE);
    expect((await rawRequest(relay.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const line = relay.lines.map((l) => JSON.parse(l) as { msg: string; err?: string }).find((l) => l.msg.startsWith('log unavailable'));
    expect(line?.err).toMatch(/readonly|read-only/i);
    expect(relay.lines.join('\n')).not.toContain(SECRET);
  });
});
