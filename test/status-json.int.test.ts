import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { Entry } from '../src/log/types.js';
import { statusReport } from '../src/project/queries.js';
import { loadRules } from '../src/rules/load-rules.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { deliveriesOf, fixture, ManualClock, postEvent, startRoutingRelay, statusOf, until, writeRules } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

/**
 * One log with every delivery status: a dead, a retrying and a succeeded delivery at an
 * HTTP sink, and a pending one at a Slack sink without a token. The relay is stopped; the
 * CLI reads the database.
 */
let fake: FakeHttp;
let dir: string;
let cleanup: () => void;
let dbPath: string;
let rulesPath: string;
let lastSeq: number;
let plannedAt: Record<string, string>;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const cli = (...args: string[]) => runCli(['--db', dbPath, '--rules', rulesPath, ...args], { cwd: dir, env: cliEnv() });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  fake = await startFakeHttp();
  rulesPath = writeRules(
    dir,
    `version: 1
sinks:
  hook: { type: http, url: "${fake.url}", retry: { initial_delay: 1m } }
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: to-hook
    on: call.*
    actions:
      - sink: hook
  - id: to-slack
    on: call.completed
    actions:
      - sink: slack
        channel: "#sales"
        text: done
`,
  );
  const relay = await startRoutingRelay({ dir, rulesPath, clock: new ManualClock() });
  const one = async (body: string, status: string) => {
    const eventId = JSON.parse(body).event_id as string;
    await postEvent(relay, body);
    await until(() => {
      const row = deliveriesOf(relay.log, { sink: 'hook' }).find((d) => d.event_id === eventId);
      return row !== undefined && statusOf(relay.log, row.delivery_id) === status;
    }, { what: `a ${status} delivery` });
  };
  fake.failNext({ status: 404 });
  await one(fixture('call.initiated'), 'dead');
  fake.failNext({ status: 503 });
  await one(fixture('call.answered'), 'retrying');
  await one(fixture('call.completed'), 'succeeded');
  await relay.close();
  const log = new SqliteLog(dbPath = relay.dbPath);
  lastSeq = log.lastSeq();
  plannedAt = Object.fromEntries(deliveriesOf(log).map((d) => [`${d.sink} ${d.event_type}`, d.planned_at]));
  log.close();
});
afterAll(async () => {
  await fake.close();
  cleanup();
});

describe('status --json (README "Command line")', () => {
  it('has the documented keys and types, and counts every status by sink', async () => {
    // When
    const out = await cli('status', '--json');
    // Then
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(Object.keys(report).slice(0, 5)).toEqual(['events', 'deliveries', 'sinks', 'oldest_pending_at', 'last_seq']);
    expect(report.events).toEqual({ total: 3, by_type: { 'call.answered': 1, 'call.completed': 1, 'call.initiated': 1 } });
    expect(report.deliveries).toEqual({ pending: 1, retrying: 1, succeeded: 1, dead: 1 });
    expect(report.last_seq).toBe(lastSeq);
    // the oldest delivery still waiting is the retrying one
    expect(report.oldest_pending_at).toBe(plannedAt['hook call.answered']);
    expect(Object.keys(report.sinks)).toEqual(['hook', 'slack']);
    for (const sink of Object.values<Record<string, unknown>>(report.sinks)) {
      expect(typeof sink.enabled).toBe('boolean');
      for (const k of ['pending', 'retrying', 'succeeded', 'dead']) expect(Number.isInteger(sink[k])).toBe(true);
      expect(sink.last_success_at === null || ISO.test(String(sink.last_success_at))).toBe(true);
      expect(sink.last_error === null || (typeof sink.last_error === 'object' && !Array.isArray(sink.last_error))).toBe(true);
    }
    expect(report.sinks.hook).toMatchObject({
      enabled: true,
      pending: 0,
      retrying: 1,
      succeeded: 1,
      dead: 1,
      last_success_at: expect.stringMatching(ISO),
      last_error: { kind: 'transient', code: 'http_503', status: 503 },
    });
    expect(report.sinks.slack).toMatchObject({ enabled: false, pending: 1, retrying: 0, succeeded: 0, dead: 0, last_success_at: null, last_error: null });
  });

  it('does not depend on the current time', async () => {
    // Given the same log read at two moments
    const first = await cli('status', '--json');
    const second = await cli('status', '--json');
    // Then
    expect(second.stdout).toBe(first.stdout);
    // and read a year apart, too
    const loaded = await loadRules(rulesPath, {});
    const log = new SqliteLog(dbPath);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
      const now = statusReport(log.db, loaded.ok ? loaded.rules : null);
      vi.setSystemTime(new Date('2027-06-01T12:00:00Z'));
      const later = statusReport(log.db, loaded.ok ? loaded.rules : null);
      expect(later).toEqual(now);
      // and the CLI adds where the sinks come from: the relay's rules.loaded, a fact of the log too
      const loadedEntry = log.lastOfType('rules.loaded') as Entry & { type: 'rules.loaded' };
      const sinksFrom = { source: 'rules.loaded', seq: loadedEntry.seq, at: loadedEntry.at, path: loadedEntry.data.path, rules_hash: loadedEntry.data.rules_hash };
      expect(JSON.stringify({ ...now, sinks_from: sinksFrom })).toBe(first.stdout.trim());
    } finally {
      vi.useRealTimers();
      log.close();
    }
  });
});

