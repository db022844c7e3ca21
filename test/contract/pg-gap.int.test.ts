import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/log/types.js';
import { receivedEntry } from '../helpers/entries.js';
import { pgQuery, usePgDatabase } from '../helpers/pg.js';

/**
 * SPEC §13: "Consumers never skip an entry that commits late with a lower seq." Two relays
 * append at once; the one that took the lower seq commits last. A consumer that reads
 * `seq > checkpoint` in between must still get both, in order. With seqs from a plain
 * sequence and no append lock this fails: the consumer sees seq 2, moves its checkpoint to 2,
 * and seq 1 commits behind it, never to be read.
 */
describe('gap-safe consumption on PostgreSQL', () => {
  const pg = usePgDatabase();

  /** Resolves once some connection of the database waits for a lock (the append lock): the race is on. */
  async function someoneWaits(): Promise<void> {
    for (;;) {
      const rows = await pgQuery<{ n: number }>(pg.db.url, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [pg.db.name]);
      if (rows[0]!.n > 0) return;
    }
  }

  it('a consumer reading seq > checkpoint while an older append is still open skips nothing', async () => {
    // Given relay A, whose append has written its entry but not committed yet
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: (seqs: number[]) => void;
    const aWritten = new Promise<number[]>((resolve) => (written = resolve));
    const a = await pg.open({ hooks: { beforeCommit: async (seqs) => (written(seqs), held) } });
    const b = await pg.open();
    const consumer = await pg.open();
    const appendA = a.append([receivedEntry({ event_id: 'evt_a' })]);
    const [seqA] = await aWritten;

    // When relay B appends meanwhile (and would commit first if it could)
    const appendB = b.append([receivedEntry({ event_id: 'evt_b' })]);
    await Promise.race([appendB, someoneWaits()]);
    // and the consumer reads what is there, and moves its checkpoint to the last seq it saw
    const first = await consumer.log.read(0);
    const checkpoint = first.at(-1)?.seq ?? 0;
    // and then A commits
    release();
    await Promise.all([appendA, appendB]);
    const second = await consumer.log.read(checkpoint);

    // Then between its two reads the consumer got both events, once each, in seq order
    const seen = [...first, ...second];
    const ids = (entries: Entry[]) => entries.map((e) => (e.data as { event_id: string }).event_id);
    expect(ids(seen).sort()).toEqual(['evt_a', 'evt_b']);
    expect(seen.map((e) => e.seq)).toEqual([1, 2]);
    // And A, which started first, holds the lower seq
    expect(seqA).toBe(1);
  });

  it('many appends from several relays at once: every reader position is a prefix of the final log', async () => {
    // Given three relays appending 30 events each, concurrently, and a consumer polling as they go
    const relays = await Promise.all([0, 1, 2].map(() => pg.open()));
    const consumer = await pg.open();
    const seen: number[] = [];
    let done = false;
    const consuming = (async () => {
      let checkpoint = 0;
      while (!done || checkpoint < 90) {
        for (const e of await consumer.log.read(checkpoint)) {
          seen.push(e.seq);
          checkpoint = e.seq;
        }
      }
    })();
    // When they all append
    await Promise.all(relays.map((r, i) => (async () => {
      for (let n = 0; n < 30; n++) await r.append([receivedEntry({ event_id: `evt_${i}_${n}` })]);
    })()));
    done = true;
    await consuming;
    // Then the consumer saw every seq once, in order, with no gap
    expect(seen).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
  });
});
