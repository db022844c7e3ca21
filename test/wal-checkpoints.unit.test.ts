import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { passiveCheckpoint, scheduleCheckpoints, type CheckpointTimers } from '../src/log/sqlite/checkpoints.js';
import { tempDir } from './helpers/relay.js';

/**
 * `serve`'s WAL checkpoints run on a schedule of their own, off the writer thread
 * (`log/sqlite/checkpoints.ts`): the timer and the clock are injected, nothing here sleeps.
 */
function fakeTimers() {
  const pending: { run: () => void; ms: number }[] = [];
  const timers: CheckpointTimers = {
    setTimeout: (run, ms) => {
      const timer = { run, ms };
      pending.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      const i = pending.indexOf(handle as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  /** Runs the timer due next, as the event loop would once its time has passed. */
  const fire = () => pending.shift()!.run();
  return { timers, pending, fire };
}

describe('the checkpoint schedule', () => {
  it('checkpoints every everyMs, each turn timed after the previous one returned, and stops', () => {
    // Given a schedule of 100 ms on a fake timer, and a checkpoint that takes 7 ms by the clock
    const { timers, pending, fire } = fakeTimers();
    let clock = 0;
    const seen: { ms: number; log: number | undefined }[] = [];
    const schedule = scheduleCheckpoints(
      () => {
        clock += 7;
        return { busy: 0, log: 10, checkpointed: 10 };
      },
      100,
      { timers, now: () => clock, onCheckpoint: (result, ms) => seen.push({ ms, log: result?.log }) },
    );
    // Then nothing runs at once: one timer of 100 ms waits
    expect(seen).toEqual([]);
    expect(pending.map((t) => t.ms)).toEqual([100]);
    // When it fires twice
    fire();
    fire();
    // Then two checkpoints ran, each reported with its duration, and the next waits (only one at a time)
    expect(seen).toEqual([{ ms: 7, log: 10 }, { ms: 7, log: 10 }]);
    expect(pending.map((t) => t.ms)).toEqual([100]);
    // When it stops, no timer is left
    schedule.stop();
    expect(pending).toEqual([]);
  });

  it('a turn that stops the schedule (closing during a checkpoint) schedules no next turn', () => {
    const { timers, pending, fire } = fakeTimers();
    const schedule = scheduleCheckpoints(() => {
      schedule.stop();
      return null;
    }, 100, { timers });
    fire();
    expect(pending).toEqual([]);
  });
});

describe('a passive checkpoint from a connection of its own', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => temp?.cleanup());

  it('copies what a writer that does not checkpoint committed, and the writer then starts the WAL over', () => {
    // Given a writer that never checkpoints, with 50 pages committed, and a query_only connection
    temp = tempDir();
    const path = join(temp.dir, 'wal.db');
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (x TEXT)');
    const insert = writer.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 50; i++) insert.run('x'.repeat(4000));
    const checkpointer = new Database(path, { fileMustExist: true });
    checkpointer.pragma('query_only = ON');
    // When it checkpoints
    const first = passiveCheckpoint(checkpointer);
    // Then every frame is copied, and the writer's next commit starts the WAL from its beginning
    expect(first!.busy).toBe(0);
    expect(first!.log).toBeGreaterThan(50);
    expect(first!.checkpointed).toBe(first!.log);
    insert.run('y');
    expect(passiveCheckpoint(checkpointer)!.log).toBeLessThan(5);
    // And a connection that cannot checkpoint (closed) yields null, not an exception
    checkpointer.close();
    expect(passiveCheckpoint(checkpointer)).toBeNull();
    writer.close();
  });
});
