import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { startGatedReceiver, type GatedReceiver } from './helpers/gated-receiver.js';
import { rawRequest } from './helpers/http.js';
import { deliveriesOf, deliveryRow, entriesOf, fixture, ManualClock, postEvent, settle, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Issue 11 item 2: when the append that records an attempt fails, the outcome is kept, no
 * sink starts an attempt, and the outcome is recorded once when the log takes it again.
 * Real storage faults on the relay's writer connection: a full disk (max_page_count),
 * read-only (query_only), and a write lock held by another connection.
 */

const RULES = (hook: string, other: string) => `version: 1
sinks:
  hook:
    type: http
    url: ${hook}
    retry: { initial_delay: 1s }
  other:
    type: http
    url: ${other}
    rate_limit: { per_second: 1, burst: 1 }
rules:
  - id: to-hook
    on: call.completed
    actions:
      - sink: hook
  - id: to-other
    on: call.answered
    actions:
      - sink: other
`;

/** A 503 whose body is long, as a real error page is: the attempt's entry is not small. */
const UNAVAILABLE = { status: 503, body: JSON.stringify({ error: 'maintenance', detail: 'd'.repeat(400) }) };

let gate: GatedReceiver;
let other: FakeHttp;
let relay: TestRelay | undefined;
let clock: ManualClock;
let dir: string;
let cleanup: () => void;
let locker: Database.Database | undefined;
let n = 0;

beforeEach(async () => {
  gate = await startGatedReceiver();
  other = await startFakeHttp();
  clock = new ManualClock();
  ({ dir, cleanup } = tempDir());
  relay = await start();
});
afterEach(async () => {
  if (locker?.inTransaction) locker.exec('ROLLBACK');
  locker?.close();
  locker = undefined;
  gate.release();
  await relay?.close();
  await gate.close();
  await other.close();
  cleanup();
});

function start(): Promise<TestRelay> {
  return startRoutingRelay({
    dir,
    rulesPath: writeRules(dir, RULES(gate.url, other.url)),
    clock,
    busyTimeoutMs: 100,
    shutdownGraceMs: 1000,
  });
}

const writer = () => GroupCommit.forPath(relay!.dbPath)!;

/** Posts an event of `type` and waits for its delivery to be planned; returns the delivery id. */
async function planned(type: 'call.completed' | 'call.answered'): Promise<string> {
  n += 1;
  const eventId = `evt_unrec_${n}`;
  await postEvent(relay!, fixture(type, (e) => void (e.event_id = eventId)));
  let id: string | undefined;
  await until(() => (id = deliveriesOf(relay!.log).find((d) => d.event_id === eventId)?.delivery_id) !== undefined, { what: 'a plan' });
  return id!;
}

/** The hook's delivery is on the wire, held by the gate. */
async function onTheWire(): Promise<string> {
  gate.hold();
  const id = await planned('call.completed');
  await until(() => gate.waiting() === 1, { what: 'the attempt to reach the receiver' });
  return id;
}

/** Lets the dispatcher run while its clock passes `ms` in steps, so record retries come due. */
async function timePasses(ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    relay!.pipeline!.wake();
    await settle(3);
  }
}

const attemptsOf = (id: string) => entriesOf(relay!.log, 'delivery.attempted').filter((e) => e.data.delivery_id === id).map((e) => e.data);

async function pausedMetric(): Promise<string[]> {
  const text = (await rawRequest(relay!.url, { method: 'GET', path: '/metrics' })).text;
  return text.split('\n').filter((l) => l.startsWith('husky_relay_sink_paused{'));
}