describe('deliveries --json (README "Command line")', () => {
  const KEYS = ['delivery_id', 'event_id', 'event_type', 'rule_id', 'sink', 'status', 'attempts', 'last_error', 'next_attempt_at', 'planned_at', 'call_id', 'dead_reason'];

  it('is an array of deliveries, newest first, with exactly the documented keys', async () => {
    // When
    const out = await cli('deliveries', '--json');
    // Then
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r.sink, r.event_type, r.status])).toEqual([
      ['slack', 'call.completed', 'pending'],
      ['hook', 'call.completed', 'succeeded'],
      ['hook', 'call.answered', 'retrying'],
      ['hook', 'call.initiated', 'dead'],
    ]);
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(KEYS);
      for (const k of ['delivery_id', 'event_id', 'event_type', 'rule_id', 'sink', 'status']) expect(typeof r[k]).toBe('string');
      expect(Number.isInteger(r.attempts)).toBe(true);
      expect(r.planned_at).toMatch(ISO);
      expect(r.next_attempt_at === null || ISO.test(String(r.next_attempt_at))).toBe(true);
    }
    const [pending, succeeded, retrying, dead] = rows;
    expect(pending).toMatchObject({ rule_id: 'to-slack', attempts: 0, last_error: null, next_attempt_at: null });
    expect(succeeded).toMatchObject({ rule_id: 'to-hook', attempts: 1, last_error: null, next_attempt_at: null });
    // retrying: the next attempt one minute after the failure (initial_delay 1m, on the relay clock)
    expect(retrying).toMatchObject({ attempts: 1, last_error: { kind: 'transient', code: 'http_503', status: 503 }, next_attempt_at: '2026-06-01T12:01:00.000Z' });
    expect(dead).toMatchObject({ attempts: 1, next_attempt_at: null, last_error: { kind: 'permanent', code: 'http_404', status: 404 } });
    // each knows its call; only the dead one has a dead_reason, its delivery.dead entry's
    expect(rows.map((r) => r.call_id)).toEqual(rows.map(() => 'call_987654321'));
    expect(rows.map((r) => r.dead_reason)).toEqual([null, null, null, `http_404: ${String((dead?.last_error as Record<string, unknown>).message)}`]);
    expect(String((dead?.last_error as Record<string, unknown>).message)).toContain('HTTP 404');
  });

  it('filters by status and sink, and limits', async () => {
    const ids = async (...args: string[]) => (JSON.parse((await cli('deliveries', '--json', ...args)).stdout) as { sink: string; status: string }[]).map((r) => `${r.sink}:${r.status}`);
    const [dead, hookPending, two] = await Promise.all([
      ids('--status', 'dead'),
      ids('--status', 'pending', '--sink', 'hook'),
      ids('--limit', '2'),
    ]);
    expect(dead).toEqual(['hook:dead']);
    expect(hookPending).toEqual([]);
    expect(two).toEqual(['slack:pending', 'hook:succeeded']);
  });
});
