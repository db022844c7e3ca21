import { describe, expect, it } from 'vitest';
import type { NewEntry } from '../../src/log/types.js';
import { pgQuery, usePgDatabase } from '../helpers/pg.js';

/**
 * A PostgreSQL log written by the release before key scopes were stored as order keys are
 * (a78e88b): a Slack channel rendered from a long field, up to the index's ~2,700 bytes, was
 * stored as rendered. Opened by this one, its thread continues and a rebuild agrees.
 */
describe('a PostgreSQL log whose key scopes were stored as rendered', () => {
  const pg = usePgDatabase();
  const LONG_CHANNEL = `#c-${'x'.repeat(200)}${'😀'.repeat(30)}`; // 233 characters, 263 UTF-16 units

  it('has them stored as the projector stores them when opened: replay --verify agrees and the thread is found', async () => {
    // Given a log with a delivered message of a thread in a channel past 256 UTF-16 units, as the previous release stored it (schema version 3)
    const store = await pg.open();
    const event: NewEntry = { type: 'event.received', data: { event_id: 'e_1', event_type: 'call.initiated', org_id: 'o', created_at: '2026-06-01T08:59:00Z', received_at: '2026-06-01T09:00:00.000Z', call_id: 'call_1', body: '{"event_id":"e_1","data":{"call_id":"call_1"}}' } };
    await store.append([event]);
    await store.append([
      { type: 'delivery.planned', data: { delivery_id: 'd_1', event_id: 'e_1', event_seq: 1, event_type: 'call.initiated', call_id: 'call_1', rule_id: 'thread', action_index: 0, sink: 'slack', request: { channel: LONG_CHANNEL, text: 'hi' }, order_key: 'call_1', rules_hash: 'h1' } },
      { type: 'delivery.attempted', data: { delivery_id: 'd_1', attempt: 1, outcome: 'succeeded', duration_ms: 3, error: null, retry_at: null, result: { channel: 'C1', ts: '1.1' } } },
    ]);
    const hashed = (await pgQuery<{ key_scope: string }>(pg.db.url, 'SELECT key_scope FROM p_key_state'))[0]!.key_scope;
    expect(hashed).toMatch(/^sha256:[0-9a-f]{64}$/);
    await store.close();
    await pgQuery(pg.db.url, `UPDATE p_deliveries SET key_scope = '${LONG_CHANNEL}'`);
    await pgQuery(pg.db.url, `UPDATE p_key_state SET key_scope = '${LONG_CHANNEL}'`);
    // (and without what migration 5 added: where the log starts, as that release had no such thing)
    await pgQuery(pg.db.url, 'DROP TABLE log_start; DROP FUNCTION hr_log_start_forward; DROP INDEX p_calls_last_event');
    await pgQuery(pg.db.url, 'UPDATE hr_schema SET version = 3');

    // When this husky-relay opens it (and migrates it)
    const upgraded = await pg.open();

    // Then the projections are what a rebuild makes of the log, and the thread's state is under the scope new plans get
    expect((await upgraded.verify()).differences).toEqual([]);
    expect(await pgQuery(pg.db.url, 'SELECT key_scope FROM p_key_state')).toEqual([{ key_scope: hashed }]);
  });
});
