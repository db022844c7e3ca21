import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/relay.js';
import { writeRules } from './helpers/pipeline.js';

/**
 * `serve`'s pipeline thread (routing, delivery, the sinks' SDKs) runs `DEFAULTS.pipeline.niceness`
 * below the rest of the process (`thread-priority.ts`), so on a full CPU the webhooks' answers
 * come first: what `ps -L -o tid,nice` shows of the relay's threads. Linux only (the machines
 * this is built and deployed on).
 */
const niceOf = (tid: string): number | null => {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[16]); // field 19, nice
  } catch {
    return null; // the thread ended meanwhile
  }
};
const threadNices = (): number[] => readdirSync('/proc/self/task').map(niceOf).filter((n): n is number => n !== null);

describe('the pipeline thread yields the CPU to the webhooks', () => {
  let relay: TestRelay | undefined;
  const temp = tempDir();
  afterEach(async () => relay?.stop());
  afterAll(() => temp.cleanup());

  it('exactly one thread of the relay runs niceness levels lower, and it goes with the relay', async () => {
    const base = niceOf(String(process.pid))!;
    const lowered = Math.min(19, base + DEFAULTS.pipeline.niceness);
    expect(DEFAULTS.pipeline.niceness).toBeGreaterThan(0);
    expect(threadNices().filter((n) => n === lowered)).toHaveLength(0);
    relay = await startTestRelay({ rulesPath: writeRules(temp.dir, 'version: 1\nsinks:\n  out: { type: log }\nrules: []\n') });
    // the main thread (and the writer) stay at the process's priority; the pipeline thread alone is lowered
    expect(niceOf(String(process.pid))).toBe(base);
    expect(threadNices().filter((n) => n === lowered)).toHaveLength(1);
    await relay.stop();
    relay = undefined;
    expect(threadNices().filter((n) => n === lowered)).toHaveLength(0);
  });
});
