import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decide } from '../../src/delivery/lifecycle.js';
import { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../../src/log/types.js';
import { deliveryId } from '../../src/route/delivery-id.js';
import { planEntries } from '../../src/route/plan-event.js';
import { ROUTER_CHECKPOINT } from '../../src/route/router.js';
import { loadRules } from '../../src/rules/load-rules.js';
import type { AttemptOutcome } from '../../src/sinks/types.js';
import { steppingClock } from './replay-scenario.js';

/**
 * The call of issue 14's test, written the way the relay writes it: events as the receiver logs
 * them, plans made by the router's own planner from a real rules file, attempts' entries made
 * by the delivery life cycle's `decide`, one transaction each, one second apart. Another call's
 * entries are interleaved, so a story that leaked them would show.
 *
 *   evt_story_1 call.initiated  → D1 thread/slack: fails (503), retried, succeeds
 *   evt_story_2 call.answered   → D2 stars/slack: its template exceeds its limits, dead at planning
 *   evt_story_3 call.completed  → D3 thread/slack: succeeds; D4 crm/crm: 404, dead, re-driven, succeeds
 *   evt_story_4, evt_story_5    (types no rule takes)
 */
export const STORY_RULES = `version: 1
sinks:
  slack: { type: slack, token: xoxb-story-token }
  crm: { type: http, url: "http://127.0.0.1:9/crm" }
rules:
  - id: thread
    on: [call.initiated, call.completed]
    actions:
      - sink: slack
        channel: "#calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ event.event_type }} by {{ data.agent_id }}"
  - id: stars
    on: call.answered
    actions:
      - sink: slack
        channel: "#calls"
        text: "{% for i in (1..data.rating) %}*{% endfor %}"
  - id: crm
    on: call.completed
    actions:
      - sink: crm
        body: { call: "{{ data.call_id }}" }
`;

export const STORY_CALL = 'call_story_1';
export const OTHER_CALL = 'call_other_2';

/** The story's delivery ids, as the planner names them. */
export const D = {
  d1: deliveryId({ kind: 'call', event_id: 'evt_story_1' }, 'thread', 0),
  d2: deliveryId({ kind: 'call', event_id: 'evt_story_2' }, 'stars', 0),
  d3: deliveryId({ kind: 'call', event_id: 'evt_story_3' }, 'thread', 0),
  d4: deliveryId({ kind: 'call', event_id: 'evt_story_3' }, 'crm', 0),
};

/** `call --json` (README "What happened to this call?") for `STORY_CALL`: written out by hand from what happened to it (see `writeStory`). */
export const EXPECTED_STORY = {
  call_id: STORY_CALL,
  org_id: 'org_story',
  erased: false,
  events: [
    { seq: 1, event_id: 'evt_story_1', event_type: 'call.initiated', created_at: '2026-06-01T08:59:01Z', received_at: '2026-06-01T09:00:01.500Z' },
    { seq: 6, event_id: 'evt_story_2', event_type: 'call.answered', created_at: '2026-06-01T08:59:02Z', received_at: '2026-06-01T09:00:02.500Z' },
    { seq: 10, event_id: 'evt_story_3', event_type: 'call.completed', created_at: '2026-06-01T08:59:03Z', received_at: '2026-06-01T09:00:03.500Z' },
    { seq: 16, event_id: 'evt_story_4', event_type: 'call.recording_ready', created_at: '2026-06-01T08:59:04Z', received_at: '2026-06-01T09:00:04.500Z' },
    { seq: 19, event_id: 'evt_story_5', event_type: 'call.transcript_ready', created_at: '2026-06-01T08:59:05Z', received_at: '2026-06-01T09:00:05.500Z' },
  ],
  deliveries: [
    {
      delivery_id: D.d1,
      event_id: 'evt_story_1',
      rule_id: 'thread',
      sink: 'slack',
      status: 'succeeded',
      order_key: STORY_CALL,
      result: { channel: 'C0CALLS', ts: '1780304408.000100' },
      attempts: [
        { attempt: 1, at: '2026-06-01T09:00:05.000Z', outcome: 'failed', duration_ms: 120, error: { kind: 'transient', code: 'http_503', message: 'HTTP 503', status: 503 } },
        { attempt: 2, at: '2026-06-01T09:00:08.000Z', outcome: 'succeeded', duration_ms: 80, error: null },
      ],
      dead_reason: null,
    },
    {
      delivery_id: D.d2,
      event_id: 'evt_story_2',
      rule_id: 'stars',
      sink: 'slack',
      status: 'dead',
      order_key: null,
      result: null,
      attempts: [],
      dead_reason: 'render_failed: text: memory alloc limit exceeded, line:1, col:1',
    },
    {
      delivery_id: D.d3,
      event_id: 'evt_story_3',
      rule_id: 'thread',
      sink: 'slack',
      status: 'succeeded',
      order_key: STORY_CALL,
      result: { channel: 'C0CALLS', ts: '1780304411.000200' },
      attempts: [{ attempt: 1, at: '2026-06-01T09:00:11.000Z', outcome: 'succeeded', duration_ms: 95, error: null }],
      dead_reason: null,
    },
    {
      delivery_id: D.d4,
      event_id: 'evt_story_3',
      rule_id: 'crm',
      sink: 'crm',
      status: 'succeeded',
      order_key: null,
      result: { status: 200 },
      attempts: [
        { attempt: 1, at: '2026-06-01T09:00:12.000Z', outcome: 'failed', duration_ms: 40, error: { kind: 'permanent', code: 'http_404', message: 'HTTP 404: no such endpoint', status: 404 } },
        { attempt: 2, at: '2026-06-01T09:00:15.000Z', outcome: 'succeeded', duration_ms: 55, error: null },
      ],
      dead_reason: null,
    },
  ],
};

const START = Date.parse('2026-06-01T09:00:00.000Z');

export function storyEnvelope(n: number, type: string, call = STORY_CALL, extra: Record<string, unknown> = {}) {
  const id = call === STORY_CALL ? `evt_story_${n}` : `evt_other_${n}`;
  return {
    event_id: id,
    event_type: type,
    created_at: `2026-06-01T08:59:0${n}Z`,
    org_id: call === STORY_CALL ? 'org_story' : 'org_other',
    data: { call_id: call, agent_id: 'agent_alpha', status: type.slice(5), ...extra },
  };
}

/**
 * Writes the story into a new log at `dir/relay.db` with its rules at `dir/rules.yaml`.
 * `withCallIds: false` strips `call_id` from every plan, as logs written before issue 14 hold them.
 */
export async function writeStory(dir: string, options: { withCallIds?: boolean } = {}): Promise<{ dbPath: string; rulesPath: string }> {
  const dbPath = join(dir, 'relay.db');
  const rulesPath = join(dir, 'rules.yaml');
  writeFileSync(rulesPath, STORY_RULES);
  const loaded = await loadRules(rulesPath, {});
  if (!loaded.ok) throw new Error(`story rules: ${JSON.stringify(loaded.problems)}`);
  const rules = loaded.rules;
  const clock = steppingClock(START);
  let now = START;
  const log = new SqliteLog(dbPath, { now: () => new Date((now = clock().getTime())) });
  const append = (entries: NewEntry[]) => log.append(entries);

  const receive = (envelope: ReturnType<typeof storyEnvelope>) => {
    const received_at = `2026-06-01T09:00:0${envelope.event_id.slice(-1)}.500Z`;
    const body = JSON.stringify(envelope);
    const data = { ...envelope, received_at, call_id: envelope.data.call_id, body };
    const { data: _envelopeData, ...fields } = data;
    const seq = append([{ type: 'event.received', data: fields }])[0]!.seq!;
    const { entries } = planEntries(rules, { seq, received_at, envelope });
    const plans = options.withCallIds === false ? entries.map(stripCallId) : entries;
    if (plans.length > 0) append(plans);
  };
  const attempt = (id: string, outcome: AttemptOutcome, durationMs: number) => {
    const state = log.db.prepare(`SELECT attempts, round_failures, sink FROM p_deliveries WHERE delivery_id = ?`).get(id) as { attempts: number; round_failures: number; sink: string };
    const policy = { max_attempts: 12, initial_delay_ms: 10_000, max_delay_ms: 3_600_000 };
    // the attempt is recorded at the next tick of the clock: that is its `now`
    const at = now + 1000;
    append(decide(outcome, state, { deliveryId: id, attempt: state.attempts + 1, durationMs, policy, rateLimitedInARow: 0, now: at, random: 0.5, sink: { name: state.sink, paused: false, probe: false } }));
  };

  receive(storyEnvelope(1, 'call.initiated', STORY_CALL, { to_number: '+14155550123' }));
  receive(storyEnvelope(1, 'call.initiated', OTHER_CALL));
  attempt(D.d1, { outcome: 'failed', error: { kind: 'transient', code: 'http_503', message: 'HTTP 503', status: 503 } }, 120);
  receive(storyEnvelope(2, 'call.answered', STORY_CALL, { rating: 1e9 }));
  attempt(D.d1, { outcome: 'succeeded', result: { channel: 'C0CALLS', ts: '1780304408.000100' } }, 80);
  receive(storyEnvelope(3, 'call.completed', STORY_CALL, { summary: 'Booked a demo', duration_seconds: 312 }));
  attempt(D.d3, { outcome: 'succeeded', result: { channel: 'C0CALLS', ts: '1780304411.000200' } }, 95);
  attempt(D.d4, { outcome: 'failed', error: { kind: 'permanent', code: 'http_404', message: 'HTTP 404: no such endpoint', status: 404 } }, 40);
  receive(storyEnvelope(4, 'call.recording_ready'));
  append([{ type: 'delivery.retried', data: { delivery_id: D.d4, reason: 're-driven by id' } }]);
  attempt(D.d4, { outcome: 'succeeded', result: { status: 200 } }, 55);
  receive(storyEnvelope(5, 'call.transcript_ready'));
  receive(storyEnvelope(2, 'call.completed', OTHER_CALL));
  log.append([], { name: ROUTER_CHECKPOINT, seq: log.lastSeq() });
  log.close();
  return { dbPath, rulesPath };
}

function stripCallId(entry: NewEntry): NewEntry {
  if (entry.type !== 'delivery.planned') return entry;
  const { call_id: _callId, ...data } = entry.data;
  return { type: 'delivery.planned', data };
}
