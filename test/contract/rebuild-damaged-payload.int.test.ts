import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/log/store.js';
import type { NewEntry } from '../../src/log/types.js';
import { damageEntryData, damagePayload } from '../helpers/damage.js';
import { engineFixture, ENGINES, openWithClock, type EngineFixture } from '../helpers/engines.js';

/**
 * `replay --rebuild` and `--verify` project each entry's facts: a payload that no longer
 * decrypts (README "Faults") does not stop them, on either engine, as on SQLite, whose rebuild never read payloads.
 */
const AT = '2026-06-01T10:00:00.000Z';

const ENTRIES: NewEntry[] = [
  {
    type: 'event.received',
    data: { event_id: 'e1', event_type: 'call.completed', org_id: 'o', created_at: AT, received_at: AT, call_id: 'c1', body: '{"event_id":"e1","data":{"call_id":"c1"}}' },
  },
  {
    type: 'delivery.planned',
    data: {
      delivery_id: 'd1',
      event_id: 'e1',
      event_seq: 1,
      event_type: 'call.completed',
      call_id: 'c1',
      rule_id: 'r',
      action_index: 0,
      sink: 'hook',
      request: { body: { text: 'secret' } },
      order_key: null,
      rules_hash: 'h',
    },
  },
];

describe.each(ENGINES)('a rebuild on %s, with a payload that no longer decrypts', (engine) => {
  let fx: EngineFixture;
  let store: Store | undefined;
  const clock = { at: AT };
  beforeEach(async () => {
    fx = await engineFixture(engine);
  });
  afterEach(async () => {
    await store?.close();
    await fx.cleanup();
  });

  it('rebuilds and verifies from the facts: the projections are as before', async () => {
    // Given a log of an event and its plan, both payloads sealed, the plan's altered
    const writer = await openWithClock(fx.location, clock);
    await writer.writer.append(ENTRIES);
    await writer.close();
    if (engine === 'postgres') await fx.raw(`UPDATE payloads SET sealed = set_byte(sealed, 40, (get_byte(sealed, 40) + 1) % 256) WHERE seq = 2`);
    else damagePayload(fx.location, 2);
    store = await openWithClock(fx.location, clock);
    await expect(store.log.read(0)).rejects.toThrow(/entry 2 .*is damaged: its payload does not decrypt/);
    // When the projections are verified, and rebuilt
    const verified = await store.verify();
    const rebuilt = await store.rebuild();
    // Then both read the whole log, and nothing differs
    expect(verified).toMatchObject({ identical: true, entries: 2, last_seq: 2 });
    expect(rebuilt).toMatchObject({ entries: 2, last_seq: 2 });
  }, 30_000);

  it('stops, naming the entry, on a dead letter rewritten as {}: applied to nothing, it would bring the delivery back to life', async () => {
    // Given the delivery dead (seq 3), then its dead letter rewritten by hand, the append-only trigger lifted
    const writer = await openWithClock(fx.location, clock);
    await writer.writer.append([...ENTRIES, { type: 'delivery.dead', data: { delivery_id: 'd1', reason: 'permanent' } }]);
    await writer.close();
    if (engine === 'postgres') await fx.raw(`ALTER TABLE entries DISABLE TRIGGER entries_no_change; UPDATE entries SET data = '{}' WHERE seq = 3; ALTER TABLE entries ENABLE TRIGGER entries_no_change`);
    else damageEntryData(fx.location, 3, '{}');
    store = await openWithClock(fx.location, clock);
    // When the projections are rebuilt, or verified: one line naming the entry, and the delivery is still dead
    const named = /^entry 3 of the log (at .* )?is damaged: its data is not what a delivery\.dead entry holds \(delivery_id is missing\); run/;
    await expect(store.rebuild()).rejects.toThrow(named);
    await expect(store.verify()).rejects.toThrow(named);
    expect((await store.projections.deliveries({ ids: ['d1'] }))[0]).toMatchObject({ status: 'dead' });
  }, 30_000);
});
