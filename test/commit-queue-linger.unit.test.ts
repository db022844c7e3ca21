import { describe, expect, it } from 'vitest';
import { CommitQueue, type CommitRequest } from '../src/log/sqlite/commit-queue.js';
import { WRITER_IDLE } from '../src/log/sqlite/writer-protocol.js';
import type { NewEntry } from '../src/log/types.js';

/**
 * The pipeline's appends linger (`DEFAULTS.pipeline.appendLingerMs`, Kafka's `linger.ms`): at a
 * low rate each would otherwise be a commit and an fsync of its own. Webhooks' appends do not.
 */
const entry = (n: number): NewEntry => ({ type: 'rules.loaded', data: { path: `r${n}.yaml`, hash: `h${n}`, reason: 'test' } }) as unknown as NewEntry;
const idleWriter = () => {
  const idle = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(idle, 0, WRITER_IDLE);
  return idle;
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('a commit queue', () => {
  it('with a linger, posts appends of several loop turns in one request, once the linger has passed', async () => {
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0), {}, 20);
    void queue.append([entry(1)]);
    await nextTurn();
    void queue.append([entry(2), entry(3)]);
    await nextTurn();
    // nothing posted while it lingers, though the writer is idle
    expect(sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(sent.map((r) => r.counts)).toEqual([[1, 2]]);
  });

  it('without one (webhooks), posts at once to an idle writer', () => {
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0));
    void queue.append([entry(1)]);
    expect(sent.map((r) => r.counts)).toEqual([[1]]);
  });
});

describe('a serial commit queue (the main thread\'s: one request in flight, its commit then its flush)', () => {
  const reply = (r: CommitRequest) => ({ kind: 'committed' as const, ids: [r.id], ok: true as const, seqs: r.entries.map((_, i) => r.id * 100 + i), ms: 1 });

  it('holds the appends made while a request is in flight and posts them together once it is answered', async () => {
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0), {}, 0, true);
    const first = queue.append([entry(1)]);
    expect(sent.map((r) => r.counts)).toEqual([[1]]);
    // appends of later loop turns, while the first waits for its commit and flush
    const second = queue.append([entry(2)]);
    await nextTurn();
    const third = queue.append([entry(3), entry(4)]);
    await nextTurn();
    expect(sent).toHaveLength(1);
    // the first is answered: the two waiting go in one request
    queue.answer(reply(sent[0]!));
    expect(await first).toEqual([{ seq: 100, duplicate: false }]);
    expect(sent.map((r) => r.counts)).toEqual([[1], [1, 2]]);
    queue.answer(reply(sent[1]!));
    expect(await second).toEqual([{ seq: 200, duplicate: false }]);
    expect(await third).toEqual([
      { seq: 201, duplicate: false },
      { seq: 202, duplicate: false },
    ]);
  });

  it('a request that failed releases what waited behind it, and so does a writer that was lost', async () => {
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0), {}, 0, true);
    const first = queue.append([entry(1)]);
    const second = queue.append([entry(2)]);
    await nextTurn();
    queue.answer({ kind: 'committed', ids: [sent[0]!.id], ok: false, error: { name: 'Error', message: 'disk full', code: 'SQLITE_FULL' } });
    await expect(first).rejects.toThrow(/disk full/);
    expect(sent.map((r) => r.counts)).toEqual([[1], [1]]);
    const third = queue.append([entry(3)]);
    queue.failAll('the writer thread exited (1)');
    await expect(second).rejects.toThrow(/writer thread exited/);
    await nextTurn();
    expect(sent.map((r) => r.counts)).toEqual([[1], [1], [1]]);
    queue.answer(reply(sent[2]!));
    expect(await third).toEqual([{ seq: 300, duplicate: false }]);
  });
});
