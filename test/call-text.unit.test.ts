import { describe, expect, it } from 'vitest';
import { callText } from '../src/commands/call.js';
import { assembleCall, type CallView } from '../src/project/call-story.js';

const REVOKED = { kind: 'permanent', code: 'token_revoked', message: 'Slack answered ok:false, error "token_revoked"' } as const;

/** A call whose Slack delivery met a revoked token: the sink paused, then a resume let it through. */
const VIEW: CallView = {
  story: {
    call_id: 'call_1',
    org_id: 'org_1',
    erased: false,
    events: [{ seq: 1, event_id: 'evt_1', event_type: 'call.initiated', created_at: '2026-06-01T09:00:00Z', received_at: '2026-06-01T09:00:01.000Z' }],
    deliveries: [
      {
        delivery_id: 'dlv_1',
        event_id: 'evt_1',
        rule_id: 'thread',
        sink: 'slack',
        status: 'succeeded',
        order_key: null,
        result: null,
        attempts: [
          { attempt: 1, at: '2026-06-01T09:00:02.000Z', outcome: 'failed', duration_ms: 40, error: REVOKED },
          { attempt: 2, at: '2026-06-01T09:10:00.000Z', outcome: 'succeeded', duration_ms: 30, error: null },
        ],
        dead_reason: null,
      },
    ],
  },
  timeline: [
    { seq: 1, at: '2026-06-01T09:00:01.000Z', kind: 'event', event_id: 'evt_1', event_type: 'call.initiated', created_at: '2026-06-01T09:00:00Z', received_at: '2026-06-01T09:00:01.000Z' },
    { seq: 2, at: '2026-06-01T09:00:01.500Z', kind: 'planned', delivery_id: 'dlv_1', rule_id: 'thread', sink: 'slack', order_key: null },
    { seq: 3, at: '2026-06-01T09:00:02.000Z', kind: 'attempt', delivery_id: 'dlv_1', attempt: 1, outcome: 'failed', duration_ms: 40, error: REVOKED, retry_at: null, paused: true },
    { seq: 6, at: '2026-06-01T09:10:00.000Z', kind: 'attempt', delivery_id: 'dlv_1', attempt: 2, outcome: 'succeeded', duration_ms: 30, error: null, retry_at: null, paused: false },
  ],
};

describe('call: the timeline of a delivery whose sink paused (README "Paused sinks")', () => {
  it('says the refused attempt paused the sink and is not counted, instead of a bare permanent failure with no next attempt', () => {
    // When the story of a call whose attempt met a revoked token is printed
    const lines = callText(VIEW).split('\n');
    // Then its timeline line says why nothing happened next, and the line of the attempt that succeeded says nothing more
    const refused = lines.find((l) => l.startsWith('3 '));
    expect(refused?.split(/ {2,}/).slice(3)).toEqual([
      'attempt 1 failed',
      '40 ms',
      'permanent token_revoked: Slack answered ok:false, error "token_revoked"; sink paused: waits, not counted, until resume, a new token or a probe',
    ]);
    expect(lines.find((l) => l.startsWith('6 '))?.split(/ {2,}/).slice(3)).toEqual(['attempt 2 succeeded', '30 ms']);
  });
});

describe('call: an erased call\'s timeline (§9 "…re-drives, erasure")', () => {
  it('ends with the erasure: when, by whom, why, and whether the sinks were asked to delete it', () => {
    // Given a call's entries as the projection reads them, its call.erased last
    const entries = [
      { seq: 1, type: 'event.received', at: '2026-06-01T09:00:01.000Z', data: JSON.stringify(['evt_1', 'call.completed', '2026-06-01T09:00:00.000Z', '2026-06-01T09:00:01.000Z']) },
      { seq: 9, type: 'call.erased', at: '2026-06-02T10:00:00.000Z', data: JSON.stringify({ call_id: 'call_1', reason: 'customer asked', by: 'cli', downstream: true }) },
    ];
    // When its story is assembled and printed
    const view = assembleCall('call_1', 'org_1', [], entries, true);
    const lines = callText(view).split('\n');
    // Then the erasure is a moment of its own, under no delivery
    expect(view.timeline.at(-1)).toEqual({ seq: 9, at: '2026-06-02T10:00:00.000Z', kind: 'erased', reason: 'customer asked', by: 'cli', downstream: true });
    expect(lines[0]).toBe('call call_1  org org_1  [erased]');
    expect(lines.at(-1)?.split(/ {2,}/)).toEqual(['9', '2026-06-02T10:00:00.000Z', '-', 'erased', 'by cli: customer asked; deletions planned at the sinks that received it']);
  });
});
