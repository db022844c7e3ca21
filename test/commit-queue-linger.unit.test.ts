import { afterEach, describe, expect, it, vi } from 'vitest';
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
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with a linger, posts appends of several loop turns in one request, once the linger has passed', async () => {
    // the linger's timer on a fake clock; loop turns (setImmediate) stay real
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0), {}, 20);
    void queue.append([entry(1)]);
    await nextTurn();
    void queue.append([entry(2), entry(3)]);
    await nextTurn();
    // nothing posted while it lingers, though the writer is idle
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(19);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent.map((r) => r.counts)).toEqual([[1, 2]]);
  });

  it('without one (webhooks), posts at once to an idle writer', () => {
    const sent: CommitRequest[] = [];
    const queue = new CommitQueue((r) => (sent.push(r), true), idleWriter(), () => new Date(0));
    void queue.append([entry(1)]);
    expect(sent.map((r) => r.counts)).toEqual([[1]]);
  });
});
