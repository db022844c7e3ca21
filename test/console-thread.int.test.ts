import { afterEach, describe, expect, it } from 'vitest';
import { GATE_HELD, GATE_OPEN } from '../src/log/sqlite/reader-protocol.js';
import { ReadThread } from '../src/log/sqlite/read-thread.js';
import { signIn } from './helpers/browser.js';
import { until } from './helpers/pipeline.js';
import { makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

/**
 * The console reads on a thread of its own (README "Console", issue 13): a page whose reads are
 * held on the read thread does not delay a webhook's 200; past the bound of reads outstanding
 * the console answers 503 `reads_unavailable` with `Retry-After`; a read thread that dies is
 * started again by the next read. The read thread's gate (a test hook) holds every read there.
 */
const UI_TOKEN = 'console-token-for-the-read-thread-0123';
let relay: TestRelay | undefined;
const gates: Int32Array[] = [];
afterEach(async () => {
  for (const gate of gates.splice(0)) release(gate); // a failed test must not leave the read thread held
  await relay?.stop();
  relay = undefined;
});

/** A relay with a console, its read thread gated by `gate`; `events` events of call `call_held` logged through webhooks. */
async function relayWith(gate: Int32Array, events: number, reads: { maxQueued?: number; timeoutMs?: number } = {}): Promise<{ relay: TestRelay; cookie: string; thread: ReadThread }> {
  relay = await startTestRelay({ ui: { token: UI_TOKEN }, reads: { ...reads, gate: gate.buffer as SharedArrayBuffer } });
  for (let i = 0; i < events; i++) expect((await relay.postSigned(makeEvent({}, { call_id: 'call_held', summary: `held ${i}` }))).status).toBe(200);
  const { cookie } = await signIn(relay.url, UI_TOKEN);
  expect(relay.reads).toBeInstanceOf(ReadThread);
  return { relay, cookie, thread: relay.reads as ReadThread };
}

/** A gate: `[0]` held or open, `[1]` reads that reached it. */
function newGate(): Int32Array {
  const gate = new Int32Array(new SharedArrayBuffer(8));
  gates.push(gate);
  return gate;
}

/** Closes `gate` and resolves once a read is held at it (the read thread is then blocked in it). */
async function holdNextRead(gate: Int32Array): Promise<void> {
  const before = Atomics.load(gate, 1);
  Atomics.store(gate, 0, GATE_HELD);
  await until(() => Atomics.load(gate, 1) > before, { what: 'a read held on the read thread' });
}

function release(gate: Int32Array): void {
  Atomics.store(gate, 0, GATE_OPEN);
  Atomics.notify(gate, 0);
}

describe('the console on its read thread', () => {
  it('answers a webhook 200 while a console page is held on the read thread, then the page', async () => {
    // Given a relay with three events logged and a signed-in console
    const gate = newGate();
    const { relay, cookie, thread } = await relayWith(gate, 3);
    // When a page's read is held on the read thread
    let pageDone = false;
    const held = holdNextRead(gate);
    const page = fetch(`${relay.url}/ui/events?call=call_held`, { headers: { cookie } }).finally(() => (pageDone = true));
    await held;
    await until(() => thread.outstanding > 0, { what: 'the page read posted to the read thread' });
    // Then a signed webhook is answered 200 while the page still waits
    const ack = await relay.postSigned(makeEvent({}, { call_id: 'call_held', summary: 'held 3' }));
    expect(ack.status).toBe(200);
    expect(pageDone).toBe(false);
    expect(thread.outstanding).toBeGreaterThan(0);
    // And once released, the page lists every event of the call, the one acked meanwhile too
    release(gate);
    const answer = await page;
    expect(answer.status).toBe(200);
    const html = await answer.text();
    for (const summary of ['held 0', 'held 1', 'held 2', 'held 3']) expect(html).toContain(summary);
  });

  it('answers 503 reads_unavailable with Retry-After past the reads outstanding, and the pages once they drain', async () => {
    // Given a read thread allowing 2 reads outstanding, held
    const gate = newGate();
    const { relay, cookie, thread } = await relayWith(gate, 1, { maxQueued: 2 });
    await until(() => thread.outstanding === 0, { what: 'the start-up reads done' });
    const held = holdNextRead(gate);
    // When three pages are asked for at once
    const pages = [0, 1, 2].map(() => fetch(`${relay.url}/ui/events`, { headers: { cookie } }));
    await held;
    // Then the third (past the two outstanding) is refused at once, with when to ask again
    const refused = await Promise.race(pages);
    expect(thread.outstanding).toBe(2);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: 'reads_unavailable' });
    // And webhooks are still answered
    expect((await relay.postSigned(makeEvent())).status).toBe(200);
    release(gate);
    // (the chart's warm-up may hold one of the two places: at least one page waited and is answered)
    const statuses = (await Promise.all(pages)).map((p) => p.status);
    expect(statuses).toContain(200);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    // And the next page is answered once the reads drained
    expect((await fetch(`${relay.url}/ui/events`, { headers: { cookie } })).status).toBe(200);
  });

  it('answers /metrics with the gauges last read while the read thread refuses reads', async () => {
    // Given a read thread allowing one read outstanding, scraped once
    const gate = newGate();
    const { relay, cookie, thread } = await relayWith(gate, 1, { maxQueued: 1 });
    await until(() => thread.outstanding === 0, { what: 'the start-up reads done' });
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(200);
    // When its one place is held
    const held = holdNextRead(gate);
    const page = fetch(`${relay.url}/ui/events`, { headers: { cookie } });
    await held;
    expect(thread.outstanding).toBe(1);
    // Then a scrape is answered all the same, with every gauge
    const scrape = await fetch(`${relay.url}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    for (const gauge of ['husky_relay_oldest_pending_age_seconds', 'husky_relay_log_size_bytes']) expect(text).toContain(gauge);
    release(gate);
    expect([200, 503]).toContain((await page).status);
  });

  it('gives up a read past its time limit with 503 reads_unavailable, and reads again on a new thread', async () => {
    // Given a read thread whose reads may take 300 ms, held
    const gate = newGate();
    const { relay, cookie, thread } = await relayWith(gate, 2, { timeoutMs: 300 });
    Atomics.store(gate, 0, GATE_HELD);
    // When a page's read is held past the limit
    const refused = await fetch(`${relay.url}/ui/events?call=call_held`, { headers: { cookie } });
    // Then the page is refused, the thread ended and the next page read on a new one
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: 'reads_unavailable' });
    expect(thread.restarts).toBeGreaterThanOrEqual(1);
    release(gate);
    const answer = await fetch(`${relay.url}/ui/events?call=call_held`, { headers: { cookie } });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('held 1');
  });

  it('starts the read thread again after it died, and answers the pages', async () => {
    // Given a relay whose read thread answered a page
    const gate = newGate();
    const { relay, cookie, thread } = await relayWith(gate, 2);
    expect((await fetch(`${relay.url}/ui/events`, { headers: { cookie } })).status).toBe(200);
    // When the read thread dies (an uncaught error in a read)
    thread.debugCrash();
    await until(() => thread.restarts === 1, { what: 'the read thread to be seen dead' });
    // Then the next page is read on a new thread, with the log's content
    const answer = await fetch(`${relay.url}/ui/events?call=call_held`, { headers: { cookie } });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).toContain('held 0');
    expect(html).toContain('held 1');
    expect(relay.lines.some((l) => l.includes('the read thread failed'))).toBe(true);
  });
});
