import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommitQueue, type CommitRequest } from '../src/log/sqlite/commit-queue.js';
import { WRITER_IDLE } from '../src/log/sqlite/writer-protocol.js';
import type { NewEntry } from '../src/log/types.js';

/**
 * What a commit reply amounted to (`CommitStats`, the metrics `husky_relay_commit_seconds` and
 * `husky_relay_commit_wait_seconds`): how long the commit took on the writer, and how long its
 * oldest request waited for the writer before that. The clock (`performance.now`) is faked.
 */
const entry = (n: number): NewEntry => ({ type: 'rules.loaded', data: { path: `r${n}.yaml`, hash: `h${n}`, reason: 'test' } }) as unknown as NewEntry;
const idleWriter = () => {
  const idle = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(idle, 0, WRITER_IDLE);
  return idle;
};

describe('a commit reply, for metrics', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('says how long its oldest request waited for the writer: posted to answered, less the commit itself', async () => {
    // Given two requests posted at 1000 and 1004 ms (each append goes at once to an idle writer)
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const sent: CommitRequest[] = [];
    const idle = idleWriter();
    const queue = new CommitQueue((r) => (sent.push(r), true), idle, () => new Date(0));
    const first = queue.append([entry(1)]);
    clock = 1004;
    Atomics.store(idle, 0, WRITER_IDLE);
    const second = queue.append([entry(2)]);
    expect(sent.map((r) => r.id)).toEqual([1, 2]);
    // When at 1020 ms the writer answers both with one commit that took 6 ms
    clock = 1020;
    const stats = queue.answer({ kind: 'committed', ids: [1, 2], ok: true, seqs: [7, 8], ms: 6 });
    // Then the oldest waited 1020 - 1000 - 6 = 14 ms, and the commit took 6
    expect(stats).toEqual({ size: 2, ms: 6, lastSeq: 8, waitedMs: 14 });
    await expect(Promise.all([first, second])).resolves.toEqual([[{ seq: 7, duplicate: false }], [{ seq: 8, duplicate: false }]]);
  });

  it('a failed commit took no time to count, and its wait is still told', () => {
    let clock = 50;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const queue = new CommitQueue(() => true, idleWriter(), () => new Date(0));
    queue.append([entry(1)]).catch(() => {});
    clock = 53;
    const stats = queue.answer({ kind: 'committed', ids: [1], ok: false, error: { name: 'Error', message: 'disk full', code: 'SQLITE_FULL' } });
    expect(stats).toEqual({ size: 0, ms: 0, lastSeq: null, waitedMs: 3 });
  });
});
