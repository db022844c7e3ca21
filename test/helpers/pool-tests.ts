import { afterEach, expect } from 'vitest';
import type { AttemptContext, AttemptOutcome } from '../../src/sinks/types.js';

/** What a pool test opens: a sink or transport (closes its sockets at once) or the server it talks to. */
export interface Closable {
  close(): void | Promise<void>;
}

/**
 * Closes, after each test of the file that calls it (at its top level), what each of `open`
 * holds then, in the order given (the sink before the server it talks to). `open` reads the
 * file's `let`s, which a test assigns or leaves as they were: what this closed after an earlier
 * test and is still held is not closed again. (A sink the test closed itself is closed again
 * here, which a pool takes as nothing to do.)
 */
export function closeAfterEach(...open: Array<() => Closable | undefined>): void {
  const closed = new WeakSet<Closable>();
  afterEach(async () => {
    for (const read of open) {
      const thing = read();
      if (thing === undefined || closed.has(thing)) continue;
      closed.add(thing);
      await thing.close();
    }
  });
}

/**
 * The context of a first attempt of delivery `deliveryId`, with no key state, and `over`
 * (a signal, a key state, another attempt) laid over it.
 */
export const attemptContext =
  (deliveryId: string) =>
  (over: Partial<AttemptContext> = {}): AttemptContext => ({ deliveryId, attempt: 1, keyState: null, ...over });

/**
 * The failed outcome `outcome` is, for its `error`; throws if it succeeded. Fails the test if
 * the outcome quotes `secret` (the sink's token), when one is given.
 */
export function failure(outcome: AttemptOutcome, secret?: string): Extract<AttemptOutcome, { outcome: 'failed' }> {
  if (outcome.outcome !== 'failed') throw new Error(`expected failure, got ${JSON.stringify(outcome)}`);
  if (secret !== undefined) expect(JSON.stringify(outcome)).not.toContain(secret);
  return outcome;
}
