import { describe, expect, it } from 'vitest';
import { pgQuery, usePgDatabase } from '../helpers/pg.js';

/**
 * The pipeline lease of several relays on one PostgreSQL log (README "Past one machine"): one
 * holder at a time; the holder renews it; a lapsed lease (its holder was killed) goes to the
 * next that asks; a released one at once. A lapse is made by moving the lease's end into the
 * past, as the database's clock would, rather than by waiting.
 */
describe('the pipeline lease on PostgreSQL', () => {
  const pg = usePgDatabase();

  it('is held by one relay at a time, renewed by it, and taken over once it lapses or is released', async () => {
    const store = await pg.open();
    const a = store.lease('pipeline', 'relay-a');
    const b = store.lease('pipeline', 'relay-b');
    // Given relay A holds the lease
    expect(await a.hold()).toBe(true);
    // Then B cannot take it, and A renews it
    expect(await b.hold()).toBe(false);
    expect(await a.hold()).toBe(true);
    const until = await pgQuery<{ left: number }>(pg.db.url, `SELECT extract(epoch FROM until - now()) * 1000 AS left FROM hr_leases`);
    expect(Number(until[0]!.left)).toBeGreaterThan(a.ttlMs - 1000);
    // When A stops renewing and the lease lapses (A was killed)
    await pgQuery(pg.db.url, `UPDATE hr_leases SET until = now() - interval '1 second'`);
    // Then B takes it, and A, back, does not
    expect(await b.hold()).toBe(true);
    expect(await a.hold()).toBe(false);
    // And when B stops cleanly it releases the lease: A has it at once
    await b.release();
    expect(await a.hold()).toBe(true);
    expect(await pgQuery(pg.db.url, `SELECT name, holder FROM hr_leases`)).toEqual([{ name: 'pipeline', holder: 'relay-a' }]);
  });
});
