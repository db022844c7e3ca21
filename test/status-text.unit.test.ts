import { describe, expect, it } from 'vitest';
import { statusText } from '../src/commands/deliveries.js';
import type { SinkStatus, StatusReport } from '../src/project/queries.js';

const healthy: SinkStatus = {
  enabled: true,
  disabled_reason: null,
  pending: 0,
  retrying: 0,
  succeeded: 3,
  dead: 0,
  last_success_at: '2026-06-01T10:00:00.000Z',
  last_error: null,
  consecutive_failures: 0,
  credentials_rejected: false,
  paused: false,
  paused_reason: null,
  paused_at: null,
  stale_since: null,
};
const paused = (at: string, reason: string): SinkStatus => ({
  ...healthy,
  pending: 4,
  credentials_rejected: true,
  paused: true,
  paused_reason: reason,
  paused_at: at,
});

const report: StatusReport = {
  events: { total: 4, by_type: { 'call.answered': 4 } },
  deliveries: { pending: 8, retrying: 0, succeeded: 6, dead: 0 },
  sinks: {
    console: healthy,
    hook: paused('2026-06-01T10:01:00.000Z', 'unauthorized: HTTP 401'),
    'ops\u001b[2J': paused('2026-06-01T10:02:00.000Z', 'unauthorized: HTTP 401'),
  },
  oldest_pending_at: '2026-06-01T10:00:30.000Z',
  chain_head: null,
      last_seq: 20,
  unrouted: { entries: 0, oldest_at: null },
};

describe('status for a person (README "Paused sinks")', () => {
  it('ends with one line per paused sink saying how to resume it, together under the table, names made printable', () => {
    // When two sinks are paused
    const lines = statusText(report).split('\n');
    // Then the table is followed by one blank line and a line for each, with no blank line between them
    expect(lines.slice(-3)).toEqual([
      '',
      'hook is paused since 2026-06-01T10:01:00.000Z: fix its credentials and reload, or run `husky-relay resume hook`',
      'ops\\u001b[2J is paused since 2026-06-01T10:02:00.000Z: fix its credentials and reload, or run `husky-relay resume ops\\u001b[2J`',
    ]);
    expect(lines.filter((l) => l === '')).toHaveLength(2);
  });

  it('a stale sink says since when in its STATE, paused or not (README "Stale work")', () => {
    const stale = { ...healthy, pending: 2, stale_since: '2026-06-01T10:16:00.000Z' };
    const lines = statusText({ ...report, sinks: { console: stale, hook: { ...paused('2026-06-01T10:01:00.000Z', 'unauthorized: HTTP 401'), stale_since: '2026-06-01T10:17:00.000Z' } } }).split('\n');
    expect(lines.find((l) => l.startsWith('console '))).toMatch(/^console\s+enabled; STALE since 2026-06-01T10:16:00\.000Z\s+2\s+0\s+3\s+0/);
    expect(lines.find((l) => l.startsWith('hook '))).toMatch(/^hook\s+PAUSED: unauthorized: HTTP 401; STALE since 2026-06-01T10:17:00\.000Z\s+4\s/);
  });

  it('a relay with no paused sink ends with the table', () => {
    expect(statusText({ ...report, sinks: { console: healthy } }).split('\n').at(-1)).toMatch(/^console\s+enabled\s+0\s+0\s+3\s+0/);
  });
});

describe('status for a person: how old the oldest pending delivery is, and where the sinks come from', () => {
  const at = (iso: string) => Date.parse(iso);

  it('says how long the oldest pending delivery has waited, then since when', () => {
    // Given the oldest pending delivery planned at 10:00:30, read at 10:03:42
    const lines = statusText(report, at('2026-06-01T10:03:42.000Z')).split('\n');
    // Then
    expect(lines).toContain('oldest pending 3m 12s (since 2026-06-01T10:00:30.000Z)');
    // an hour and more reads in hours
    expect(statusText(report, at('2026-06-01T11:30:31.000Z')).split('\n')).toContain('oldest pending 1h 30m 1s (since 2026-06-01T10:00:30.000Z)');
  });

  it('nothing pending: a dash; a clock behind the delivery: 0s', () => {
    expect(statusText({ ...report, oldest_pending_at: null }, at('2026-06-01T10:03:42.000Z')).split('\n')).toContain('oldest pending -');
    expect(statusText(report, at('2026-06-01T10:00:00.000Z')).split('\n')).toContain('oldest pending 0s (since 2026-06-01T10:00:30.000Z)');
  });

  it('a line above the sinks says where their states come from: the log, or the rules file and why', () => {
    const now = at('2026-06-01T10:03:42.000Z');
    const fromLog = { source: 'rules.loaded', seq: 7, at: '2026-06-01T09:00:00.000Z', path: '/etc/husky/rules.yaml', rules_hash: 'a'.repeat(64) } as const;
    const lines = statusText({ ...report, sinks_from: fromLog }, now).split('\n');
    const i = lines.indexOf('sinks from the log: rules loaded at seq 7 (2026-06-01T09:00:00.000Z) from /etc/husky/rules.yaml');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toMatch(/^SINK\s+STATE/);
    const fromFile = { source: 'rules file', path: './rules.yaml', reason: 'the log has no rules.loaded' } as const;
    expect(statusText({ ...report, sinks_from: fromFile }, now).split('\n')).toContain('sinks from ./rules.yaml (the log has no rules.loaded)');
  });
});

describe('status for a person: what the router has not routed yet', () => {
  const at = (iso: string) => Date.parse(iso);
  const waiting = (entries: number) => ({ ...report, unrouted: { entries, oldest_at: '2026-06-01T10:00:30.000Z' } });

  it('no line while it keeps up; how many and how old; what to look at once the oldest is a minute old', () => {
    expect(statusText(report, at('2026-06-01T10:03:42.000Z'))).not.toContain('unrouted');
    expect(statusText(waiting(2), at('2026-06-01T10:00:31.000Z')).split('\n')).toContain('unrouted    2 entries, the oldest 1s old (since 2026-06-01T10:00:30.000Z)');
    expect(statusText(waiting(1), at('2026-06-01T10:03:42.000Z')).split('\n')).toContain(
      'unrouted    1 entry, the oldest 3m 12s old (since 2026-06-01T10:00:30.000Z): nothing is being planned: serve is not running, has no rules loaded, or its router fails (see its error lines)',
    );
    expect(statusText(waiting(100_000), at('2026-06-01T10:00:30.000Z'))).toContain('unrouted    100000 or more entries, the oldest 0s old');
  });
});
