import { describe, expect, it } from 'vitest';
import { misshapenEntryError, projectedEntryError } from '../src/log/entry-shape.js';

/**
 * What `replay --rebuild` and `--verify` hold an entry to (`projectedEntryError`): what they read
 * of it. An event as SQLite's rebuild reads it (three fields) is sound, and a rebuild never refuses
 * a log an older relay wrote: a `log.truncated` whose snapshot has no `calls` (before retention kept
 * calls in progress) is sound there, though retention's whole shape wants them.
 */
const SNAPSHOT = { events_by_type: [], sink_health: [], sink_state: [], key_state: [] };
const OLD_TRUNCATION = { seq: 9, type: 'log.truncated', data: { before_seq: 4, prev_hash: 'x', entries: 3, calls: 1, snapshot: SNAPSHOT, forget_keys: [] } };
const EVENT_AS_READ = { seq: 1, type: 'event.received', data: { event_type: 'call.completed', org_id: 'o', call_id: 'c1' } };

describe('projectedEntryError: an entry as a rebuild reads it', () => {
  it('an event as the rebuild reads it (event_type, org_id, call_id) is sound; one of them null is named', () => {
    expect(misshapenEntryError(EVENT_AS_READ)?.message).toMatch(/event_id is missing/);
    expect(projectedEntryError(EVENT_AS_READ)).toBeNull();
    expect(projectedEntryError({ ...EVENT_AS_READ, data: { ...EVENT_AS_READ.data, org_id: null } })?.message).toMatch(
      /^entry 1 of the log is damaged: its data is not what a event\.received entry holds \(org_id is not text \(null\)\); run/,
    );
  });

  it('a log.truncated of an older relay, its snapshot without calls, is sound; one without a snapshot is named', () => {
    expect(misshapenEntryError(OLD_TRUNCATION)?.message).toMatch(/snapshot\.calls is missing/);
    expect(projectedEntryError(OLD_TRUNCATION)).toBeNull();
    expect(projectedEntryError({ ...OLD_TRUNCATION, data: { ...OLD_TRUNCATION.data, snapshot: { ...SNAPSHOT, key_state: 'x' } } })?.message).toMatch(
      /^entry 9 of the log is damaged: its data is not what a log\.truncated entry holds \(snapshot\.key_state is not an array \(string\)\)/,
    );
  });

  it('every other type is held to its whole shape, as older relays wrote it (a plan without call_id, a re-drive without by)', () => {
    const plan = { delivery_id: 'd1', event_id: 'e1', event_seq: 1, event_type: 't', rule_id: 'r', action_index: 0, sink: 's', request: {}, order_key: null, rules_hash: 'h' };
    expect(projectedEntryError({ seq: 2, type: 'delivery.planned', data: plan })).toBeNull();
    expect(projectedEntryError({ seq: 3, type: 'delivery.retried', data: { delivery_id: 'd1', reason: 'by id' } })).toBeNull();
    expect(projectedEntryError({ seq: 2, type: 'delivery.planned', data: { ...plan, action_index: '0' } })?.message).toMatch(/\(action_index is not a number \(string\)\)/);
  });
});