describe('an attempt that cannot be recorded is not sent again', () => {
  it('read-only: the 200 is kept, every sink pauses, and once writable the attempt is recorded once and succeeds', async () => {
    // Given a delivery on the wire, and a log that turns read-only meanwhile
    const id = await onTheWire();
    await writer().debugPragma('query_only = 1');
    // When the receiver answers 200
    gate.release();
    await until(async () => (await relay!.pipeline!.paused())['hook'] !== undefined, { what: 'the sink to pause' });
    await timePasses(20_000);
    // Then it was sent once, nothing is recorded yet, and both sinks show paused with the reason
    expect(gate.count(id)).toBe(1);
    expect(attemptsOf(id)).toEqual([]);
    expect((await relay!.pipeline!.paused())).toEqual({
      hook: expect.objectContaining({ code: 'log_unavailable', held: 1, reason: expect.stringMatching(/readonly|read-only/i) }),
      other: expect.objectContaining({ code: 'log_unavailable', held: 1 }),
    });
    expect(await pausedMetric()).toEqual(['husky_relay_sink_paused{sink="hook",code="log_unavailable"} 1', 'husky_relay_sink_paused{sink="other",code="log_unavailable"} 1']);
    expect(relay!.lines.some((l) => l.includes('delivery is paused for every sink'))).toBe(true);

    // When the log is writable again and the next try comes
    await writer().debugPragma('query_only = 0');
    await timePasses(10_000);
    await until(() => deliveryRow(relay!.log, id)?.status === 'succeeded', { what: 'the attempt to be recorded' });
    // Then the attempt is in the log exactly once, as it happened, and nothing was sent again
    expect(attemptsOf(id)).toEqual([expect.objectContaining({ attempt: 1, outcome: 'succeeded', result: { status: 200 } })]);
    expect(gate.count(id)).toBe(1);
    expect((await relay!.pipeline!.paused())).toEqual({});
    expect(await pausedMetric()).toEqual([]);
  });
});

/**
 * Fills the log's disk the way the field report did (events posted until the first 503),
 * then with ever smaller events until even the smallest is refused: what is left in the last
 * pages is less than an attempt's entry needs.
 */
async function fillTheDisk(): Promise<void> {
  const pages = (await writer().debugPragma('page_count')) as number;
  await writer().debugPragma(`max_page_count = ${pages}`);
  for (let size = 200 * 1024; size >= 16; size = Math.floor(size / 2)) {
    for (;;) {
      n += 1;
      const body = fixture('call.initiated', (e) => {
        e.event_id = `evt_fill_${n}`;
        e.data = { call_id: 'c', agent_id: 'a', status: 'x', transcript: 't'.repeat(size) };
      });
      const answer = await relay!.postSigned(body);
      if (answer.status === 503) break;
      expect(answer.status).toBe(200);
    }
  }
  // An event's payload is stored apart from its entry (README "Personal data"): the refused
  // event may have met full payload pages while the entries' last page has room. Fill that
  // too, with entries that carry no payload (re-drives of no delivery), from the test's own
  // connection under the same page limit.
  relay!.log.db.pragma(`max_page_count = ${pages}`);
  for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
    for (;;) {
      try {
        relay!.log.append([{ type: 'delivery.retried', data: { delivery_id: `dlv_fill_${(n += 1)}`, reason: 'f'.repeat(size) } }]);
      } catch {
        break;
      }
    }
  }
  relay!.log.db.pragma('max_page_count = 1073741823');
}

describe('full disk', () => {
  it('the attempt that met a full disk is kept; after room is made it is recorded once and retried as scheduled', async () => {
    // Given a delivery on the wire, and the disk fills up meanwhile
    const id = await onTheWire();
    await fillTheDisk();
    // When the receiver answers 503
    gate.release(UNAVAILABLE);
    await until(async () => (await relay!.pipeline!.paused())['hook'] !== undefined, { what: 'the sink to pause' });
    await timePasses(30_000);
    // Then it was sent once and is held: not in the log, every sink paused for a full disk
    expect(gate.count(id)).toBe(1);
    expect(attemptsOf(id)).toEqual([]);
    expect((await relay!.pipeline!.paused())['hook']).toMatchObject({ code: 'log_unavailable', reason: expect.stringMatching(/full/i) });

    // When room is made
    gate.release();
    await writer().debugPragma('max_page_count = 1073741823');
    await timePasses(10_000);
    await until(() => deliveryRow(relay!.log, id)?.status === 'succeeded', { what: 'the retry to succeed', onPoll: () => relay!.pipeline!.wake() });
    // Then the 503 is recorded once, the retry followed it, and the receiver saw the id twice
    expect(attemptsOf(id).map((a) => [a.attempt, a.outcome, a.error?.code ?? null])).toEqual([
      [1, 'failed', 'http_503'],
      [2, 'succeeded', null],
    ]);
    expect(gate.count(id)).toBe(2);
  });
});

