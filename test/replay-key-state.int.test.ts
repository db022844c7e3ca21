import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { tempDir } from './helpers/relay.js';
import { snapshot, steppingClock } from './helpers/replay-scenario.js';

/**
 * The key state (a card's message, the furthest stage of its call) changes after the key's
 * first delivery: replay must reproduce it also for keys the rebuild's bounded memory let go
 * of in between (more keys than it keeps, see `src/replay/fold.ts`).
 */
describe('replay --rebuild: key state that moves on', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir('husky-keys-');
  });
  afterEach(() => temp.cleanup());

  it('rebuilds the stage and the restarted message of 2,500 cards exactly, after they aged out of memory', async () => {
    // Given 2,500 calls whose card was posted, then (after all the others) moved on or posted afresh
    const log = new SqliteLog(join(temp.dir, 'keys.db'), { now: steppingClock() });
    const CALLS = 2500;
    let seq = 0;
    const card = (call: number, type: string, result: Record<string, unknown>): NewEntry[] => {
      const id = `card_${call}_${type}`;
      const eventId = `evt_${call}_${type}`;
      seq += 3;
      return [
        {
          type: 'event.received',
          data: { event_id: eventId, event_type: type, org_id: 'org', created_at: '2026-06-01T08:00:00Z', received_at: '2026-06-01T08:00:00.000Z', call_id: `call_${call}`, body: '{}' },
        },
        {
          type: 'delivery.planned',
          data: { delivery_id: id, event_id: eventId, event_seq: seq - 2, event_type: type, rule_id: 'card', action_index: 0, sink: 'slack', request: { channel: '#live', replace: true }, order_key: `live-${call}`, rules_hash: 'h' },
        },
        { type: 'delivery.attempted', data: { delivery_id: id, attempt: 1, outcome: 'succeeded', duration_ms: 1, error: null, retry_at: null, result } },
      ];
    };
    const calls = Array.from({ length: CALLS }, (_, c) => c);
    const inBatches = (make: (c: number) => NewEntry[]) => {
      for (let from = 0; from < CALLS; from += 500) log.append(calls.slice(from, from + 500).flatMap(make));
    };
    inBatches((c) => card(c, 'call.initiated', { channel: 'C1', ts: `1.${c}` }));
    inBatches((c) => {
      const later = c % 3 === 0 ? { channel: 'C1', ts: `2.${c}`, restarted: 'message_not_found' } : c % 3 === 1 ? { skipped: 'superseded' } : { channel: 'C1', ts: `1.${c}` };
      return card(c, c % 2 ? 'call.completed' : 'call.answered', later);
    });
    const live = snapshot(log.db);
    const keys = live.tables['p_key_state'] as { order_key: string; result: string }[];
    expect(JSON.parse(keys.find((k) => k.order_key === 'live-3')!.result)).toEqual({ channel: 'C1', ts: '2.3', stage_event_type: 'call.completed' });
    expect(JSON.parse(keys.find((k) => k.order_key === 'live-4')!.result)).toEqual({ channel: 'C1', ts: '1.4', stage_event_type: 'call.initiated' });

    // When the projections are verified and rebuilt
    const verified = await verifyProjections(log.db);
    await rebuildProjections(log.db);

    // Then nothing differs
    expect(verified.differences).toEqual([]);
    expect(snapshot(log.db)).toEqual(live);
    log.close();
  });
});
