import { afterEach, describe, expect, it } from 'vitest';
import { WriteInterruptedError } from '../../src/errors.js';
import type { Store } from '../../src/log/store.js';
import { receivedEntry } from '../helpers/entries.js';
import { engineFixture, ENGINES, openWithClock, type EngineFixture } from '../helpers/engines.js';

/**
 * A short command that writes (`erase`, `retry`, `resume`: `writeUnlessInterrupted`) keeps Ctrl-C
 * until its write has begun only where the store's writes heed the interrupt, and gives it back to
 * Node where they do not; it asks the store (`Store.writesHeedInterrupt`), not the shape of `--db`.
 * On each engine, what the store says is what its writes do.
 */
const AT = '2026-06-01T10:00:00.000Z';

describe.each(ENGINES)('a store on %s says whether its writes heed Ctrl-C, and they do as it says', (engine) => {
  let fx: EngineFixture | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await fx?.cleanup();
  });

  it('a write on a store opened with an interrupt already aborted: given up, nothing appended, exactly where the store says its writes heed it', async () => {
    // Given a log opened with Ctrl-C already pressed
    fx = await engineFixture(engine);
    const controller = new AbortController();
    controller.abort();
    store = await openWithClock(fx.location, { at: AT }, { interrupt: controller.signal });
    // When a command appends
    const outcome = await store.writer.append([receivedEntry()]).then(
      () => 'appended',
      (error: unknown) => (error instanceof WriteInterruptedError ? 'given up' : error),
    );
    // Then SQLite's write is given up and PostgreSQL's is made, as each store says
    expect([store.writesHeedInterrupt, outcome]).toEqual(engine === 'sqlite' ? [true, 'given up'] : [false, 'appended']);
    expect(await store.log.lastSeq()).toBe(outcome === 'appended' ? 1 : 0);
  });
});