describe('write lock held by another process', () => {
  it('other sinks start nothing meanwhile; afterwards the 503 is recorded once, retried, and the waiting work flows', async () => {
    // Given the other sink has delivered one event and has a second waiting for its rate limit
    const first = await planned('call.answered');
    await until(() => deliveryRow(relay!.log, first)?.status === 'succeeded', { what: 'the first delivery to the other sink' });
    const second = await planned('call.answered');
    await settle();
    expect(other.requests).toHaveLength(1);
    // and the hook's delivery is on the wire when another process takes the write lock
    const id = await onTheWire();
    locker = new Database(relay!.dbPath);
    locker.exec('BEGIN IMMEDIATE');
    // When the receiver answers 503 and time passes (the other sink's rate limit would allow it)
    gate.release(UNAVAILABLE);
    await until(async () => (await relay!.pipeline!.paused())['other'] !== undefined, { what: 'the sinks to pause' });
    await timePasses(20_000);
    // Then the hook got its delivery once, the other sink nothing more, and both show paused
    expect(gate.count(id)).toBe(1);
    expect(other.requests).toHaveLength(1);
    expect(Object.keys((await relay!.pipeline!.paused())).sort()).toEqual(['hook', 'other']);
    expect((await relay!.pipeline!.paused())['hook']?.reason).toMatch(/locked|busy/i);

    // When the lock is released (and the receiver is back)
    gate.release();
    locker.exec('ROLLBACK');
    await timePasses(10_000);
    await until(() => deliveryRow(relay!.log, id)?.status === 'succeeded' && deliveryRow(relay!.log, second)?.status === 'succeeded', {
      what: 'both deliveries to succeed',
      onPoll: () => relay!.pipeline!.wake(),
    });
    // Then the 503 is in the log once, followed by the retry, and the waiting delivery went out
    expect(attemptsOf(id).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(gate.count(id)).toBe(2);
    expect(other.requests.map((r) => r.headers['webhook-id'])).toEqual([first, second]);
  });
});

describe('shutdown with an outcome not yet recorded', () => {
  it('is recorded within the grace period if the log takes it: after restart nothing is sent again', async () => {
    // Given an outcome held because another process holds the write lock
    const id = await onTheWire();
    locker = new Database(relay!.dbPath);
    locker.exec('BEGIN IMMEDIATE');
    gate.release();
    await until(async () => (await relay!.pipeline!.paused())['hook'] !== undefined, { what: 'the sink to pause' });
    // When serve stops and the lock goes away during its grace period
    const closing = relay!.close();
    locker.exec('ROLLBACK');
    await closing;
    // Then the attempt was recorded before exit, and a restarted relay does not send it again
    relay = await start();
    expect(attemptsOf(id).map((a) => a.outcome)).toEqual(['succeeded']);
    await settle();
    expect(gate.count(id)).toBe(1);
  });

  it('still unwritable at the end of the grace period: the log line names it, and after restart it is attempted again (at-least-once)', async () => {
    // Given an outcome held because the log is read-only
    const id = await onTheWire();
    await writer().debugPragma('query_only = 1');
    gate.release();
    await until(async () => (await relay!.pipeline!.paused())['hook'] !== undefined, { what: 'the sink to pause' });
    // When serve stops while the log stays read-only
    const lines = relay!.lines;
    await relay!.close();
    // Then the operator is told which delivery will repeat
    const lost = lines.map((l) => JSON.parse(l) as { msg: string; deliveries?: string[] }).find((l) => l.msg.includes('could not be recorded before exit'));
    expect(lost?.deliveries).toEqual([id]);
    // When the relay starts again on a writable log
    relay = await start();
    await until(() => deliveryRow(relay!.log, id)?.status === 'succeeded', { what: 'the repeated attempt' });
    // Then the attempt was made again and recorded once: never lost, at most one repeat
    expect(gate.count(id)).toBe(2);
    expect(attemptsOf(id).map((a) => [a.attempt, a.outcome])).toEqual([[1, 'succeeded']]);
  });
});
