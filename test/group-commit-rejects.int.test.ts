import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryRejectedError } from '../src/errors.js';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { tempDir } from './helpers/relay.js';

let counter = 0;
/** A `delivery.planned` whose rendered request is `request` (the http sink's default body is the envelope). */
function planned(request: unknown): NewEntry {
  counter += 1;
  return {
    type: 'delivery.planned',
    data: {
      delivery_id: `dlv_${counter}`,
      event_id: `evt_${counter}`,
      event_seq: 1,
      event_type: 'call.completed',
      rule_id: 'to-audit',
      action_index: 0,
      sink: 'audit',
      request: request as Record<string, unknown>,
      order_key: null,
      rules_hash: 'f'.repeat(64),
    },
  } as NewEntry;
}

const deep = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('GroupCommit: an entry the log cannot write is refused alone', () => {
  let temp: ReturnType<typeof tempDir>;
  let log: SqliteLog;
  let commit: GroupCommit;
  beforeEach(async () => {
    temp = tempDir();
    log = new SqliteLog(join(temp.dir, 'relay.db'));
    commit = new GroupCommit(log.path);
    // the writer is up: the first append of a turn goes to it at once, the rest at the end of the turn, together
    await commit.probe();
  });
  afterEach(async () => {
    await commit.close();
    log.close();
    temp.cleanup();
  });

  const poisons: Array<{ name: string; request: () => unknown }> = [
    // structured clone (the hand-off to the writer thread) overflows its stack on these
    { name: 'a value nested 6,000 deep', request: () => ({ body: { data: { x: deep(6000) } } }) },
    { name: 'a function', request: () => ({ body: { toString: () => 'x' } }) },
    // these cross to the writer, then cannot be serialized there
    { name: 'a BigInt', request: () => ({ body: { amount: 10n } }) },
    { name: 'a cycle', request: () => {
      const body: Record<string, unknown> = { a: 1 };
      body['self'] = body;
      return { body };
    } },
  ];

  it.each(poisons)('$name: that append gets EntryRejectedError, every other one of the same turn commits', async ({ request }) => {
    // Given appends made in one loop turn, one of which holds an entry the log cannot write
    const before = [planned({ text: 'first' }), planned({ text: 'second' })];
    const poison = planned(request());
    const after = [planned({ text: 'third' })];
    const outcomes = await Promise.allSettled([
      ...before.map((entry) => commit.appendOne(entry)),
      commit.appendOne(poison),
      ...after.map((entry) => commit.appendOne(entry)),
    ]);
    // Then only the poisoned append is refused, as the entries' fault (retrying cannot help)
    const rejected = outcomes[2] as PromiseRejectedResult;
    expect(rejected.status).toBe('rejected');
    expect(rejected.reason).toBeInstanceOf(EntryRejectedError);
    expect(rejected.reason.code).toBe('entry_rejected');
    // And the others are committed, in order, with consecutive seqs
    const fulfilled = [outcomes[0], outcomes[1], outcomes[3]];
    expect(fulfilled.map((o) => o!.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(fulfilled.map((o) => (o as PromiseFulfilledResult<{ seq: number }>).value.seq)).toEqual([1, 2, 3]);
    expect(log.read(0).map((e) => (e.data as unknown as { request: { text: string } }).request.text)).toEqual(['first', 'second', 'third']);
    // And the log is not counted as failing: readiness has nothing to report, the next append commits
    expect(commit.failure()).toBeNull();
    await expect(commit.appendOne(planned({ text: 'later' }))).resolves.toEqual({ seq: 4, duplicate: false });
  });

  it('a poisoned append alone in its turn does not take the writer down', async () => {
    const outcome = commit.appendOne(planned({ body: deep(10_000) }));
    await expect(outcome).rejects.toBeInstanceOf(EntryRejectedError);
    await expect(commit.appendOne(planned({ text: 'after' }))).resolves.toEqual({ seq: 1, duplicate: false });
    expect(await commit.probe()).toBeNull();
  });
});
