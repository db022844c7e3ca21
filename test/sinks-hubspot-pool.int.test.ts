import { request } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { createHubspotPool } from '../src/sinks/hubspot/pool.js';
import { createHubspotSink } from '../src/sinks/hubspot/sender.js';
import type { AttemptOutcome, PooledSink } from '../src/sinks/types.js';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';
import { allHaveStatus, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { attemptContext, closeAfterEach, failure as failed } from './helpers/pool-tests.js';
import { makeEvent, tempDir } from './helpers/relay.js';

/**
 * The HubSpot sink's keep-alive pool (`src/sinks/hubspot/pool.ts`): the real SDK against the
 * fake HubSpot on 127.0.0.1, which numbers the connections it is given. What the sink did
 * before it (a timeout or an abort ends the attempt at once) holds, and a cut request's
 * connection is never used again.
 */

const TOKEN = 'pat-na1-pool-secret-token';

let hubspot: FakeHubspot | undefined;
let sink: PooledSink | undefined;
closeAfterEach(() => sink, () => hubspot);

const ctx = attemptContext('dlv_pool');

/** A call for the seeded contact: a search, then a create (two requests per attempt). */
const call = (title = 'Call') => ({
  create: 'call',
  contact: { email: 'ada@example.com' },
  if_no_contact: 'fail',
  properties: { hs_call_title: title, hs_timestamp: '2026-01-01T00:00:00Z' },
});

/** A call on a contact given by id: one request per attempt. */
const direct = (title = 'Call') => ({ ...call(title), contact: { id: '77' } });

async function start(over: { concurrency?: number; timeout_ms?: number } = {}): Promise<{ hubspot: FakeHubspot; sink: PooledSink }> {
  hubspot = await startFakeHubspot({ token: TOKEN });
  hubspot.seedContact({ email: 'ada@example.com' });
  sink = createHubspotSink('hubspot', { type: 'hubspot', access_token: TOKEN, timeout_ms: 5000, ...over }, { hubspotBaseUrl: hubspot.url });
  return { hubspot, sink };
}

function succeeded(outcome: AttemptOutcome): void {
  if (outcome.outcome !== 'succeeded') throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
}

const failure = (outcome: AttemptOutcome) => failed(outcome, TOKEN);

const connectionsOf = (h: FakeHubspot) => h.requests.map((r) => r.connection);

describe('HubSpot sink: keep-alive pool', () => {
  it('one connection carries the steps of an attempt and the attempts after it', async () => {
    const { hubspot, sink } = await start();
    // When five calls go out one after another, each a search and a create
    for (let i = 0; i < 5; i++) succeeded(await sink.send(call(`c${i}`), ctx()));
    // Then all ten requests came on the first connection, still open
    expect(hubspot.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      Array.from({ length: 5 }, () => ['POST /crm/v3/objects/contacts/search', 'POST /crm/v3/objects/calls']).flat(),
    );
    expect(connectionsOf(hubspot)).toEqual(Array(10).fill(1));
    expect(hubspot.connections()).toEqual({ opened: 1, open: 1 });
    expect(hubspot.objects.calls.size).toBe(5);
  });

  it('opens at most `concurrency` connections however many attempts run at once', async () => {
    const { hubspot, sink } = await start({ concurrency: 3 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => sink.send(call(`p${i}`), ctx())));
    for (const outcome of outcomes) succeeded(outcome);
    expect(hubspot.requests).toHaveLength(60);
    expect(hubspot.connections().opened).toBe(3);
  });

  it('a request that never answers → timeout; its connection is closed, not reused, and the next attempt goes out', async () => {
    const { hubspot, sink } = await start({ timeout_ms: 300 });
    succeeded(await sink.send(call('before'), ctx()));
    // Given the create of the next attempt hangs, on the pooled connection
    hubspot.failNext({ hang: true }, { path: '/objects/calls' });
    const started = performance.now();
    expect(failure(await sink.send(call('hung'), ctx())).error).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
    // Then the hung request was torn down with its connection
    const hung = hubspot.requests[3]!;
    expect(hung.connection).toBe(1);
    await vi.waitFor(() => expect(hung.abandoned).toBe(true));
    await vi.waitFor(() => expect(hubspot.connections().open).toBe(0));
    // And the next attempt succeeds on a new connection
    succeeded(await sink.send(call('after'), ctx()));
    expect(connectionsOf(hubspot)).toEqual([1, 1, 1, 1, 2, 2]);
    expect(hubspot.connections()).toEqual({ opened: 2, open: 1 });
  });

  it('an abort mid-request (shutdown) → aborted at once; the connection is closed, not reused', async () => {
    const { hubspot, sink } = await start({ timeout_ms: 10_000 });
    succeeded(await sink.send(direct('before'), ctx()));
    hubspot.failNext({ hang: true });
    const controller = new AbortController();
    const pending = sink.send(direct('hung'), ctx({ signal: controller.signal }));
    // When the relay aborts once the request is at HubSpot
    await vi.waitFor(() => expect(hubspot.requests).toHaveLength(2));
    const started = performance.now();
    controller.abort();
    expect(failure(await pending).error).toMatchObject({ kind: 'transient', code: 'aborted' });
    expect(performance.now() - started).toBeLessThan(1_000);
    await vi.waitFor(() => expect(hubspot.requests[1]?.abandoned).toBe(true));
    await vi.waitFor(() => expect(hubspot.connections().open).toBe(0));
    succeeded(await sink.send(direct('after'), ctx()));
    expect(connectionsOf(hubspot)).toEqual([1, 1, 2]);
  });

  it('an attempt waiting for the pool\'s one connection ends at once on its abort, never sent, and the pool goes on', async () => {
    const { hubspot, sink } = await start({ concurrency: 1, timeout_ms: 10_000 });
    // Given the one connection is held by a hung request
    hubspot.failNext({ hang: true });
    const first = new AbortController();
    const hung = sink.send(direct('hung'), ctx({ signal: first.signal }));
    await vi.waitFor(() => expect(hubspot.requests).toHaveLength(1));
    // When another attempt waits behind it and is aborted
    const second = new AbortController();
    const queued = sink.send(direct('queued'), ctx({ signal: second.signal }));
    await new Promise((resolve) => setTimeout(resolve, 50)); // its request is made and waits (no clock to inject: real sockets)
    second.abort();
    expect(failure(await queued).error).toMatchObject({ kind: 'transient', code: 'aborted' });
    first.abort();
    expect(failure(await hung).error).toMatchObject({ kind: 'transient', code: 'aborted' });
    // Then the waiting request never reached HubSpot, and the next attempt does, on a new connection
    succeeded(await sink.send(direct('after'), ctx()));
    expect(hubspot.requests.map((r) => r.body)).toMatchObject([{ properties: { hs_call_title: 'hung' } }, { properties: { hs_call_title: 'after' } }]);
    expect(connectionsOf(hubspot)).toEqual([1, 2]);
  });

  it('close() ends its idle connections at once (reload, shutdown)', async () => {
    const { hubspot, sink } = await start();
    succeeded(await sink.send(call(), ctx()));
    expect(hubspot.connections().open).toBe(1);
    sink.close();
    await vi.waitFor(() => expect(hubspot.connections().open).toBe(0));
  });

  it('close() during an attempt lets it finish, then leaves no connection open', async () => {
    const { hubspot, sink } = await start();
    const pending = sink.send(call(), ctx());
    sink.close();
    succeeded(await pending);
    expect(hubspot.requests).toHaveLength(2);
    await vi.waitFor(() => expect(hubspot.connections().open).toBe(0));
  });
});

describe('HubSpot sink: a HUBSPOT_BASE_URL that is no absolute http(s) URL (given by code: serve refuses one)', () => {
  it('fails each attempt as a permanent invalid_request that names it; nothing is sent with a scheme the pool does not speak', async () => {
    for (const base of ['', 'api.hubapi.com', '/']) {
      // Given a sink whose base URL the SDK would have replaced with its own https default
      sink = createHubspotSink('hubspot', { type: 'hubspot', access_token: TOKEN, timeout_ms: 5000 }, { hubspotBaseUrl: base });
      // When a call is sent
      const outcome = failure(await sink.send(direct(), ctx()));
      // Then it is dead at once, naming the variable, not 'Protocol "https:" not supported'
      expect(outcome.error, base).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
      expect(outcome.error.message).toBe(`HUBSPOT_BASE_URL: ${JSON.stringify(base)} is not an absolute http:// or https:// URL`);
      sink.close();
    }
  });
});

describe('the pool seen by one attempt', () => {
  it('a request made after its attempt was cut (a step after an abort) is refused, never sent', async () => {
    hubspot = await startFakeHubspot({ token: TOKEN });
    const pool = createHubspotPool(hubspot.url, { maxSockets: 2 });
    const view = pool.attempt();
    view.cut(Object.assign(new Error('gave up'), { name: 'TimeoutError' }));
    // When the SDK makes its next request on the attempt's agent
    const req = request(`${hubspot.url}/crm/v3/objects/calls`, { method: 'POST', agent: view.agent });
    const error = await new Promise<Error>((resolve) => req.on('error', resolve).end('{}'));
    // Then it fails with what cut the attempt, and nothing reached HubSpot
    expect(error).toMatchObject({ name: 'TimeoutError', message: 'gave up' });
    view.end();
    expect(hubspot.connections()).toEqual({ opened: 0, open: 0 });
    expect(pool.sockets()).toEqual({ active: 0, idle: 0 });
    pool.close();
  });
});

describe('a HubSpot sink in the relay: pooled connections', () => {
  it('reuses connections across deliveries, closes them on reload and on stop', async () => {
    // Given a relay with a HubSpot sink of concurrency 2
    hubspot = await startFakeHubspot({ token: TOKEN });
    hubspot.seedContact({ email: 'ada@example.com' });
    const fake = hubspot;
    const { dir, cleanup } = tempDir();
    const rules = `version: 1
sinks:
  crm: { type: hubspot, access_token: "\${HUBSPOT_ACCESS_TOKEN}", concurrency: 2 }
rules:
  - id: all
    on: "*"
    actions:
      - { sink: crm, create: call, contact: { email: "ada@example.com" } }
`;
    const relay = await startRoutingRelay({
      dir,
      rulesPath: writeRules(dir, rules),
      env: { HUBSPOT_ACCESS_TOKEN: TOKEN },
      sinkEnv: { slackApiUrl: 'http://127.0.0.1:9/api/', hubspotBaseUrl: fake.url },
    });
    try {
      // When 12 calls complete, one after another
      for (let i = 0; i < 12; i++) await postEvent(relay, makeEvent({}, { call_id: `c${i}` }));
      await until(() => allHaveStatus(relay.log, 'succeeded', 12), { what: '12 deliveries to succeed' });
      // Then their 24 requests went out over at most 2 connections, still open
      expect(fake.requests).toHaveLength(24);
      expect(fake.connections().opened).toBeLessThanOrEqual(2);
      expect(fake.connections().open).toBeGreaterThan(0);
      // When the rules are reloaded (the sink is built again), its idle connections close
      writeRules(dir, `${rules}# edited\n`);
      await relay.pipeline!.reload('SIGHUP');
      await until(() => fake.connections().open === 0, { what: 'the old pool to close', timeoutMs: 2000 });
      // and the new sink delivers on a pool of its own
      await postEvent(relay, makeEvent({}, { call_id: 'after' }));
      await until(() => allHaveStatus(relay.log, 'succeeded', 13), { what: 'the 13th delivery' });
      expect(fake.connections().open).toBe(1);
    } finally {
      await relay.stop();
      cleanup();
    }
    // When the relay stops, no connection is left open
    await until(() => fake.connections().open === 0, { what: 'the pool to close on stop', timeoutMs: 2000 });
  });
});
