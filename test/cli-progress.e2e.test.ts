import { describe, expect, it } from 'vitest';
import { runOnTerminal } from './helpers/cli.js';
import { logFixture } from './helpers/log-fixture.js';
import { writeTruncatedLog } from './helpers/truncated-log.js';

/** The frames of the progress bar a terminal was shown (each redraw starts at column 1), without escapes. */
function frames(output: string): string[] {
  return output
    .split('\x1b[1G')
    .map((frame) => frame.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, ''))
    .filter((frame) => /\d+% \|/.test(frame));
}

/**
 * The progress bar of `replay --rebuild` and `--verify` (README "Rebuilding the projections") ends
 * full when the work is done. QA saw it end at 90 %: it counted entries against the last seq, and
 * a log retention truncated has fewer entries than its last seq.
 */
describe('the progress bar ends at 100 % when done', () => {
  // Given a log retention truncated: entries 4 to 10, seven entries
  const log = logFixture('husky-progress-', writeTruncatedLog);

  it.each([['--rebuild'], ['--verify']])('replay %s on a terminal: the last frame is 100 % | 7/7 entries', async (flag) => {
    const r = await runOnTerminal([...log.db, 'replay', flag], log.dir);
    expect(r.code).toBe(0);
    const shown = frames(r.output);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.at(-1)).toMatch(/\] 100% \| 7\/7 entries \| [\d,]+ entries\/s \| ETA 0s$/);
  }, 30_000);
});
